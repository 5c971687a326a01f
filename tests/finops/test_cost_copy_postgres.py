"""PostgreSQL: a block's COPY of its readings is never interrupted by a query on the same connection.

Without a heartbeat thread (a run executed inside a transaction, as in these tests) the
run's cancel check queries the run's connection; issued while the COPY was open, it
waited for the COPY to end while the COPY waited for data (the backend in ClientRead
for ever). The check now comes right after the COPY, inside the block's transaction.
"""
from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum
from psycopg.pq import TransactionStatus

from finops_admin.models import BatchBlock, BatchRun, CostReading, Domain
from finops_admin.services import blocks
from runs.context import Fence, RunCancelled
from runs.models import Run, RunStatus
from runs.services import run_create

pytestmark = pytest.mark.services


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")


def _block(sources: Any, owner: Any, domain: str = "open") -> tuple[BatchBlock, Fence]:
    run = run_create(kind="finops_batch", params={"periods": "2026-11", "domains": domain}, owner=owner,
                     enqueue=False)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, attempt=1)
    batch = BatchRun.objects.create(run=run, periods=["2026-11"], domains=[domain])
    return BatchBlock.objects.create(batch=batch, domain=Domain.objects.get(code=domain)), Fence(run.pk, 1)


def test_the_cancel_check_never_runs_while_the_copy_is_open(sources, finops_admin_user, monkeypatch):
    # Many small chunks: before the fix the check ran after each one, inside the COPY.
    monkeypatch.setattr(blocks, "COPY_CHUNK_BYTES", 512)
    block, fence = _block(sources, finops_admin_user)
    states: list[TransactionStatus] = []

    def check_cancelled() -> None:
        # ACTIVE: a command (the COPY) is in progress on this connection; a query now would never return.
        states.append(connection.connection.info.transaction_status)

    outcome = blocks.block_load(block=block, source=sources, periods=["2026-11"], fence=fence,
                                checkpoint=lambda fraction: None, check_cancelled=check_cancelled,
                                log=lambda message: None)
    assert outcome.status == "SUCCEEDED" and outcome.rows_inserted > 0
    assert states, "the block looks for a cancel while it writes"
    assert TransactionStatus.ACTIVE not in states, states
    assert CostReading.objects.filter(domain__code="open").count() == outcome.rows_inserted


def test_a_cancel_seen_right_after_the_copy_undoes_the_block(sources, finops_admin_user):
    block, fence = _block(sources, finops_admin_user)
    calls: list[int] = []

    def check_cancelled() -> None:
        # The first check (after the delete) lets the COPY start; the one after the COPY cancels.
        # (Never query inside the COPY, even here: it would wait for ever instead of failing.)
        assert connection.connection.info.transaction_status != TransactionStatus.ACTIVE
        calls.append(CostReading.objects.count())
        if len(calls) == 2:
            raise RunCancelled()

    with pytest.raises(RunCancelled):
        blocks.block_load(block=block, source=sources, periods=["2026-11"], fence=fence,
                          checkpoint=lambda fraction: None, check_cancelled=check_cancelled,
                          log=lambda message: None)
    assert calls[0] == 0 and calls[1] > 0  # the second check saw the copied rows (same transaction)
    assert CostReading.objects.count() == 0  # … which the cancel rolled back
    assert CostReading.objects.aggregate(s=Sum("effective_cost"))["s"] is None
