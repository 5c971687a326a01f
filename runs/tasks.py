"""Celery entry points of the run core: thin, they take an id and call a service.

`runs.execute_run` goes to the default queue (`celery`), served by the ordinary
workers. `runs.reap_stale_runs` goes to the `runs.control` queue (see
CELERY_TASK_ROUTES), served by a control worker of its own, so the reaper and
the outbox pass run on time however busy the ordinary workers are, and with
none of them alive.
"""
from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from runs.services import run_execute, runs_reap_stale, runs_recover_pending

logger = logging.getLogger(__name__)


@shared_task(
    name="runs.execute_run",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # A claim failing on a transient database error (a restart, connections
    # exhausted) is tried again with backoff (1, 2, 4 … 30 s, ~2 min in all);
    # beyond that the outbox pass sends the run again.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=False,
    max_retries=6,
)
def execute_run(self, run_pk: str) -> None:
    run_execute(run_pk=run_pk, worker=self.request.hostname or "")


@shared_task(name="runs.reap_stale_runs")
def reap_stale_runs() -> dict[str, int]:
    """One control pass: fail dead RUNNING runs, resend or fail lost PENDING ones."""
    reaped = runs_reap_stale()
    resent, failed = runs_recover_pending()
    # The health page's "reaper's last pass" (accounts.console.health).
    from accounts.console.heartbeat import heartbeat_record

    heartbeat_record("reaper")
    if reaped or resent or failed:
        logger.info("control pass: %d reaped, %d resent, %d pending failed", len(reaped), len(resent), len(failed))
    return {"reaped": len(reaped), "resent": len(resent), "pending_failed": len(failed)}
