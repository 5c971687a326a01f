"""Celery tasks of FinOps: the scheduled monthly batch (beat, schedule created by migration 0004)."""
from __future__ import annotations

from celery import shared_task

from runs.models import RunTrigger


@shared_task(name="finops_admin.scheduled_batch")
def scheduled_batch() -> str:
    """Launch a batch with its default parameters (trigger CRON); the run itself goes to a worker."""
    from runs.services import run_create

    run = run_create(kind="finops_batch", params={}, trigger=RunTrigger.CRON, owner=None)
    return run.run_id
