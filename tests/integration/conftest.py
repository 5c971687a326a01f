"""Fixtures for tests against real services: PostgreSQL, Redis and Celery workers."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest
from django.conf import settings

from tests.support import Worker, broker, services_missing


@pytest.fixture
def real_services(transactional_db) -> Iterator[None]:
    """Skip unless PostgreSQL and Redis answer; empty the Redis queue around the test."""
    reason = services_missing()
    if reason:
        pytest.skip(reason)
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()  # messages left unacked by a killed worker must not leak into the next test
    with broker(broker_url=settings.REDIS_URL):
        yield
    client.flushdb()


@pytest.fixture
def start_worker(real_services, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def _start(name: str = "w1", **kwargs) -> Worker:
        worker = Worker(name, tmp_path, **kwargs).start()
        workers.append(worker)
        return worker

    yield _start
    for worker in workers:
        worker.stop()


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Before the test database is dropped, end connections that workers or the live
    server left open, so the drop is not refused on PostgreSQL."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
