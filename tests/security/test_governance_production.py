"""The production profile starts: collectstatic works and /login/ and a static file answer 200."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor"


def test_no_vendored_file_refers_to_a_file_that_is_not_vendored():
    for path in VENDOR.iterdir():
        if path.suffix not in (".js", ".css"):
            continue
        text = path.read_text(errors="replace")
        for ref in re.findall(r"sourceMappingURL=([^\s*]+)", text):
            assert (path.parent / ref).exists(), f"{path.name} refers to {ref}, which is not vendored"


def test_the_production_profile_collects_static_files_and_serves_login(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")},
        "DEBUG": "0",
        "SECRET_KEY": "test-production-profile-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "runsight.example.com",
        "BEHIND_TLS_PROXY": "1",
        "RUNSIGHT_VAR_DIR": str(tmp_path / "var"),
        "RUNSIGHT_ENV_FILE": "",
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "check_production_profile.py")],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "GET /login/ -> 200" in done.stdout
    assert re.search(r"GET /static/vendor/chart\.umd\.min\.[0-9a-f]{12}\.js -> 200", done.stdout)
