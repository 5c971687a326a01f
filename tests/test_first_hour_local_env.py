"""`python manage.py …` works bare on a development machine, and production still needs a secret."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from config import local_env

ROOT = Path(__file__).resolve().parent.parent
CLEARED = {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "RUNSIGHT_ENV_FILE", "RUNSIGHT_VAR_DIR"}


def _manage(*args: str, var_dir: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env = {**base, "DJANGO_SETTINGS_MODULE": "config.settings", "RUNSIGHT_VAR_DIR": str(var_dir), **env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _write_env(var_dir: Path) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "config.local_env"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**{k: v for k, v in os.environ.items() if k not in CLEARED}, "RUNSIGHT_VAR_DIR": str(var_dir)},
    )
    assert result.returncode == 0, result.stderr
    return var_dir / ".env"


def test_it_lists_our_commands_with_the_local_env_file(tmp_path):
    path = _write_env(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "DEBUG=1" in text and "SECRET_KEY=" in text
    result = _manage("help", var_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "bootstrap_demo" in result.stdout and "cleanup_runs" in result.stdout
    assert "[runs]" in result.stdout
    check = _manage("check", var_dir=tmp_path)
    assert check.returncode == 0, check.stderr


def test_it_keeps_the_file_it_wrote_once(tmp_path):
    first = _write_env(tmp_path).read_text()
    assert _write_env(tmp_path).read_text() == first


def test_production_without_the_file_still_refuses_to_start(tmp_path):
    result = _manage("check", var_dir=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    assert "bootstrap_demo" not in _manage("help", var_dir=tmp_path).stdout


def test_the_environment_wins_over_the_file(tmp_path):
    (tmp_path / ".env").write_text("DEBUG=1\nSECRET_KEY=from-the-file\n")
    result = _manage(
        "shell", "-c", "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)",
        var_dir=tmp_path, DEBUG="0", SECRET_KEY="from-the-environment-" + "x" * 40,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["False", "from-the-environment-" + "x" * 40]


def test_a_malformed_file_stops_start_up_naming_the_line(tmp_path):
    (tmp_path / ".env").write_text("# comment\nDEBUG=1\nthis is not a setting\n")
    result = _manage("check", var_dir=tmp_path)
    assert result.returncode != 0
    assert ".env, line 3" in result.stderr


def test_loading_sets_only_what_the_environment_lacks(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text('X_FIRST_HOUR_A="quoted value"\nX_FIRST_HOUR_B=file\n')
    monkeypatch.setenv("X_FIRST_HOUR_B", "env")
    monkeypatch.delenv("X_FIRST_HOUR_A", raising=False)
    assert local_env.load(tmp_path / ".env") == ["X_FIRST_HOUR_A"]
    assert os.environ["X_FIRST_HOUR_A"] == "quoted value" and os.environ["X_FIRST_HOUR_B"] == "env"
    monkeypatch.delenv("X_FIRST_HOUR_A")


def test_the_embedded_broker_url_names_a_host_so_kombu_does_not_warn(settings, caplog):
    import logging

    from kombu import Connection

    if not settings.CELERY_BROKER_URL.startswith("filesystem:"):
        return  # the service leg runs on Redis, whose URL names its host
    with caplog.at_level(logging.WARNING, logger="kombu.connection"):
        connection = Connection(settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS)
        connection.clone()
        connection.as_uri()
    assert "No hostname was supplied" not in caplog.text
