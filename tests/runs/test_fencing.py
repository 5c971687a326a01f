"""Fencing: an attempt that lost its claim writes nothing more, and a run that did not
succeed never keeps results (artifacts, metrics, cache entries)."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django import forms
from django.core.files.storage import storages
from django.utils import timezone

from runs.artifacts import artifact_path
from runs.context import RunCancelled, RunContext, RunFenced
from runs.kinds import RunKind, register
from runs.models import LogLevel, Run, RunArtifact, RunStatus
from runs.services import run_cancel, run_create, run_execute, run_fail, run_finish, run_start, runs_reap_stale
from simulations.models import CachedResult
from simulations.services import simulation_execute

pytestmark = pytest.mark.django_db


def _started(user, params, kind="demo"):
    run = run_create(kind=kind, params=params, owner=user, enqueue=False)
    return run_start(run_pk=run.pk, worker="w1@test")


def _reap(run):
    """What the reaper does to a run whose worker went silent (its file removals included)."""
    from django.db import connection

    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    reaped = runs_reap_stale()
    for _, callback, _ in list(connection.run_on_commit):  # as if the reaper's transaction committed
        callback()
    connection.run_on_commit.clear()
    return reaped


@pytest.fixture
def sim_env(settings):
    settings.ARTIFACT_STORE = "file"


@pytest.fixture
def small_params():
    return {"seed": 7, "n_positions": 2_000}


def test_the_claim_increments_the_attempt_token(analyst, demo_params):
    run = _started(analyst, demo_params)
    assert run.attempt == 1 and run.status == RunStatus.RUNNING
    assert run.logs.filter(message__contains="(attempt 1)").exists()
    assert run_start(run_pk=run.pk, worker="w2@test") is None  # a second claim never takes it
    assert Run.objects.get(pk=run.pk).attempt == 1


def test_a_reaped_attempt_can_write_nothing_more(analyst, demo_params):
    run = _started(analyst, demo_params)
    ctx = RunContext(run)
    ctx.progress(40, "step 1")
    ctx.save_artifact("early.txt", b"written before the reaper", "text/plain")
    assert [r.pk for r in _reap(run)] == [run.pk]
    lines = run.logs.count()

    for write in (
        lambda: ctx.progress(100, "late step"),
        lambda: ctx.log("late line"),
        lambda: ctx.set_metrics({"mean": 1.0}),
        lambda: ctx.save_artifact("late.txt", b"never attached", "text/plain"),
        lambda: run_finish(run=run, attempt=run.attempt),
    ):
        with pytest.raises(RunFenced):
            write()

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.progress == 40 and run.metrics == {}
    assert run.checksum == "" and not run.artifacts.exists()
    assert run.logs.count() == lines and not run.logs.filter(message__contains="late").exists()
    # Bytes only this attempt wrote are gone from the store as well.
    store = storages["artifacts"]
    import hashlib

    for data in (b"written before the reaper", b"never attached"):
        path = artifact_path(hashlib.sha256(data).hexdigest())
        assert not store.exists(path), path


def test_the_reason_of_a_reaped_run_names_the_worker_and_the_last_error(analyst, demo_params):
    run = _started(analyst, demo_params)
    RunContext(run).log("Chunk 2 failed on w2@test: disk full", LogLevel.ERROR)
    _reap(run)
    run.refresh_from_db()
    assert "No heartbeat" in run.error_message and "w1@test" in run.error_message
    assert "last error it logged: Chunk 2 failed on w2@test: disk full" in run.error_message
    assert "presumed dead" not in run.error_message


def test_the_reaper_leaves_a_run_that_failed_elsewhere_alone(analyst, demo_params):
    run = _started(analyst, demo_params)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    run_fail(run=run, error="OperationalError: the database restarted", attempt=run.attempt)
    assert runs_reap_stale() == []
    run.refresh_from_db()
    assert run.error_message == "OperationalError: the database restarted"


@pytest.fixture
def test_kind():
    """Register executors as run kinds for one test; removed afterwards."""
    from runs import kinds

    names: list[str] = []

    def _register(name, execute):
        class Params(forms.Form):
            seed = forms.IntegerField(initial=1)

        register(RunKind(name=name, label=name, params_form=Params, execute=execute, is_demo=True))
        names.append(name)

    yield _register
    for name in names:
        kinds._REGISTRY.pop(name, None)


def test_an_executor_reaped_while_alive_ends_quietly_without_results(analyst, test_kind):
    def reaped_mid_run(run, ctx):
        ctx.progress(30, "before the reaper")
        ctx.save_artifact("part-1.txt", b"partial", "text/plain")
        _reap(run)  # the worker was silent too long: the reaper takes the run while it still works
        ctx.save_artifact("part-2.txt", b"more partial", "text/plain")
        ctx.progress(100, "after the reaper")

    test_kind("test_reaped", reaped_mid_run)
    run = run_create(kind="test_reaped", params={"seed": 1}, owner=None, enqueue=False)
    run_execute(run_pk=run.pk, worker="w1@test")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "No heartbeat" in run.error_message
    assert run.progress == 30 and not run.artifacts.exists() and run.checksum == ""
    assert not run.logs.filter(message="after the reaper").exists()
    assert run.logs.filter(message__startswith="Partial results removed").exists()


def test_a_failed_run_loses_its_artifacts_but_shared_files_stay(
    analyst, demo_params, django_capture_on_commit_callbacks, test_kind
):
    with django_capture_on_commit_callbacks(execute=True):
        ok = run_create(kind="demo", params=demo_params, owner=analyst)
    ok.refresh_from_db()
    shared = ok.artifacts.get(name="result.json")

    def fails_after_writing(run, ctx):
        ctx.save_artifact("result.json", b"x", "text/plain")  # replaced just below
        from runs.artifacts import artifact_read

        ctx.save_artifact("result.json", artifact_read(shared), "application/json")  # the same bytes as `ok`
        ctx.save_artifact("own.txt", b"only mine", "text/plain")
        ctx.set_metrics({"all_pass": True})
        raise RuntimeError("boom after the results")

    test_kind("test_fails_late", fails_after_writing)
    with django_capture_on_commit_callbacks(execute=True):
        bad = run_create(kind="test_fails_late", params={"seed": 1}, owner=None, enqueue=False)
        run_execute(run_pk=bad.pk)
    bad.refresh_from_db()
    assert bad.status == RunStatus.FAILED and "boom" in bad.error_message
    assert not bad.artifacts.exists() and bad.metrics == {} and bad.checksum == ""
    store = storages["artifacts"]
    assert store.exists(shared.path)  # still the succeeded run's result
    import hashlib

    assert not store.exists(artifact_path(hashlib.sha256(b"only mine").hexdigest()))
    assert not store.exists(artifact_path(hashlib.sha256(b"x").hexdigest()))


def test_a_cancelled_run_keeps_no_results(analyst, django_capture_on_commit_callbacks, test_kind):
    def cancelled_after_writing(run, ctx):
        ctx.save_artifact("partial.txt", b"cancelled partial", "text/plain")
        Run.objects.filter(pk=run.pk).update(cancel_requested=True)
        for _ in range(20):
            ctx.check_cancelled()
            time.sleep(0.05)

    test_kind("test_cancelled", cancelled_after_writing)
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="test_cancelled", params={"seed": 1}, owner=None, enqueue=False)
        run_execute(run_pk=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and not run.artifacts.exists()


def test_a_demo_cancelled_mid_step_stops_within_a_slice(analyst, demo_params):
    run = run_create(kind="demo", params={**demo_params, "steps": 1, "step_seconds": 30}, owner=analyst, enqueue=False)
    Run.objects.filter(pk=run.pk).update(cancel_requested=True)
    started = time.monotonic()
    run_execute(run_pk=run.pk)
    assert time.monotonic() - started < 2
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.progress < 100


def test_a_failed_demo_never_shows_progress_100(analyst, demo_params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="demo", params={**demo_params, "steps": 4, "fail_at_step": 4}, owner=analyst)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.progress < 100


# ---------------------------------------------------------------------------
# Simulations: only a SUCCEEDED run feeds the cache
# ---------------------------------------------------------------------------
def test_a_simulation_reaped_after_computing_feeds_no_cache(sim_env, small_params):
    run = _started(None, small_params, kind="simulation")
    ctx = RunContext(run)
    simulation_execute(run=run, ctx=ctx)
    assert run.artifacts.exists()
    assert not CachedResult.objects.exists()  # nothing cached before the run has succeeded
    _reap(run)
    with pytest.raises(RunFenced):
        run_finish(run=run, attempt=run.attempt, on_success=ctx.run_success_callbacks)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert not CachedResult.objects.exists() and not run.artifacts.exists()


def test_a_simulation_that_succeeds_feeds_the_cache(sim_env, small_params):
    run = _started(None, small_params, kind="simulation")
    ctx = RunContext(run)
    simulation_execute(run=run, ctx=ctx)
    assert not CachedResult.objects.exists()
    run_finish(run=run, attempt=run.attempt, on_success=ctx.run_success_callbacks)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert CachedResult.objects.filter(source_run=run).count() == run.artifacts.count()
    assert run.logs.filter(message__startswith="Results kept in the cache").exists()


def test_a_cancelled_simulation_feeds_no_cache_and_keeps_no_results(sim_env, small_params, analyst):
    run = run_create(kind="simulation", params=small_params, owner=analyst, enqueue=False)
    Run.objects.filter(pk=run.pk).update(cancel_requested=True)
    run_execute(run_pk=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert not run.artifacts.exists() and not CachedResult.objects.exists()


# ---------------------------------------------------------------------------
# The heartbeat thread (needs committed rows: a transactional test)
# ---------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_beats_sees_a_cancel_and_stops_when_fenced(analyst, demo_params, settings):
    settings.RUN_HEARTBEAT_INTERVAL = 0.2
    run = _started(analyst, demo_params)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    with RunContext(run) as ctx:
        assert ctx._thread is not None
        # A long computation that calls nothing: the thread keeps the run alive.
        time.sleep(1.0)
        beat = Run.objects.get(pk=run.pk).heartbeat_at
        assert timezone.now() - beat < timedelta(seconds=1)
        assert runs_reap_stale() == []

        run_cancel(run=Run.objects.get(pk=run.pk), actor=analyst)
        deadline = time.monotonic() + 2
        with pytest.raises(RunCancelled):
            while time.monotonic() < deadline:
                ctx.check_cancelled()
                time.sleep(0.05)

        run_fail(run=Run.objects.get(pk=run.pk), error="ended elsewhere")
        deadline = time.monotonic() + 2
        with pytest.raises(RunFenced):
            while time.monotonic() < deadline:
                ctx._cancelled.clear()
                ctx.check_cancelled()
                time.sleep(0.05)
        thread = ctx._thread
    assert thread is not None and not thread.is_alive()
    assert RunArtifact.objects.filter(run=run).count() == 0


def test_chunk_workers_stop_for_a_run_whose_own_task_went_silent(sim_env, monkeypatch, settings):
    from simulations import conf
    from simulations.models import SimulationChunk
    from simulations.services import execution

    monkeypatch.setattr(conf, "PART_ROWS", 500)
    settings.RUN_HEARTBEAT_TIMEOUT = 30
    settings.SIMULATION_CHUNK_SIZE = 500  # one part per chunk
    run = _started(None, {"seed": 3, "n_positions": 2_000}, kind="simulation")
    chunks = execution._chunks_create(run, 4)
    # The coordinator was killed a minute ago: computing its chunks would be waste.
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=60))
    assert execution.simulation_chunk_execute(chunk_pk=chunks[0].pk, worker="w2@test") is False
    assert SimulationChunk.objects.get(pk=chunks[0].pk).status == SimulationChunk.Status.PENDING
    assert not run.artifacts.exists()
    # Alive again: the chunk is computed and attached under the run's attempt.
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
    assert execution.simulation_chunk_execute(chunk_pk=chunks[0].pk, worker="w2@test") is True
    assert run.artifacts.filter(name__endswith=".parquet").exists()
    # Cancelled: the next chunk is not computed.
    Run.objects.filter(pk=run.pk).update(cancel_requested=True)
    assert execution.simulation_chunk_execute(chunk_pk=chunks[1].pk, worker="w2@test") is False
