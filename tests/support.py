"""Helpers for tests that talk to a real broker or start real Celery workers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from django.conf import settings
from django.db import connection
from django.test import override_settings

from config.celery_app import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def _drop_connections() -> None:
    # Celery caches broker connections and producers; a new broker URL needs fresh ones.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def broker(**conf: Any) -> Iterator[None]:
    """Send tasks to a real broker configured by `conf` (not eagerly); restore afterwards."""
    keys = ["task_always_eager", *conf]
    saved = {key: celery_app.conf.get(key) for key in keys}
    celery_app.conf.update(task_always_eager=False, **conf)
    _drop_connections()
    try:
        with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
            yield
    finally:
        _drop_connections()
        celery_app.conf.update(saved)


def services_missing() -> str | None:
    """Why the real-service tests cannot run here, or None when they can."""
    if connection.vendor != "postgresql":
        return "needs DATABASE_URL pointing at PostgreSQL (a worker process must share the test database)"
    if not settings.REDIS_URL:
        return "needs REDIS_URL"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at REDIS_URL does not answer: {exc}"
    return None


def worker_database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    """A real `celery worker` process on the test database and Redis.

    `queues` is its `-Q` list: "celery" for an ordinary worker, "runs.control"
    for the control worker that runs the reaper and the outbox pass; None (the
    default) consumes the default queue only, like an ordinary worker.
    """

    def __init__(
        self, name: str, log_dir: Path, *, beat: bool = False, env: dict[str, str] | None = None,
        queues: str | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"worker-{name}.log"
        self.beat = beat
        self.env = env or {}
        self.queues = queues
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "Worker":
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "RUNSIGHT_REAL_WORKER": "1",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "RUN_HEARTBEAT_INTERVAL": "0.2",
            # The worker writes where this test reads.
            "ARTIFACT_ROOT": str(settings.STORAGES["artifacts"]["OPTIONS"]["location"]),
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }
        cmd = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
            "--pool", "prefork", "--concurrency", "1", "--hostname", f"{self.name}@%h",
            "--without-mingle", "--without-gossip",
        ]
        if self.queues:
            cmd += ["-Q", self.queues]
        if self.beat:
            cmd += ["--beat", "--schedule", str(self.log_path.with_suffix(".beat"))]
        self._log = open(self.log_path, "w")
        # Own session: killing the group kills the worker and its pool children together.
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited at start:\n{self.log()}")
            if " ready." in self.log():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"worker {self.name} not ready in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole worker, as an out-of-memory kill or a lost machine would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
