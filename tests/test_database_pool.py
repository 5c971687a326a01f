"""PostgreSQL connections go through psycopg's pool, bounded per process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from config.env import database_from_url

ROOT = Path(__file__).resolve().parent.parent


def _settings_databases(**env: str) -> dict:
    """DATABASES as a fresh process computes it from this environment."""
    code = "from django.conf import settings; import json; print(json.dumps(settings.DATABASES['default'], default=str))"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_pool_turns_persistent_connections_off(tmp_path):
    pooled = database_from_url("postgres://u@db:5432/x", base_dir=tmp_path, pool={"max_size": 4})
    assert pooled["OPTIONS"]["pool"] == {"max_size": 4}
    assert pooled["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    assert pooled["CONN_HEALTH_CHECKS"] is True
    plain = database_from_url("postgres://u@db:5432/x", base_dir=tmp_path, conn_max_age=30, health_checks=False)
    assert "pool" not in plain["OPTIONS"] and plain["CONN_MAX_AGE"] == 30 and plain["CONN_HEALTH_CHECKS"] is False
    # SQLite has nothing to pool.
    lite = database_from_url("sqlite:///x.sqlite3", base_dir=tmp_path, pool={"max_size": 4})
    assert "pool" not in lite["OPTIONS"]


def test_settings_pool_postgresql_by_default_and_read_the_size_from_the_environment():
    url = "postgres://u@db:5432/x?application_name=web"
    default = _settings_databases(DATABASE_URL=url)
    assert default["CONN_MAX_AGE"] == 0 and default["CONN_HEALTH_CHECKS"] is True
    assert default["OPTIONS"]["application_name"] == "web"
    assert default["OPTIONS"]["pool"]["max_size"] == 10 and default["OPTIONS"]["pool"]["min_size"] == 1
    sized = _settings_databases(DATABASE_URL=url, DATABASE_POOL_MAX_SIZE="3", DATABASE_POOL_TIMEOUT="2.5")
    assert sized["OPTIONS"]["pool"]["max_size"] == 3 and sized["OPTIONS"]["pool"]["timeout"] == 2.5
    off = _settings_databases(DATABASE_URL=url, DATABASE_POOL="0", DATABASE_CONN_MAX_AGE="15")
    assert "pool" not in off["OPTIONS"] and off["CONN_MAX_AGE"] == 15


def test_a_pool_smaller_than_its_minimum_is_refused():
    with pytest.raises(RuntimeError, match="DATABASE_POOL_MIN_SIZE must not exceed"):
        _settings_databases(DATABASE_URL="postgres://u@db/x", DATABASE_POOL_MIN_SIZE="5", DATABASE_POOL_MAX_SIZE="2")


@pytest.mark.services
def test_many_threads_share_at_most_max_size_connections(transactional_db):
    """Twenty threads querying at once hold no more than the pool's max_size connections."""
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    pool = connection.pool
    if pool is None:
        raise ImproperlyConfigured("the PostgreSQL test database is not pooled")
    from django.db import connections

    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def query() -> None:
        try:
            barrier.wait(timeout=30)
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_sleep(0.2)")
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connections.close_all()  # gives the connection back to the pool

    threads = [threading.Thread(target=query) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    stats = pool.get_stats()
    assert stats["pool_max"] == connection.settings_dict["OPTIONS"]["pool"]["max_size"]
    assert pool.get_stats()["pool_size"] <= stats["pool_max"]
    assert stats.get("requests_waiting", 0) == 0
    # Requests beyond max_size waited for a connection rather than opening one.
    assert stats.get("requests_queued", 0) >= 20 - stats["pool_max"]
