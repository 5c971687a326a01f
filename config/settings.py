"""Runsight settings, read from the environment.

The embedded default (no variable set) runs on SQLite under ``var/`` with a
filesystem broker, so a fresh machine needs no service. Setting DATABASE_URL and
REDIS_URL moves to PostgreSQL and Redis; see the README's configuration table.
"""
from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config import local_env
from config.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("RUNSIGHT_VAR_DIR", str(BASE_DIR / "var")))

# A development machine's own settings (var/.env, written by `make run`: DEBUG=1
# and a generated SECRET_KEY), so `python manage.py …` works there without
# exporting anything. The environment wins; a production host has no such file.
# RUNSIGHT_ENV_FILE names another file, or is empty to read none (the tests).
LOCAL_ENV_FILE = env_str("RUNSIGHT_ENV_FILE", str(local_env.local_env_path(VAR_DIR)))
if LOCAL_ENV_FILE:
    local_env.load(Path(LOCAL_ENV_FILE))

# ---------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (on a development machine, "
            "`make run` once writes var/.env with DEBUG=1 and a key)"
        )
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"  # noqa: S105
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
]
LOCAL_APPS = [
    "accounts",
    "runs",
    "simulations",
    "finops_admin",
    "tracking",
    "projects",
    "datasets",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accounts.console.logcontext.RequestIdMiddleware",  # request id on every log line and response
    "config.middleware.RefuseNulMiddleware",
    "config.database_errors.DatabaseUnavailableMiddleware",  # a lost database is a 503, not a 500
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.AuditContextMiddleware",  # surface and client address of audited actions
    "accounts.middleware.ConsoleSessionMiddleware",  # session last seen (throttled), personal time zone
    "config.uploads.UploadLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
                "accounts.context_processors.preferences",
            ],
        },
    },
]

# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------
# The SQLite file lives under RUNSIGHT_VAR_DIR with the rest of this instance's state
# (an absolute path: four slashes).
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{(VAR_DIR / 'runsight.sqlite3').resolve()}")
# PostgreSQL goes through psycopg's connection pool (one per process): a burst of
# requests waits up to DATABASE_POOL_TIMEOUT for a free connection instead of
# opening more until the server refuses. Size it so that
# processes x DATABASE_POOL_MAX_SIZE stays under the server's max_connections.
DATABASE_POOL = env_bool("DATABASE_POOL", True)
DATABASE_POOL_MIN_SIZE = env_int("DATABASE_POOL_MIN_SIZE", 1, minimum=0)
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 10, minimum=1)
DATABASE_POOL_TIMEOUT = env_float("DATABASE_POOL_TIMEOUT", 10.0, minimum=0.1)
if DATABASE_POOL_MIN_SIZE > DATABASE_POOL_MAX_SIZE:
    raise ImproperlyConfigured("DATABASE_POOL_MIN_SIZE must not exceed DATABASE_POOL_MAX_SIZE")
DATABASES = {
    "default": database_from_url(
        DATABASE_URL,
        base_dir=BASE_DIR,
        pool=(
            {
                "min_size": DATABASE_POOL_MIN_SIZE,
                "max_size": DATABASE_POOL_MAX_SIZE,
                "timeout": DATABASE_POOL_TIMEOUT,
                # Idle connections above min_size go after a minute; none outlives an hour.
                "max_idle": 60.0,
                "max_lifetime": 3600.0,
            }
            if DATABASE_POOL
            else None
        ),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        health_checks=env_bool("DATABASE_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------
# Auth
# ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ---------------------------------------------------------------------------
# I18N, static files, storage
# ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["config.formats"]  # ISO dates (Y-m-d H:i) everywhere, the admin included
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))

ARTIFACT_STORE = env_choice("ARTIFACT_STORE", "file", ("file", "db"))
ARTIFACT_ROOT = Path(env_str("ARTIFACT_ROOT", str(VAR_DIR / "artifacts")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Artifacts go through Django's storage API so that an S3 backend is a
    # configuration change, not a code change.
    "artifacts": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(ARTIFACT_ROOT)},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# ---------------------------------------------------------------------------
# Cache and Celery
# ---------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "runsight"}}

BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        # A task unacked this long is handed to another worker; it must exceed the
        # hard time limit or a slow run would be executed twice.
        "visibility_timeout": env_int("CELERY_TASK_TIME_LIMIT", 3600) + 600,
    }
else:
    # Embedded default: kombu's filesystem transport, so a real worker runs beside
    # the web server with no broker to install.
    # The host is ignored by this transport, but kombu warns "No hostname was supplied"
    # each time it copies a connection whose URL names none.
    CELERY_BROKER_URL = "filesystem://localhost/"
    # kombu's transport with messages renamed into place once written (config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    for _folder in ("queue", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # The transport has no wake-up: a consumer lists the folder, and sleeps this
        # long when it finds nothing (kombu's default, 1 s, made every launch wait up
        # to a second and a burst drain at about two runs per second). A listing of
        # the folder costs tens of microseconds, so polling often is cheap.
        "polling_interval": env_float("CELERY_BROKER_POLLING_INTERVAL", 0.05, minimum=0.001),
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True  # run state lives on the Run row, not in a result backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 3000, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be greater than CELERY_TASK_SOFT_TIME_LIMIT")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------
# A RUNNING run whose heartbeat is older than this is failed by the reaper.
RUN_HEARTBEAT_TIMEOUT = env_int("RUN_HEARTBEAT_TIMEOUT", 120, minimum=2)
# A tracked run (MLflow-compatible API) beats only when its client calls: a client silent this
# long is presumed gone and its run failed. MLflow clients send no heartbeat, and an epoch may be long.
TRACKED_RUN_HEARTBEAT_TIMEOUT = env_int("TRACKED_RUN_HEARTBEAT_TIMEOUT", 24 * 3600, minimum=2)
# The project of MLflow experiments named without "<project>/" (docs/mlflow.md).
TRACKING_DEFAULT_PROJECT = env_str("TRACKING_DEFAULT_PROJECT", "MLflow")
# How often an executing run refreshes its heartbeat at the least.
RUN_HEARTBEAT_INTERVAL = env_float("RUN_HEARTBEAT_INTERVAL", 5.0, minimum=0.1)
RUN_REAPER_INTERVAL = env_int("RUN_REAPER_INTERVAL", 30, minimum=1)
# Outbox: a PENDING run no worker took within this many seconds has its task message
# sent again (the claim is conditional, so a duplicate is harmless)…
RUN_PENDING_RESEND_SECONDS = env_int("RUN_PENDING_RESEND_SECONDS", 60, minimum=1)
# …and one still PENDING after this many seconds is failed, saying why.
RUN_PENDING_TIMEOUT = env_int("RUN_PENDING_TIMEOUT", 1800, minimum=2)
# How long a run's writes (and its final state) retry a transient database error.
RUN_DB_RETRY_SECONDS = env_float("RUN_DB_RETRY_SECONDS", 30.0, minimum=0)
# The control pass (reaper + outbox) has a queue and a worker of its own
# (`celery -A config worker -Q runs.control --concurrency 1`), so it runs on time
# with every ordinary worker busy or none alive. A pass not taken within two
# intervals (10 s at least) expires: passes never pile up behind a stopped control worker.
CELERY_TASK_ROUTES = {"runs.reap_stale_runs": {"queue": "runs.control"}}
CELERY_BEAT_SCHEDULE = {
    "reap-stale-runs": {
        "task": "runs.reap_stale_runs",
        "schedule": float(RUN_REAPER_INTERVAL),
        "options": {"queue": "runs.control", "expire_seconds": max(2 * RUN_REAPER_INTERVAL, 10)},
    },
}
# Limits on uploaded run exports: size, members of a bundle, and compression ratio
# (a zip whose members inflate far beyond its size is refused as a bomb).
RUN_IMPORT_MAX_BYTES = env_int("RUN_IMPORT_MAX_BYTES", 512 * 1024 * 1024, minimum=1024)
RUN_IMPORT_MAX_MEMBERS = env_int("RUN_IMPORT_MAX_MEMBERS", 64, minimum=3)
RUN_IMPORT_MAX_RATIO = env_int("RUN_IMPORT_MAX_RATIO", 200, minimum=2)
# Bulk import (many runs in one file): runs written per transaction, and bundles one zip may hold.
RUN_BULK_IMPORT_BATCH = env_int("RUN_BULK_IMPORT_BATCH", 2000, minimum=1)
RUN_BULK_IMPORT_MAX_MEMBERS = env_int("RUN_BULK_IMPORT_MAX_MEMBERS", 100_000, minimum=1)
# Projects: an editing lock idle this long is free for the next member; a project bundle holds
# its runs' bundles and its datasets' Parquet files, so it gets its own limits.
PROJECT_LOCK_IDLE_SECONDS = env_int("PROJECT_LOCK_IDLE_SECONDS", 900, minimum=1)
PROJECT_IMPORT_MAX_BYTES = env_int("PROJECT_IMPORT_MAX_BYTES", 2 * 1024 * 1024 * 1024, minimum=1024)
PROJECT_IMPORT_MAX_MEMBERS = env_int("PROJECT_IMPORT_MAX_MEMBERS", 10_000, minimum=3)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024  # form fields (not files) held in memory, at most
# Uploaded files above this size are spooled to temporary files, never held in
# memory; each upload endpoint's own limit is enforced before and while reading.
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024, minimum=0)
FILE_UPLOAD_HANDLERS = [
    "config.uploads.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Seconds a run list's total count is reused while paging through the same filters.
RUN_LIST_COUNT_SECONDS = env_int("RUN_LIST_COUNT_SECONDS", 15, minimum=0)
# Above this many runs by the planner's estimate, a run list shows the estimate (marked
# as such) instead of counting (PostgreSQL only; 0: always count).
RUN_LIST_EXACT_COUNT_MAX = env_int("RUN_LIST_EXACT_COUNT_MAX", 20000, minimum=0)
# Values one multi-valued filter of the run list accepts (tags, statuses, kinds, triggers).
RUN_FILTER_MAX_VALUES = env_int("RUN_FILTER_MAX_VALUES", 50, minimum=1)
# Run ids one bulk request (delete, cleanup execution, bulk actions) may name.
RUN_BULK_MAX_IDS = env_int("RUN_BULK_MAX_IDS", 1000, minimum=1)
# Simulations: above this many positions a run fans out in chunks across workers
# (chunks are whole Parquet parts of 2**20 rows); the upload limit of user books.
SIMULATION_CHUNK_SIZE = env_int("SIMULATION_CHUNK_SIZE", 1_048_576, minimum=1)
SIMULATION_UPLOAD_MAX_BYTES = env_int("SIMULATION_UPLOAD_MAX_BYTES", 512 * 1024 * 1024, minimum=1024)
# Most positions the compute page and API take in one request: their memory grows
# with the positions, so this bounds it whatever the file's size (the reading stops there).
SIMULATION_COMPUTE_MAX_POSITIONS = env_int("SIMULATION_COMPUTE_MAX_POSITIONS", 1_048_576, minimum=100)
# Datasets: the largest uploaded file (refused with 413 from its declared length, before
# the body is read); rows one preview page shows at most; rows an Excel export holds at most.
DATASET_MAX_UPLOAD_BYTES = env_int("DATASET_MAX_UPLOAD_BYTES", 1024 * 1024 * 1024, minimum=1024)
DATASET_PREVIEW_MAX_ROWS = env_int("DATASET_PREVIEW_MAX_ROWS", 500, minimum=10)
DATASET_EXCEL_MAX_ROWS = env_int("DATASET_EXCEL_MAX_ROWS", 200_000, minimum=100)
# Model registry: rows one predict request (API or CSV page) scores; loaded models kept per process.
REGISTRY_PREDICT_MAX_ROWS = env_int("REGISTRY_PREDICT_MAX_ROWS", 10_000, minimum=1)
REGISTRY_MODEL_CACHE_SIZE = env_int("REGISTRY_MODEL_CACHE_SIZE", 8, minimum=1)
LOGS_URL_TEMPLATE = env_str("LOGS_URL_TEMPLATE", "")
if LOGS_URL_TEMPLATE and "{run_id}" not in LOGS_URL_TEMPLATE:
    raise ImproperlyConfigured("LOGS_URL_TEMPLATE must contain {run_id}")


def _code_version() -> str:
    explicit = env_str("RUNSIGHT_CODE_VERSION")
    if explicit:
        return explicit
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


CODE_VERSION = _code_version()

# ---------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # API keys first: an anonymous API call then gets 401 with a WWW-Authenticate header.
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "runs.api.pagination.RunPagination",
    # drf-spectacular, plus the error answers (400/401/403/404/…) each operation can give.
    "DEFAULT_SCHEMA_CLASS": "runs.api.openapi.RunsightAutoSchema",
    "PAGE_SIZE": 25,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Runsight API",
    "DESCRIPTION": "Launch, watch, compare and govern computational runs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies get components of their own: read-only fields (id, status, …) are not
    # offered as input, and required-on-input is told apart from always-present-on-output.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "runs.api.openapi.postprocess_error_components",  # the shared Error / ValidationErrors bodies
    ],
    # Choice sets that share a field name with another ("status") get a name of their own.
    "ENUM_NAME_OVERRIDES": {
        "ExperimentStatusEnum": "projects.models.ExperimentStatus",
        "RunStatusEnum": "runs.models.RunStatus",
        "DatasetFormatEnum": "simulations.training.models.DatasetFormat",
        "DatasetKindEnum": "simulations.training.models.DatasetKind",
        "DatasetSourceFormatEnum": "simulations.training.models.DatasetSourceFormat",
    },
}

# ---------------------------------------------------------------------------
# Security (production profile: DEBUG off)
# ---------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Login lock-out (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one
# username from one address, that pair is refused (429) for AXES_COOLOFF_MINUTES.
# Every login surface goes through it (the login page, the admin's login).
# `python manage.py axes_reset` (or axes_reset_username NAME) lifts lock-outs.
INSTALLED_APPS += ["axes"]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client address is REMOTE_ADDR; behind the TLS proxy, the address it forwards.
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if env_bool("BEHIND_TLS_PROXY", False) else ("REMOTE_ADDR",)
)
AXES_IPWARE_PROXY_COUNT = 1 if env_bool("BEHIND_TLS_PROXY", False) else None

# API throttling (DRF): requests per caller, and failed API keys per address
# (accounts.authentication); over the rate the answer is 429 with a JSON detail.
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [  # DRF's, letting requests through while Redis is down
    "config.throttling.FailOpenAnonRateThrottle",
    "config.throttling.FailOpenUserRateThrottle",
]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": env_str("API_THROTTLE_ANON", "60/min"),
    "user": env_str("API_THROTTLE_USER", "1200/min"),
}
# Who "an address" is: REMOTE_ADDR, or behind the TLS proxy the address the proxy appended
# to X-Forwarded-For; a client-supplied X-Forwarded-For is never trusted on its own.
REST_FRAMEWORK["NUM_PROXIES"] = 1 if env_bool("BEHIND_TLS_PROXY", False) else 0
API_KEY_FAILURE_LIMIT = env_int("API_KEY_FAILURE_LIMIT", 10, minimum=1)
API_KEY_FAILURE_WINDOW = env_int("API_KEY_FAILURE_WINDOW", 300, minimum=1)

# Content-Security-Policy (django-csp): scripts only from our own static files,
# no inline script or event handler anywhere; nothing from another origin.
# Inline style attributes stay allowed (they cannot run code; the admin and the
# API docs use them).
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# ---------------------------------------------------------------------------
# FinOps
# ---------------------------------------------------------------------------
# The batch reads FOCUS exports from FINOPS_SOURCE_DIR/<domain code>/ (files
# named with their month, e.g. focus_2026-10.csv.gz). A launch may name another
# folder, but only one under FINOPS_SOURCE_ROOTS (the batch never reads elsewhere).
FINOPS_SOURCE_DIR = Path(env_str("FINOPS_SOURCE_DIR", str(VAR_DIR / "finops" / "sources")))
FINOPS_SOURCE_ROOTS = [Path(p) for p in env_list("FINOPS_SOURCE_ROOTS", [str(VAR_DIR / "finops")])]
# A file larger than this is refused from its size alone, before reading (default 1 GiB).
FINOPS_MAX_FILE_BYTES = env_int("FINOPS_MAX_FILE_BYTES", 1 << 30, minimum=1)
# Errors kept in detail per block (file, row, column, reason); all are counted.
FINOPS_MAX_ERRORS_KEPT = env_int("FINOPS_MAX_ERRORS_KEPT", 50, minimum=1)
# Rows read per batch (memory stays bounded whatever the file size).
FINOPS_BATCH_ROWS = env_int("FINOPS_BATCH_ROWS", 131072, minimum=1000)
# Anomalies: a batch's duration, or a block's rows inserted, compared with the median of the
# last FINOPS_ANOMALY_LOOKBACK successful runs over the same domains; flagged beyond FACTOR× (or 1/FACTOR).
FINOPS_ANOMALY_LOOKBACK = env_int("FINOPS_ANOMALY_LOOKBACK", 10, minimum=1)
FINOPS_ANOMALY_FACTOR = env_float("FINOPS_ANOMALY_FACTOR", 3.0, minimum=1.01)

# Console: API key usage is counted in the cache per key and day (no database write per request),
# kept this many days.
API_KEY_USAGE_DAYS = env_int("API_KEY_USAGE_DAYS", 30, minimum=1)

# Application logs: JSON lines per process role (web.log, worker.log, beat.log, command.log)
# in LOG_DIR, rotated by size; the console keeps its plain lines for `make run`. LOG_DIR="" writes no file.
LOG_DIR = env_str("LOG_DIR", str(VAR_DIR / "log"))
LOG_MAX_BYTES = env_int("LOG_MAX_BYTES", 100 * 1024 * 1024, minimum=1024)
LOG_BACKUP_COUNT = env_int("LOG_BACKUP_COUNT", 5, minimum=0)
# The logs viewer: bytes read at most per page (a filter matching little stops there and offers
# "older"), and the window its per-hour chart counts over.
LOGS_SCAN_BYTES = env_int("LOGS_SCAN_BYTES", 32 * 1024 * 1024, minimum=65536)
LOGS_CHART_BYTES = env_int("LOGS_CHART_BYTES", 16 * 1024 * 1024, minimum=65536)
from config.logging import build_logging, process_role  # noqa: E402

LOGGING = build_logging(log_dir=LOG_DIR, level=env_str("LOG_LEVEL", "INFO"), max_bytes=LOG_MAX_BYTES,
                        backup_count=LOG_BACKUP_COUNT, role=process_role())

# Health (console › Health, /api/health/, /healthz, manage.py health).
HEALTH_BEAT_INTERVAL = env_int("HEALTH_BEAT_INTERVAL", 30, minimum=1)
HEALTH_INSPECT_TIMEOUT = env_float("HEALTH_INSPECT_TIMEOUT", 1.0, minimum=0.1)
HEALTH_PENDING_STUCK_SECONDS = env_int("HEALTH_PENDING_STUCK_SECONDS", 600, minimum=1)
HEALTH_PENDING_STUCK_RED = env_int("HEALTH_PENDING_STUCK_RED", 10, minimum=1)
HEALTH_DB_SLOW_MS = env_int("HEALTH_DB_SLOW_MS", 200, minimum=1)
HEALTH_CACHE_SLOW_MS = env_int("HEALTH_CACHE_SLOW_MS", 200, minimum=1)
HEALTH_QUEUE_AMBER = env_int("HEALTH_QUEUE_AMBER", 1000, minimum=1)
HEALTH_DISK_AMBER_PERCENT = env_int("HEALTH_DISK_AMBER_PERCENT", 10, minimum=0)
HEALTH_DISK_RED_PERCENT = env_int("HEALTH_DISK_RED_PERCENT", 3, minimum=0)
HEALTH_REFRESH_SECONDS = env_int("HEALTH_REFRESH_SECONDS", 5, minimum=1)
# Console › Caches: a simulation result unused this long counts as expired ("clear expired").
SIMULATION_CACHE_MAX_AGE_DAYS = env_int("SIMULATION_CACHE_MAX_AGE_DAYS", 30, minimum=0)
CELERY_BEAT_SCHEDULE["console-beat-tick"] = {
    "task": "accounts.beat_tick",
    "schedule": float(HEALTH_BEAT_INTERVAL),
    "options": {"queue": "runs.control", "expire_seconds": max(2 * HEALTH_BEAT_INTERVAL, 10)},
}
CELERY_TASK_ROUTES["accounts.beat_tick"] = {"queue": "runs.control"}
