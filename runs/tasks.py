"""Celery entry points of the run core: thin, they take an id and call a service."""
from __future__ import annotations

from celery import shared_task

from runs.services import run_execute, runs_reap_stale


@shared_task(name="runs.execute_run", bind=True, acks_late=True, reject_on_worker_lost=True)
def execute_run(self, run_pk: str) -> None:
    run_execute(run_pk=run_pk, worker=self.request.hostname or "")


@shared_task(name="runs.reap_stale_runs")
def reap_stale_runs() -> int:
    return len(runs_reap_stale())
