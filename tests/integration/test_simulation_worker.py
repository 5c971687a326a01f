"""Real Celery workers on Redis and PostgreSQL execute simulations: cache hits and chunked runs.

The workers share the test process's artifact store (the default ARTIFACT_ROOT),
as workers on several machines share one in production.
"""
from __future__ import annotations

import functools
import io
import json

import pytest
from django.core.management import call_command

from runs.models import Run, RunStatus
from runs.services import run_create
from simulations import conf
from simulations.models import CachedResult, SimulationChunk
from simulations.results import simulation_checksum
from tests.support import wait_for

pytestmark = pytest.mark.services

# Two parts of 2**20 rows: the smallest run that fans out in production.
CHUNKED_POSITIONS = conf.PART_ROWS + 50_000


def _finished(run: Run, worker_logs) -> Run:
    wait_for(
        lambda: Run.objects.filter(pk=run.pk, status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]).exists(),
        timeout=240, interval=0.1, what=f"{run.run_id} to finish\n{worker_logs()}",
    )
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, f"{run.error_message}\n{worker_logs()}"
    return run


@functools.lru_cache(maxsize=1)
def chunked_reference_checksum() -> str:
    """What a single process computes for the chunked runs' parameters (computed once, when first needed)."""
    return simulation_checksum(seed=3, n_positions=CHUNKED_POSITIONS, config={}, part_rows=conf.PART_ROWS)


def test_a_worker_executes_a_simulation_and_a_second_launch_is_a_cache_hit(start_worker, analyst):
    worker = start_worker("w1")
    params = {"seed": 5, "n_positions": 5_000}
    first = _finished(run_create(kind="simulation", params=params, owner=analyst), worker.log)
    assert first.worker.startswith("w1@") and len(first.checksum) == 64
    assert first.metrics["cache"]["hit"] is False and first.metrics["n_positions"] == 5_000
    assert first.artifacts.count() == 8 and CachedResult.objects.count() == 8

    second = _finished(run_create(kind="simulation", params=params, owner=analyst), worker.log)
    assert second.metrics["cache"]["hit"] is True
    assert second.metrics["cache"]["computed_by"] == first.run_id
    assert second.checksum == first.checksum
    assert second.logs.filter(message__startswith="Served from cache").exists()
    assert set(CachedResult.objects.values_list("hit_count", flat=True)) == {1}


def test_simulate_queues_for_a_worker_and_waits_for_the_result(start_worker):
    start_worker("w1")
    out, err = io.StringIO(), io.StringIO()
    call_command("simulate", "--positions", "3000", "--seed", "2", "--wait", "--json", stdout=out, stderr=err)
    result = json.loads(out.getvalue())
    assert result["status"] == RunStatus.SUCCEEDED and result["metrics"]["n_positions"] == 3_000
    assert Run.objects.get(run_id=result["run_id"]).worker.startswith("w1@")
    assert "queued; waiting for a worker" in err.getvalue() and "succeeded" in err.getvalue()


def test_a_chunked_simulation_completes_on_a_single_worker(start_worker, analyst):
    # One worker process: the run's own task computes the chunks it offered, instead of
    # waiting for a queue that only it could serve.
    worker = start_worker("solo")
    run = run_create(kind="simulation", params={"seed": 3, "n_positions": CHUNKED_POSITIONS}, owner=analyst)
    run = _finished(run, worker.log)
    assert run.metrics["chunks"] == 2 and run.metrics["parts"] == 2
    assert run.checksum == chunked_reference_checksum()
    assert set(SimulationChunk.objects.filter(run=run).values_list("worker", flat=True)) == {run.worker}


def test_a_chunked_simulation_on_two_workers_has_the_single_process_checksum(start_worker, analyst):
    w1, w2 = start_worker("w1"), start_worker("w2")
    run = run_create(
        kind="simulation", params={"seed": 3, "n_positions": CHUNKED_POSITIONS, "use_cache": False}, owner=analyst
    )
    run = _finished(run, lambda: w1.log() + w2.log())
    assert run.metrics["chunks"] == 2
    assert run.checksum == chunked_reference_checksum()
    chunks = SimulationChunk.objects.filter(run=run)
    assert set(chunks.values_list("status", flat=True)) == {SimulationChunk.Status.DONE}
    workers = set(chunks.values_list("worker", flat=True))
    assert {w.split("@")[0] for w in workers} <= {"w1", "w2"}
    # The idle worker takes the first chunk offered while the run's own task is still
    # computing the aggregates: the work really was shared.
    assert workers - {run.worker}, f"no other worker took a chunk\n{w1.log()}\n{w2.log()}"
