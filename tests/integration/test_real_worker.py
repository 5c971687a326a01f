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


# The control worker runs the reaper and the outbox pass (queue runs.control) every
# second, with short thresholds; ordinary workers consume only the default queue.
CONTROL_ENV = {"RUN_HEARTBEAT_TIMEOUT": "3", "RUN_REAPER_INTERVAL": "1", "RUN_PENDING_RESEND_SECONDS": "2"}


def _control(start_worker):
    return start_worker("control", queues="runs.control", beat=True, env=CONTROL_ENV)


def _running(run: Run, worker, progress: int = 2) -> None:
    wait_for(
        lambda: Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, progress__gte=progress).exists(),
        timeout=60, what=f"{run.run_id} to be running\n{worker.log()}",
    )


def test_a_killed_workers_run_is_failed_by_the_control_worker_with_no_worker_alive(start_worker, analyst):
    victim = start_worker("victim", queues="celery")
    run = run_create(kind="demo", params={"steps": 200, "step_seconds": 0.25, "seed": 1}, owner=analyst)
    _running(run, victim)
    victim.kill()
    assert _status(run) == RunStatus.RUNNING  # nobody has noticed yet
    # No ordinary worker is alive: the control worker alone fails the run.
    control = _control(start_worker)
    wait_for(lambda: _status(run) == RunStatus.FAILED, timeout=30, what=f"the reaper\n{control.log()}")
    run.refresh_from_db()
    assert "No heartbeat" in run.error_message and "victim@" in run.error_message
    assert run.logs.filter(level=LogLevel.ERROR, message__startswith="Reaped").exists()
    assert run.progress < 100 and not run.artifacts.exists() and run.metrics == {}


def test_a_killed_workers_run_is_failed_on_time_with_every_worker_busy(start_worker, analyst):
    import time

    control = _control(start_worker)
    victim = start_worker("victim", queues="celery")
    busy = start_worker("busy", queues="celery")
    long = {"steps": 400, "step_seconds": 0.25, "seed": 2}
    doomed = run_create(kind="demo", params=long, owner=analyst)
    other = run_create(kind="demo", params=long, owner=analyst)
    _running(doomed, victim, progress=0)
    _running(other, busy, progress=0)
    doomed.refresh_from_db()
    victim_run, busy_run = (doomed, other) if doomed.worker.startswith("victim@") else (other, doomed)
    victim.kill()
    killed_at = time.monotonic()
    # Bound: heartbeat timeout (3 s) + reaper interval (1 s), plus the time to notice.
    wait_for(lambda: _status(victim_run) == RunStatus.FAILED, timeout=15, what=f"the reaper\n{control.log()}")
    took = time.monotonic() - killed_at
    print(f"killed worker's run FAILED {took:.2f} s after the kill, the other worker busy (bound 3 + 1 s)")
    assert took <= 3 + 1 + 3, took
    assert _status(busy_run) == RunStatus.RUNNING  # the busy worker's healthy run is left alone
    victim_run.refresh_from_db()
    assert "victim@" in victim_run.error_message


def test_a_stalled_attempt_reaped_while_alive_writes_nothing_after_it_wakes(start_worker, analyst):
    """A worker frozen past the heartbeat timeout (SIGSTOP: a stuck machine, a long pause) is
    reaped; when it resumes, its attempt has lost its claim and writes nothing more."""
    import os
    import signal
    import time

    worker = start_worker("sleepy", queues="celery")
    run = run_create(kind="demo", params={"steps": 12, "step_seconds": 0.25, "seed": 3}, owner=analyst)
    _running(run, worker, progress=10)
    os.killpg(worker.proc.pid, signal.SIGSTOP)
    try:
        control = _control(start_worker)
        wait_for(lambda: _status(run) == RunStatus.FAILED, timeout=30, what=f"the reaper\n{control.log()}")
        run.refresh_from_db()
        frozen = (run.progress, run.logs.count(), run.heartbeat_at)
    finally:
        os.killpg(worker.proc.pid, signal.SIGCONT)
    time.sleep(5)  # the rest of its steps would have run by now
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and (run.progress, run.logs.count(), run.heartbeat_at) == frozen
    assert not run.artifacts.exists() and run.checksum == "" and run.metrics == {}
    assert "lost its claim" in worker.log()


def test_a_lost_task_message_is_sent_again_and_the_run_executes(start_worker, analyst):
    import redis
    from django.conf import settings

    run = run_create(kind="demo", params={"steps": 2, "step_seconds": 0.1, "seed": 4}, owner=analyst)
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert client.llen("celery") == 1
    client.delete("celery")  # the message is lost (a purge, a broker restarted without persistence)
    worker = start_worker("w1", queues="celery")
    control = _control(start_worker)
    wait_for(
        lambda: _status(run) == RunStatus.SUCCEEDED, timeout=60,
        what=f"the resend\n{control.log()}\n{worker.log()}",
    )
    run.refresh_from_db()
    assert run.attempt == 1 and run.enqueue_count >= 2  # sent twice, executed once
    assert run.logs.filter(message__contains="task message sent again").exists()


def test_a_running_simulation_is_cancelled_within_seconds(start_worker, analyst):
    import time

    from runs.services import run_cancel
    from simulations.models import CachedResult

    worker = start_worker("w1", queues="celery")
    run = run_create(
        kind="simulation", params={"seed": 9, "n_positions": 600_000, "use_cache": False}, owner=analyst
    )
    _running(run, worker, progress=2)
    asked = time.monotonic()
    run_cancel(run=Run.objects.get(pk=run.pk), actor=analyst)
    wait_for(lambda: _status(run) == RunStatus.CANCELLED, timeout=30, interval=0.05, what=f"the cancel\n{worker.log()}")
    took = time.monotonic() - asked
    print(f"cancel of a running 600k-position simulation took {took:.2f} s")
    assert took < 4, took
    run.refresh_from_db()
    assert not run.artifacts.exists() and run.metrics == {} and not CachedResult.objects.exists()



def test_the_control_pass_is_served_by_the_control_worker_only(start_worker, analyst):
    """Beat sends the pass to runs.control: an ordinary worker never takes it (so it never
    waits behind runs), and the control worker serves it as soon as it is up."""
    import time

    victim = start_worker("victim", queues="celery")
    run = run_create(kind="demo", params={"steps": 200, "step_seconds": 0.25, "seed": 1}, owner=analyst)
    _running(run, victim)
    victim.kill()
    plain = start_worker("plain", beat=True, env=CONTROL_ENV)  # default queue only, with beat
    time.sleep(6)
    assert _status(run) == RunStatus.RUNNING, plain.log()
    assert "Task runs.reap_stale_runs" not in plain.log()
    control = start_worker("control", queues="runs.control", env=CONTROL_ENV)
    wait_for(lambda: _status(run) == RunStatus.FAILED, timeout=30, what=f"the control worker\n{control.log()}")


def test_a_run_survives_its_database_connections_being_cut(start_worker, analyst):
    """Every connection of the worker is terminated mid-run (what a PostgreSQL restart does
    to them): its writes are retried on fresh connections and the run succeeds."""
    from django.db import connection

    worker = start_worker("w1", queues="celery")
    run = run_create(kind="demo", params={"steps": 12, "step_seconds": 0.25, "seed": 6}, owner=analyst)
    _running(run, worker, progress=10)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1
    wait_for(
        lambda: _status(run) in (RunStatus.SUCCEEDED, RunStatus.FAILED), timeout=60,
        what=f"{run.run_id} to finish\n{worker.log()}",
    )
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, f"{run.error_message}\n{worker.log()}"
    assert run.progress == 100 and len(run.checksum) == 64
    assert "retrying" in worker.log()  # it did meet the cut connections


def test_a_healthy_simulation_in_a_long_numpy_step_is_never_reaped(start_worker, analyst):
    """The reaper's threshold (2 s) is shorter than the simulation's numpy phases (a million
    positions: seconds each), yet the attempt's heartbeat thread keeps the run alive."""
    import time

    worker = start_worker("w1", queues="celery")
    start_worker("control", queues="runs.control", beat=True, env={**CONTROL_ENV, "RUN_HEARTBEAT_TIMEOUT": "2"})
    run = run_create(
        kind="simulation", params={"seed": 11, "n_positions": 1_000_000, "use_cache": False}, owner=analyst
    )
    started = time.monotonic()
    wait_for(
        lambda: _status(run) in (RunStatus.SUCCEEDED, RunStatus.FAILED), timeout=240, interval=0.2,
        what=f"{run.run_id} to finish\n{worker.log()}",
    )
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, f"{run.error_message}\n{worker.log()}"
    assert time.monotonic() - started > 2  # it did outlast the threshold
    assert not run.logs.filter(message__startswith="Reaped").exists()
