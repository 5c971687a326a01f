"""Settings for the test suite: the real settings with tasks run eagerly.

Tests that start a real worker (tests/integration) set RUNSIGHT_REAL_WORKER=1,
which keeps the broker real instead.
"""
import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("RUNSIGHT_ENV_FILE", "")  # a developer's var/.env must not change the tests

from config.settings import *  # noqa: E402,F401,F403
from config.env import env_bool  # noqa: E402

CELERY_TASK_ALWAYS_EAGER = not env_bool("RUNSIGHT_REAL_WORKER", False)
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast personas
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns about a missing root)
WHITENOISE_USE_FINDERS = True
RUN_LIST_COUNT_SECONDS = 0  # tests count exactly; tests/runs/test_pagination.py covers the cache
# The suite makes thousands of API calls from one address in one process (one
# shared locmem cache): rates far above it. tests/security/test_governance_throttling.py
# lowers them to test throttling itself.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"anon": "100000/min", "user": "100000/min"}  # noqa: F405
API_KEY_FAILURE_LIMIT = 100000
AXES_VERBOSE = False  # no log line per persona sign-in
