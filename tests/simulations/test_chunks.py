"""Large simulations fan out in chunks of parts; the result never depends on who computed what.

Parts are 2**20 rows in production; here they are 500 rows so a 2,000-position
run has four parts, and the same code paths run in a fraction of a second.
Celery runs eagerly in these tests: the group's tasks execute inline when the
run offers them, exactly as a free worker would take them.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from runs.models import LogLevel, RunStatus
from simulations import conf, tasks
from simulations.models import CachedResult, SimulationChunk
from simulations.results import simulation_checksum
from simulations.services import execution

pytestmark = pytest.mark.usefixtures("sim_env")

PARTS = [f"{table}-{p:05d}-of-00004.parquet" for table in ("explain", "positions") for p in range(4)]


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "PART_ROWS", 500)


class _NoWorker:
    """Stands for a queue nobody consumes: offering the chunks does nothing."""

    def __init__(self, on_offer: Any = None) -> None:
        self.on_offer = on_offer

    def __call__(self, tasks: Any) -> "_NoWorker":
        self.chunk_pks = [task.args[0] for task in tasks]
        return self

    def apply_async(self) -> None:
        if self.on_offer:
            self.on_offer(self.chunk_pks)


def _parquet_names(run) -> list[str]:
    return sorted(run.artifacts.filter(name__endswith=".parquet").values_list("name", flat=True))


def test_a_chunked_run_has_the_checksum_of_an_unchunked_one(launch, analyst, settings, monkeypatch):
    taken: list[bool] = []

    def chunk_task_body(**kwargs: Any) -> bool:
        taken.append(execution.simulation_chunk_execute(**kwargs))
        return taken[-1]

    monkeypatch.setattr(tasks, "simulation_chunk_execute", chunk_task_body)
    settings.SIMULATION_CHUNK_SIZE = 10**9
    whole = launch(analyst, use_cache=False)
    settings.SIMULATION_CHUNK_SIZE = 500
    one_part_chunks = launch(analyst, use_cache=False)
    settings.SIMULATION_CHUNK_SIZE = 1_000
    two_part_chunks = launch(analyst, use_cache=False)

    assert whole.status == one_part_chunks.status == two_part_chunks.status == RunStatus.SUCCEEDED
    assert whole.metrics["chunks"] == 0 and whole.metrics["parts"] == 4
    assert one_part_chunks.metrics["chunks"] == 4 and two_part_chunks.metrics["chunks"] == 2
    assert whole.checksum == one_part_chunks.checksum == two_part_chunks.checksum
    assert _parquet_names(whole) == _parquet_names(one_part_chunks) == PARTS
    assert simulation_checksum(seed=7, n_positions=2_000, config={}, part_rows=500) == whole.checksum
    chunks = SimulationChunk.objects.filter(run=one_part_chunks)
    assert sorted(chunks.values_list("first_part", "stop_part")) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert set(chunks.values_list("status", flat=True)) == {SimulationChunk.Status.DONE}
    # The chunk tasks (which weigh their own rows) took every chunk before the run's task could.
    assert taken == [True] * 6
    messages = list(one_part_chunks.logs.values_list("message", flat=True))
    assert any(m.startswith("Split into 4 chunks") for m in messages)
    assert any(m.startswith("Chunks computed by ") for m in messages)


def test_a_run_at_or_under_the_chunk_size_is_not_chunked(launch, analyst, settings):
    settings.SIMULATION_CHUNK_SIZE = 2_000
    run = launch(analyst)
    assert run.metrics["chunks"] == 0 and not SimulationChunk.objects.exists()


def test_a_chunked_run_completes_alone_when_no_worker_takes_its_chunks(launch, analyst, settings, monkeypatch):
    settings.SIMULATION_CHUNK_SIZE = 500
    whole = launch(analyst, use_cache=False, seed=11)
    monkeypatch.setattr(execution, "group", _NoWorker())
    alone = launch(analyst, use_cache=False, seed=11)
    assert alone.status == RunStatus.SUCCEEDED and alone.checksum == whole.checksum
    chunks = SimulationChunk.objects.filter(run=alone)
    assert chunks.count() == 4
    assert set(chunks.values_list("worker", flat=True)) == {alone.worker}


def test_a_chunked_result_is_served_from_the_cache_in_parts(launch, analyst, settings):
    settings.SIMULATION_CHUNK_SIZE = 500
    computed = launch(analyst)
    served = launch(analyst)
    assert served.metrics["cache"]["hit"] is True
    assert served.checksum == computed.checksum
    assert _parquet_names(served) == PARTS
    parts = CachedResult.objects.filter(kind="positions").order_by("part")
    assert list(parts.values_list("part", "rows")) == [(0, 500), (1, 500), (2, 500), (3, 500)]


def test_a_failed_chunk_fails_the_run(launch, analyst, settings, monkeypatch):
    settings.SIMULATION_CHUNK_SIZE = 500

    def a_worker_fails(chunk_pks: list[int]) -> None:
        SimulationChunk.objects.filter(pk=chunk_pks[2]).update(
            status=SimulationChunk.Status.FAILED, worker="w2@host", error="MemoryError: out of memory"
        )

    monkeypatch.setattr(execution, "group", _NoWorker(a_worker_fails))
    run = launch(analyst)
    assert run.status == RunStatus.FAILED
    assert "chunk 3 failed on w2@host: MemoryError: out of memory" in run.error_message
    assert not CachedResult.objects.exists()  # a failed run leaves nothing in the cache


def test_a_silent_chunk_is_taken_back_and_computed(launch, analyst, settings, monkeypatch):
    settings.SIMULATION_CHUNK_SIZE = 500
    settings.RUN_HEARTBEAT_TIMEOUT = 30
    whole = launch(analyst, use_cache=False, seed=5)

    def a_worker_dies_holding_a_chunk(chunk_pks: list[int]) -> None:
        SimulationChunk.objects.filter(pk=chunk_pks[1]).update(
            status=SimulationChunk.Status.RUNNING, worker="lost@host",
            heartbeat_at=timezone.now() - timedelta(seconds=60),
        )

    monkeypatch.setattr(execution, "group", _NoWorker(a_worker_dies_holding_a_chunk))
    run = launch(analyst, use_cache=False, seed=5)
    assert run.status == RunStatus.SUCCEEDED and run.checksum == whole.checksum
    assert run.logs.filter(level=LogLevel.WARNING, message__startswith="Chunk 2 silent on lost@host").exists()
    taken_back = SimulationChunk.objects.get(run=run, index=1)
    assert taken_back.worker == run.worker and taken_back.status == SimulationChunk.Status.DONE


def test_a_chunk_of_a_finished_run_does_nothing(launch, analyst, settings):
    settings.SIMULATION_CHUNK_SIZE = 500
    run = launch(analyst)
    chunk = SimulationChunk.objects.filter(run=run).first()
    SimulationChunk.objects.filter(pk=chunk.pk).update(status=SimulationChunk.Status.PENDING)
    assert execution.simulation_chunk_execute(chunk_pk=chunk.pk, worker="late@host") is False
    assert SimulationChunk.objects.get(pk=chunk.pk).status == SimulationChunk.Status.PENDING
