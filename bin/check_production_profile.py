#!/usr/bin/env python
"""Start the production profile on a fresh var dir and serve one page and one static file.

Run by CI (.ci/run) and by tests/security/test_governance_production.py:

    DEBUG=0 SECRET_KEY=… ALLOWED_HOSTS=runsight.example.com RUNSIGHT_VAR_DIR=$(mktemp -d) \
        python bin/check_production_profile.py

It runs `migrate` and `collectstatic` the way the README's production steps do,
then asks the whole WSGI stack (every middleware, WhiteNoise included) for
/login/ over HTTPS (as a TLS proxy would forward it) and for a collected,
hashed static file, and exits non-zero unless both answer 200.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A fresh var dir means a fresh database too (the default SQLite file lives in the repository's var/).
if "RUNSIGHT_VAR_DIR" in os.environ:
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{Path(os.environ['RUNSIGHT_VAR_DIR']).resolve()}/runsight.sqlite3")


def main() -> int:
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    if settings.DEBUG:
        print("DEBUG is on: this checks the production profile, set DEBUG=0", file=sys.stderr)
        return 2
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)

    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.test import Client

    host = settings.ALLOWED_HOSTS[0]
    client = Client(HTTP_HOST=host, HTTP_X_FORWARDED_PROTO="https")
    failures = []
    login = client.get("/login/", secure=True)
    print(f"GET /login/ -> {login.status_code}")
    if login.status_code != 200:
        failures.append(f"/login/ answered {login.status_code}")
    static_url = staticfiles_storage.url("vendor/chart.umd.min.js")
    if ".min." not in static_url or static_url.count(".") < 3:
        failures.append(f"static file not hashed by the manifest storage: {static_url}")
    static = client.get(static_url, secure=True)
    body = b"".join(static.streaming_content) if static.streaming else static.content
    print(f"GET {static_url} -> {static.status_code} ({len(body)} bytes)")
    if static.status_code != 200 or b"Chart.js" not in body[:200]:
        failures.append(f"{static_url} answered {static.status_code}")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
