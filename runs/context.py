"""What an executing run hands to its kind's executor: fenced writes, a heartbeat, cancel.

Fencing. Claiming a run (PENDING → RUNNING) increments `Run.attempt`; the value
the claim got is the attempt's token. Every write of the attempt (heartbeat,
progress, logs, metrics, artifacts, its final state) is conditional on
`(pk, attempt=token, status=RUNNING)`. An attempt that was reaped, or whose run
was ended by someone else, therefore writes nothing more: its next write raises
RunFenced, which ends the executor quietly (logged on the worker only).

Heartbeat. While the executor works, a daemon thread refreshes the heartbeat
every RUN_HEARTBEAT_INTERVAL seconds (conditional on the token, on its own
database connection) and polls `cancel_requested` twice a second, so a long
numpy step is never mistaken for a dead worker and a cancel is seen within a
second. The executor sees the outcome at its next `progress()`, `heartbeat()`
or `check_cancelled()`. Inside an open transaction (the test suite) a thread
could not see the uncommitted run, so the executor's own calls beat instead.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from runs.models import LogLevel, Run, RunArtifact, RunLog, RunStatus

logger = logging.getLogger(__name__)

MAX_LOG_MESSAGE = 10_000
# Errors a database restart or a dropped connection raises: worth retrying.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
# How often the heartbeat thread (or the executor without one) looks for a cancel.
CANCEL_POLL_SECONDS = 0.5

T = TypeVar("T")


class RunCancelled(Exception):
    """Raised inside an executor when someone asked the run to stop."""


class RunFenced(Exception):
    """The attempt no longer holds its claim (reaped, or the run ended elsewhere).

    Raised by any write of that attempt; the executor stops and nothing is written.
    """


LostClaim = RunFenced


def db_retry(fn: Callable[[], T], *, what: str = "a database write") -> T:
    """Call `fn`, retrying transient database errors with backoff for up to
    RUN_DB_RETRY_SECONDS, so a database restart does not fail a healthy run.

    Inside a transaction nothing can be retried (the transaction is broken): the
    error goes to the caller at once.
    """
    deadline = time.monotonic() + settings.RUN_DB_RETRY_SECONDS
    delay = 0.2
    while True:
        try:
            return fn()
        except TRANSIENT_DB_ERRORS as exc:
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            logger.warning("transient database error during %s (%s); retrying in %.1f s", what, exc, delay)
            _drop_connection()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _drop_connection() -> None:
    """Close this thread's connection so the next query opens a fresh one."""
    try:
        connection.close()
    except Exception:  # a broken connection may fail to close; it is dropped either way
        logger.debug("closing a broken database connection failed", exc_info=True)


class Fence:
    """The token of one execution attempt of a run; every write of the attempt goes through it."""

    def __init__(self, run_pk: Any, attempt: int) -> None:
        self.run_pk = run_pk
        self.attempt = attempt

    def __repr__(self) -> str:
        return f"Fence(run={self.run_pk}, attempt={self.attempt})"

    def rows(self):
        """The run, if this attempt still holds it."""
        return Run.objects.filter(pk=self.run_pk, attempt=self.attempt, status=RunStatus.RUNNING)

    def update(self, **fields: Any) -> None:
        """Update the run's fields, or raise RunFenced if the attempt lost its claim."""
        if not db_retry(lambda: self.rows().update(**fields), what="a run update"):
            raise RunFenced(f"{self!r} lost its claim")

    @contextmanager
    def locked(self) -> Iterator[None]:
        """A transaction holding the run's row lock while the attempt holds the claim.

        Ending a run updates the same row, so a write made under this lock either
        lands before the run ends (and is seen by whoever ends it) or not at all.
        """
        with transaction.atomic():
            if not list(self.rows().select_for_update().values_list("pk", flat=True)):
                raise RunFenced(f"{self!r} lost its claim")
            yield

    def log(self, message: str, level: str = LogLevel.INFO) -> None:
        if level not in LogLevel.values:
            raise ValueError(f"unknown log level {level!r}")

        def write() -> None:
            with self.locked():
                RunLog.objects.create(run_id=self.run_pk, level=level, message=message[:MAX_LOG_MESSAGE])

        db_retry(write, what="a run log line")

    def warning(self, message: str) -> None:
        self.log(message, LogLevel.WARNING)

    def save_artifact(self, name: str, data: bytes, content_type: str) -> RunArtifact:
        return artifact_write_fenced(fence=self, name=name, data=data, content_type=content_type)


def artifact_write_fenced(*, fence: Fence, name: str, data: bytes, content_type: str) -> RunArtifact:
    """Store `data` as the run's artifact `name` only while `fence` holds the claim.

    The bytes go to the store first; the row is attached under the run's row lock.
    When the attempt turns out to be fenced, the bytes just written are removed
    again unless another artifact or a cache entry shares that content-addressed file.
    """
    from runs.artifacts import artifact_path, paths_in_use

    digest = hashlib.sha256(data).hexdigest()
    in_db = settings.ARTIFACT_STORE == RunArtifact.Storage.DB
    path = "" if in_db else artifact_path(digest)
    if not in_db:
        storage = storages["artifacts"]
        if not storage.exists(path):
            saved = storage.save(path, ContentFile(data))
            if saved != path:  # a concurrent writer stored the same bytes first
                storage.delete(saved)

    def attach() -> tuple[RunArtifact, RunArtifact | None]:
        with fence.locked():
            existing = RunArtifact.objects.filter(run_id=fence.run_pk, name=name).first()
            if existing is not None and existing.sha256 == digest and existing.path == path:
                return existing, None  # the same bytes again (a chunk computed twice)
            if existing is not None:
                existing.delete()
            artifact = RunArtifact.objects.create(
                run_id=fence.run_pk, name=name, content_type=content_type,
                storage=RunArtifact.Storage.DB if in_db else RunArtifact.Storage.FILE,
                path=path, blob=data if in_db else None, size_bytes=len(data), sha256=digest,
            )
            return artifact, existing

    try:
        artifact, replaced = db_retry(attach, what="attaching an artifact")
    except RunFenced:
        if path and not paths_in_use({path}):
            storages["artifacts"].delete(path)
        raise
    if replaced is not None and replaced.path and replaced.path != path and not paths_in_use({replaced.path}):
        storages["artifacts"].delete(replaced.path)  # the replaced bytes, unless shared
    return artifact


class RunContext:
    """The executor's handle on its run: every write is fenced by the attempt's token.

    Contract for executors: call `progress()`, `heartbeat()` or `check_cancelled()`
    between steps; they raise RunCancelled when a cancel was requested and
    RunFenced when the attempt lost its claim. Use `on_success()` for work that
    must only happen once the run has ended SUCCEEDED (feeding a cache).
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self.fence = Fence(run.pk, run.attempt)
        self._last_beat = 0.0
        self._last_poll = 0.0
        self._last_progress = run.progress
        self._success_callbacks: list[Callable[[], None]] = []
        self._cancelled = threading.Event()
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the heartbeat thread -------------------------------------------------
    def start(self) -> "RunContext":
        """Start the heartbeat thread (not inside a transaction: it could not see the run)."""
        if self._thread is None and not connection.in_atomic_block:
            self._thread = threading.Thread(
                target=self._heartbeat_loop, name=f"heartbeat-{self.run.run_id}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> "RunContext":
        # Log lines written while the executor works carry the run id (accounts.console.logcontext).
        from accounts.console.logcontext import run_id_var

        self._log_token = run_id_var.set(str(self.run.run_id))
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        from accounts.console.logcontext import run_id_var

        self.stop()
        token = getattr(self, "_log_token", None)
        if token is not None:
            run_id_var.reset(token)
            self._log_token = None

    def _heartbeat_loop(self) -> None:
        from django.db import connections

        interval = settings.RUN_HEARTBEAT_INTERVAL
        poll = min(CANCEL_POLL_SECONDS, interval)
        next_beat = 0.0
        failing = False
        try:
            while not self._stop.is_set():
                try:
                    if time.monotonic() >= next_beat:
                        alive = bool(self.fence.rows().update(heartbeat_at=timezone.now()))
                        next_beat = time.monotonic() + interval
                        cancel = alive and self.fence.rows().filter(cancel_requested=True).exists()
                    else:
                        flags = list(self.fence.rows().values_list("cancel_requested", flat=True))
                        alive, cancel = bool(flags), bool(flags and flags[0])
                    if failing:
                        logger.info("heartbeat of %s: database reachable again", self.run.run_id)
                        failing = False
                except TRANSIENT_DB_ERRORS as exc:
                    # The database blinked: try again at the next tick on a fresh connection.
                    if not failing:
                        logger.warning("heartbeat of %s failed (%s); retrying", self.run.run_id, exc)
                    failing = True
                    _drop_connection()
                    self._stop.wait(poll)
                    continue
                if not alive:
                    logger.warning("run %s attempt %s lost its claim; heartbeat stopped", self.run.run_id, self.fence.attempt)
                    self._lost.set()
                    return
                if cancel:
                    self._cancelled.set()
                self._stop.wait(poll)
        except Exception:  # the thread must never take the worker down
            logger.exception("heartbeat thread of %s stopped", self.run.run_id)
        finally:
            connections.close_all()

    # -- what executors call --------------------------------------------------
    def check_cancelled(self) -> None:
        """Raise RunFenced if the claim was lost, RunCancelled if a cancel was requested."""
        if self._thread is None:
            self._poll_inline()
        if self._lost.is_set():
            raise RunFenced(f"{self.fence!r} lost its claim")
        if self._cancelled.is_set():
            raise RunCancelled()

    def _poll_inline(self) -> None:
        """Without a heartbeat thread, beat and look for a cancel from the executor's own calls."""
        now = time.monotonic()
        if now - self._last_beat >= min(1.0, settings.RUN_HEARTBEAT_INTERVAL):
            self._last_beat = now
            try:
                self.fence.update(heartbeat_at=timezone.now())
            except RunFenced:
                self._lost.set()
                return
        if now - self._last_poll >= CANCEL_POLL_SECONDS or self._last_poll == 0.0:
            self._last_poll = now
            flags = list(self.fence.rows().values_list("cancel_requested", flat=True))
            if not flags:
                self._lost.set()
            elif flags[0]:
                self._cancelled.set()

    def heartbeat(self) -> None:
        """Tell the reaper the run is alive and stop if cancelled or fenced."""
        self.check_cancelled()

    def progress(self, percent: float, message: str | None = None) -> None:
        """Record progress (0–100) and stop if cancelled or fenced."""
        value = max(0, min(100, int(percent)))
        if message:
            self.log(message)
        if value != self._last_progress:
            self.fence.update(progress=value, heartbeat_at=timezone.now())
            self._last_progress = value
            self.run.progress = value
        self.check_cancelled()

    def log(self, message: str, level: str = LogLevel.INFO) -> None:
        self.fence.log(message, level)

    def warning(self, message: str) -> None:
        self.log(message, LogLevel.WARNING)

    def set_metrics(self, metrics: dict[str, Any]) -> None:
        self.fence.update(metrics=metrics)
        self.run.metrics = metrics

    def save_artifact(self, name: str, data: bytes, content_type: str) -> RunArtifact:
        return self.fence.save_artifact(name, data, content_type)

    def on_success(self, callback: Callable[[], None]) -> None:
        """Call `callback` in the transaction that ends the run SUCCEEDED under this attempt (never otherwise)."""
        self._success_callbacks.append(callback)

    def run_success_callbacks(self) -> None:
        """Run the after-success steps, each in a savepoint: one failing never undoes the success."""
        for callback in self._success_callbacks:
            try:
                with transaction.atomic():
                    callback()
            except Exception:  # the run has succeeded; a side effect failing does not change that
                logger.exception("after-success step of %s failed", self.run.run_id)
