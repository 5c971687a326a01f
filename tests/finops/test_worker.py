"""A real Celery worker on PostgreSQL and Redis executes a FinOps batch; a cancel stops it between batches."""
from __future__ import annotations

from datetime import date

import pytest

from finops_admin.generate import generate
from finops_admin.models import BatchBlock, CostReading
from finops_admin.services.catalogue import catalogue_load
from runs.models import Run, RunStatus
from runs.services import run_cancel, run_create
from tests.integration.conftest import real_services, start_worker  # noqa: F401  (fixtures)
from tests.support import wait_for

pytestmark = pytest.mark.services


def _env(finops_dirs) -> dict[str, str]:
    return {"FINOPS_SOURCE_DIR": str(finops_dirs), "FINOPS_SOURCE_ROOTS": str(finops_dirs.parent),
            "FINOPS_BATCH_ROWS": "1000"}


def _status(run: Run) -> str:
    return Run.objects.values_list("status", flat=True).get(pk=run.pk)


def test_a_worker_runs_a_batch_to_the_end(start_worker, finops_dirs, finops_admin_user):
    generate(out=finops_dirs, months=2, applications=20, rows_per_month=2000, seed=2, last_month=date(2026, 11, 1))
    catalogue_load(path=finops_dirs / "catalogue.csv")
    worker = start_worker("fin1", env=_env(finops_dirs))
    run = run_create(kind="finops_batch", params={"periods": "2026-10,2026-11"}, owner=finops_admin_user)
    wait_for(lambda: _status(run) not in (RunStatus.PENDING, RunStatus.RUNNING), timeout=120,
             what=f"{run.run_id} to end\n{worker.log()}")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, f"{run.error_message}\n{worker.log()}"
    assert run.worker.startswith("fin1@") and run.progress == 100
    blocks = list(BatchBlock.objects.filter(batch__run=run))
    assert len(blocks) == 4 and all(b.status == "SUCCEEDED" for b in blocks)
    assert CostReading.objects.filter(batch_run=run).count() == sum(b.rows_inserted for b in blocks) == 4000


def test_a_cancelled_batch_stops_and_writes_nothing_of_the_unfinished_blocks(start_worker, finops_dirs,
                                                                             finops_admin_user, admin_user):
    generate(out=finops_dirs, months=2, applications=20, rows_per_month=100_000, seed=2,
             last_month=date(2026, 11, 1), fmt="parquet")
    catalogue_load(path=finops_dirs / "catalogue.csv")
    worker = start_worker("fin2", env=_env(finops_dirs))
    run = run_create(kind="finops_batch", params={"periods": "2026-10,2026-11"}, owner=finops_admin_user)
    wait_for(lambda: BatchBlock.objects.filter(batch__run=run, status="RUNNING").exists(), timeout=120,
             interval=0.05, what=f"a block running\n{worker.log()}")
    run_cancel(run=Run.objects.get(pk=run.pk), actor=admin_user)
    wait_for(lambda: _status(run) != RunStatus.RUNNING, timeout=60, what=f"the cancel\n{worker.log()}")
    assert _status(run) == RunStatus.CANCELLED, worker.log()
    blocks = {b.domain.code: b for b in BatchBlock.objects.filter(batch__run=run).select_related("domain")}
    unfinished = [b for b in blocks.values() if b.status != "SUCCEEDED"]
    assert unfinished and all(b.status == "SKIPPED" for b in unfinished)
    written = set(CostReading.objects.filter(batch_run=run).values_list("domain__code", flat=True).distinct())
    assert written == {code for code, b in blocks.items() if b.status == "SUCCEEDED"}


def test_on_a_worker_a_bad_file_fails_its_block_alone(start_worker, finops_dirs, finops_admin_user):
    generate(out=finops_dirs, months=1, applications=20, rows_per_month=2000, seed=5, last_month=date(2026, 11, 1))
    catalogue_load(path=finops_dirs / "catalogue.csv")
    bad = finops_dirs / "private" / "focus_private_2026-11.csv"
    lines = bad.read_text().splitlines(keepends=True)
    lines[7] = lines[7].replace('"EUR"', '"XXX"', 1)
    bad.write_text("".join(lines))
    worker = start_worker("fin3", env=_env(finops_dirs))
    run = run_create(kind="finops_batch", params={"periods": "2026-11"}, owner=finops_admin_user)
    wait_for(lambda: _status(run) not in (RunStatus.PENDING, RunStatus.RUNNING), timeout=120,
             what=f"{run.run_id} to end\n{worker.log()}")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "Private" in run.error_message and "row 7" in run.error_message
    blocks = {b.domain.code: b for b in BatchBlock.objects.filter(batch__run=run).select_related("domain")}
    assert blocks.pop("private").status == "FAILED"
    assert all(b.status == "SUCCEEDED" and b.rows_inserted > 0 for b in blocks.values())
    assert not CostReading.objects.filter(domain__code="private").exists()
    assert CostReading.objects.filter(batch_run=run).count() == sum(b.rows_inserted for b in blocks.values())
