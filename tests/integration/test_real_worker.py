"""A real Celery worker on Redis and PostgreSQL executes runs; a killed one's run is reaped."""
import pytest

from runs.models import LogLevel, Run, RunStatus
from runs.services import run_create
from tests.support import wait_for

pytestmark = pytest.mark.services


def _status(run: Run) -> str:
    return Run.objects.values_list("status", flat=True).get(pk=run.pk)


def test_a_worker_takes_a_demo_run_from_pending_to_succeeded(start_worker, analyst):
    worker = start_worker("w1")
    run = run_create(kind="demo", params={"steps": 4, "step_seconds": 0.5, "seed": 5}, owner=analyst)
    seen = {_status(run)}
    assert seen == {RunStatus.PENDING} or seen == {RunStatus.RUNNING}

    def finished():
        seen.add(_status(run))
        return _status(run) in (RunStatus.SUCCEEDED, RunStatus.FAILED)

    wait_for(finished, timeout=60, interval=0.05, what=f"{run.run_id} to finish\n{worker.log()}")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, worker.log()
    assert {RunStatus.PENDING, RunStatus.RUNNING} & seen and RunStatus.RUNNING in seen
    assert run.worker.startswith("w1@")
    assert run.progress == 100 and len(run.checksum) == 64
    messages = list(run.logs.values_list("message", flat=True))
    assert messages[0].startswith("Created by") and messages[1].startswith("Started on w1@")
    assert any(m.startswith("Step 4/4") for m in messages) and messages[-1].startswith("Succeeded")


def test_a_failing_run_reports_its_error_through_the_worker(start_worker, analyst):
    worker = start_worker("w1")
    run = run_create(kind="demo", params={"steps": 3, "step_seconds": 0.1, "fail_at_step": 2}, owner=analyst)
    wait_for(lambda: _status(run) == RunStatus.FAILED, timeout=60, what=f"failure\n{worker.log()}")
    run.refresh_from_db()
    assert "failed at step 2" in run.error_message
    assert run.logs.filter(level=LogLevel.ERROR, message__contains="Traceback").exists()


def test_a_killed_workers_run_is_failed_by_the_reaper(start_worker, analyst):
    victim = start_worker("victim")
    run = run_create(kind="demo", params={"steps": 200, "step_seconds": 0.25, "seed": 1}, owner=analyst)
    wait_for(
        lambda: Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, progress__gte=2).exists(),
        timeout=60,
        what=f"the run to be running\n{victim.log()}",
    )
    victim.kill()
    assert _status(run) == RunStatus.RUNNING  # nobody has noticed yet
    # A surviving worker with beat runs the reaper every second, with a 3 s threshold.
    reaper = start_worker("reaper", beat=True, env={"RUN_HEARTBEAT_TIMEOUT": "3", "RUN_REAPER_INTERVAL": "1"})
    wait_for(lambda: _status(run) == RunStatus.FAILED, timeout=30, what=f"the reaper\n{reaper.log()}")
    run.refresh_from_db()
    assert "No heartbeat" in run.error_message and "victim@" in run.error_message
    assert run.logs.filter(level=LogLevel.ERROR, message__startswith="Reaped").exists()
    assert run.progress < 100
