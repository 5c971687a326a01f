"""What an executing run hands to its kind's executor: logging, progress, heartbeat."""
from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.utils import timezone

from runs.models import LogLevel, Run, RunArtifact


class RunCancelled(Exception):
    """Raised inside an executor when someone asked the run to stop."""


class RunContext:
    """The executor's handle on its run.

    Contract for executors: call `progress()` or `heartbeat()` at least every
    RUN_HEARTBEAT_TIMEOUT / 2 seconds, or the reaper will take the run for dead.
    Both raise RunCancelled when a cancel was requested.
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self._last_beat = 0.0
        self._last_progress = run.progress

    def log(self, message: str, level: str = LogLevel.INFO) -> None:
        from runs.services import run_log

        run_log(run=self.run, message=message, level=level)

    def warning(self, message: str) -> None:
        self.log(message, LogLevel.WARNING)

    def progress(self, percent: float, message: str | None = None) -> None:
        """Record progress (0–100), refresh the heartbeat, and stop if cancelled."""
        value = max(0, min(100, int(percent)))
        if message:
            self.log(message)
        if value != self._last_progress:
            self._last_progress = value
            self._beat(progress=value)
        else:
            self.heartbeat()

    def heartbeat(self) -> None:
        """Tell the reaper the run is alive (throttled) and stop if cancelled."""
        if time.monotonic() - self._last_beat >= min(1.0, settings.RUN_HEARTBEAT_INTERVAL):
            self._beat()

    def _beat(self, **fields: Any) -> None:
        self._last_beat = time.monotonic()
        Run.objects.filter(pk=self.run.pk).update(heartbeat_at=timezone.now(), **fields)
        if "progress" in fields:
            self.run.progress = fields["progress"]
        if Run.objects.filter(pk=self.run.pk, cancel_requested=True).exists():
            raise RunCancelled()

    def set_metrics(self, metrics: dict[str, Any]) -> None:
        self.run.metrics = metrics
        Run.objects.filter(pk=self.run.pk).update(metrics=metrics)

    def save_artifact(self, name: str, data: bytes, content_type: str) -> RunArtifact:
        from runs.artifacts import artifact_write

        return artifact_write(run=self.run, name=name, data=data, content_type=content_type)
