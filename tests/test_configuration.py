"""Settings from the environment, the production profile, and migrations in step with models."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import database_from_url, env_bool, env_choice, env_int

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env}, capture_output=True, text=True, timeout=120
    )


def test_env_helpers_fail_loudly_on_bad_values(monkeypatch):
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL", False)
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="minimum"):
        env_int("X_INT", 1, minimum=1)
    monkeypatch.setenv("X_CHOICE", "s3")
    with pytest.raises(ImproperlyConfigured, match="one of"):
        env_choice("X_CHOICE", "file", ("file", "db"))


def test_database_urls_are_parsed(tmp_path):
    pg = database_from_url("postgres://u:p%40ss@db.internal:5433/runsight?sslmode=require", base_dir=tmp_path)
    assert (pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == ("runsight", "u", "p@ss", "db.internal", "5433")
    assert pg["OPTIONS"] == {"sslmode": "require"}
    lite = database_from_url("sqlite:///var/x.sqlite3", base_dir=tmp_path)
    assert lite["NAME"] == str(tmp_path / "var/x.sqlite3")
    with pytest.raises(ImproperlyConfigured, match="not supported"):
        database_from_url("mysql://x/y", base_dir=tmp_path)


def test_the_default_sqlite_file_lives_under_the_var_dir(tmp_path):
    result = _manage(
        "shell", "-c", "from django.conf import settings; print(settings.DATABASES['default']['NAME'])",
        DEBUG="1", RUNSIGHT_VAR_DIR=str(tmp_path), RUNSIGHT_ENV_FILE="",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str((tmp_path / "runsight.sqlite3").resolve())


def test_secret_key_is_required_when_debug_is_off():
    result = _manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_bad_setting_stops_start_up_with_its_name():
    result = _manage("check", DEBUG="1", ARTIFACT_STORE="s3")
    assert result.returncode != 0 and "ARTIFACT_STORE" in result.stderr


def test_the_production_profile_passes_check_deploy_without_warnings(tmp_path):
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="0",
        SECRET_KEY="x7Jq-" + "k" * 20 + "Zp9!rT2vW8yB4nM6cL1dF3gH5jK0sQ",
        ALLOWED_HOSTS="runsight.example.com",
        RUNSIGHT_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_migrations_match_the_models(tmp_path):
    result = _manage("makemigrations", "--check", "--dry-run", DEBUG="1", RUNSIGHT_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
