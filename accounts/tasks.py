"""Celery entry points of the console: thin, they call a service."""
from __future__ import annotations

from celery import shared_task

from accounts.console.heartbeat import heartbeat_record


@shared_task(name="accounts.beat_tick", ignore_result=True)
def beat_tick() -> None:
    """Sent by beat every HEALTH_BEAT_INTERVAL: its last run is the health page's "beat last tick"."""
    heartbeat_record("beat")
