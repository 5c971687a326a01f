"""Fault injection against a whole stack: PostgreSQL, Redis, gunicorn, two workers,
the control worker and beat, all real processes (tests/chaos/harness.py).

After each scenario the suite checks what a user is promised: every run reaches a
final state within the stated bound, its stated reason is the true one, nothing
executed twice, no FAILED or CANCELLED run has results, every SUCCEEDED run's
checksum matches its stored bytes, and the result cache holds only bytes of
SUCCEEDED runs (Stack.check_invariants).

Run with `pytest tests/chaos -m chaos` (CI's chaos leg, `make chaos`).
"""
from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime, timezone

import pytest

from tests.chaos.harness import (
    FINAL,
    PENDING_BOUND,
    REAP_BOUND,
    RESEND_BOUND,
    SLACK,
    Launch,
    Stack,
    summarize,
)

pytestmark = pytest.mark.chaos

SHORT = {"steps": 2, "step_seconds": 0.1}


def _launched(launch: Launch) -> str:
    answer = launch.answer
    assert answer.status in (201, 202), f"launch answered {answer.status} {answer.error}: {answer.body}"
    return launch.run_id


def _launch(s: Stack, kind: str = "demo", **params) -> str:
    return _launched(s.launch(kind, params))


def _running(s: Stack, run_id: str, timeout: float = 40) -> str:
    """Wait until the run is RUNNING and has made progress; return the name of its worker."""
    run = s.wait_status(run_id, ["RUNNING"], timeout, progress=1)
    return run["worker"].split("@")[0]


def _assert_invariants(s: Stack, run_ids=None) -> None:
    problems = s.check_invariants(run_ids)
    assert not problems, "broken promises:\n" + "\n".join(problems)


def _assert_reaped(run: dict, worker: str) -> None:
    assert run["status"] == "FAILED", run
    error = run["error_message"]
    assert "heartbeat" in error.lower() and f"{worker}@" in error, f"reason does not name the lost worker: {error!r}"


def _since(s: Stack, started: datetime) -> list[str]:
    return [r[0] for r in s.db.query("SELECT run_id FROM runs_run WHERE created_at >= %s", [started])]


# ---------------------------------------------------------------------------
# Baseline
# ---------------------------------------------------------------------------
def test_a_long_chunked_simulation_succeeds_and_only_its_bytes_feed_the_cache(chaos: Stack):
    """Two million positions in two chunks: numpy phases far longer than the 4 s heartbeat
    timeout, so this also shows a healthy run is never reaped."""
    s = chaos
    rid = _launch(s, "simulation", seed=7, n_positions=2_000_000, use_cache=False)
    run = s.wait_final([rid], timeout=120)[rid]
    assert run["status"] == "SUCCEEDED", (run, s.logs_of(rid)[-5:])
    cached = s.db.query(
        "SELECT count(*) FROM simulations_cachedresult c JOIN runs_run r ON r.id = c.source_run_id WHERE r.run_id = %s",
        [rid],
    )[0][0]
    assert cached > 0, "a SUCCEEDED simulation left nothing in the result cache"
    assert s.get(f"/api/simulations/runs/{rid}/files/summary.json/").status == 200
    _assert_invariants(s, [rid])


# ---------------------------------------------------------------------------
# Workers killed
# ---------------------------------------------------------------------------
def test_a_killed_workers_run_fails_in_bound_while_another_worker_lives(chaos: Stack):
    s = chaos
    rid = _launch(s, steps=80, step_seconds=0.25)
    victim = _running(s, rid)
    killed = time.monotonic()
    s.procs[victim].kill()
    run = s.wait_status(rid, FINAL, REAP_BOUND + 10)
    took = time.monotonic() - killed
    _assert_reaped(run, victim)
    assert took <= REAP_BOUND, f"reaped {took:.1f} s after the kill; bound {REAP_BOUND:.0f} s"
    # The survivor goes on serving.
    after = _launch(s, **SHORT)
    run = s.wait_status(after, FINAL, 30)
    assert run["status"] == "SUCCEEDED" and not run["worker"].startswith(f"{victim}@"), run
    _assert_invariants(s, [rid, after])


def test_a_killed_pool_childs_run_fails_in_bound_and_its_worker_goes_on(chaos: Stack):
    s = chaos
    rid = _launch(s, steps=80, step_seconds=0.25)
    victim = _running(s, rid)
    children = [int(p) for p in s.children_of(victim)]
    assert len(children) == 1, f"{victim} should have one pool process, has {children}"
    killed = time.monotonic()
    os.kill(children[0], signal.SIGKILL)
    run = s.wait_status(rid, FINAL, REAP_BOUND + 10)
    took = time.monotonic() - killed
    _assert_reaped(run, victim)
    assert took <= REAP_BOUND, f"reaped {took:.1f} s after the kill; bound {REAP_BOUND:.0f} s"
    assert s.procs[victim].alive
    after = [_launch(s, **SHORT) for _ in range(4)]
    finals = s.wait_final(after, 40)
    assert all(r["status"] == "SUCCEEDED" for r in finals.values()), finals
    _assert_invariants(s, [rid, *after])


def test_a_killed_workers_run_fails_in_bound_while_every_other_worker_is_busy(chaos: Stack):
    s = chaos
    first = _launch(s, steps=100, step_seconds=0.25)
    second = _launch(s, steps=100, step_seconds=0.25)
    workers = {_running(s, first), _running(s, second)}
    assert len(workers) == 2, "both runs should occupy one worker each"
    victim = s.run(first)["worker"].split("@")[0]
    killed = time.monotonic()
    s.procs[victim].kill()
    run = s.wait_status(first, FINAL, REAP_BOUND + 30)
    took = time.monotonic() - killed
    busy = s.run(second)["status"]
    _assert_reaped(run, victim)
    assert took <= REAP_BOUND, f"reaped {took:.1f} s after the kill with the other worker busy; bound {REAP_BOUND:.0f} s"
    assert busy == "RUNNING", "the surviving worker was supposed to be busy while the reaper ran"
    s.procs["w1" if victim == "w2" else "w2"].kill()  # no need to wait 25 s for the survivor's run
    s.wait_final([second], REAP_BOUND + 10)
    _assert_invariants(s, [first, second])


def test_killed_workers_runs_fail_in_bound_with_no_worker_alive(chaos: Stack):
    s = chaos
    runs = [_launch(s, steps=100, step_seconds=0.25) for _ in range(2)]
    owners = {rid: _running(s, rid) for rid in runs}
    killed = time.monotonic()
    for name in ("w1", "w2"):
        s.procs[name].kill()
    finals = s.wait_final(runs, REAP_BOUND + 30)
    took = time.monotonic() - killed
    for rid, run in finals.items():
        _assert_reaped(run, owners[rid])
    assert took <= REAP_BOUND, f"both reaped only {took:.1f} s after the kill with no worker alive; bound {REAP_BOUND:.0f} s"
    _assert_invariants(s, runs)


# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------
def test_launches_while_redis_is_down_answer_truthfully_and_run_when_it_returns(chaos: Stack):
    s = chaos
    s.redis.stop()
    try:
        launches = [s.launch("demo", SHORT) for _ in range(4)]
        listing = s.get("/api/runs/?page_size=5")
        stored = {l.run_id: s.status(l.run_id) for l in launches if l.run_id}
        time.sleep(2)
    finally:
        s.redis.start()
    back = time.monotonic()
    answers = [(l.answer.status, l.answer.body.get("status") if isinstance(l.answer.body, dict) else None)
               for l in launches]
    for l in launches:
        assert l.answer.status in (202, 201, 503), f"launch with Redis down answered {l.answer.status}: {l.answer.body}"
        if l.answer.status == 503:
            assert l.run_id is None or stored[l.run_id] == "FAILED", "a 503 must leave no live run behind"
        else:
            assert l.answer.body["status"] == stored[l.run_id] == "PENDING", (
                f"answered {l.answer.status} {l.answer.body['status']} while the run is stored {stored[l.run_id]}"
            )
    assert listing.status == 200, f"the run list answered {listing.status} with Redis down: {listing.body}"
    queued = [l.run_id for l in launches if l.answer.status in (201, 202)]
    bound = RESEND_BOUND + 10  # + the workers' reconnection back-off and the run itself
    finals = s.wait_final(queued, bound)
    took = time.monotonic() - back
    assert all(r["status"] == "SUCCEEDED" for r in finals.values()), {k: (v["status"], v["error_message"]) for k, v in finals.items()}
    assert took <= bound, f"runs launched with Redis down ended {took:.1f} s after it came back; bound {bound:.0f} s"
    _assert_invariants(s, [l.run_id for l in launches if l.run_id])
    print(f"answers with Redis down: {answers}; all done {took:.1f} s after it returned")


def test_launches_during_a_redis_restart(chaos: Stack):
    s = chaos
    started = datetime.now(timezone.utc)
    results: list[Launch] = []

    def client() -> None:
        for _ in range(5):
            results.append(s.launch("demo", SHORT, timeout=60))
            time.sleep(0.3)

    clients = [threading.Thread(target=client) for _ in range(4)]
    for t in clients:
        t.start()
    time.sleep(0.8)
    s.restart_redis(down=1)
    back = time.monotonic()
    for t in clients:
        t.join()
    codes = sorted(r.answer.status for r in results)
    for r in results:
        assert r.answer.status in (201, 202, 503), f"launches around a Redis restart answered {codes}: {r.answer.body}"
        if r.answer.status in (201, 202):
            assert r.answer.body["status"] in ("PENDING", "RUNNING", "SUCCEEDED"), r.answer.body
    ids = _since(s, started)
    bound = RESEND_BOUND + 10
    finals = s.wait_final(ids, bound + 10)
    took = time.monotonic() - back
    not_ok = {rid: (r["status"], r["error_message"]) for rid, r in finals.items() if r["status"] != "SUCCEEDED"}
    acknowledged = {r.run_id for r in results if r.answer.status in (201, 202)}
    assert not {rid: v for rid, v in not_ok.items() if rid in acknowledged}, not_ok
    assert took <= bound, f"runs launched around a Redis restart ended {took:.1f} s after it returned; bound {bound:.0f} s"
    _assert_invariants(s, ids)
    print(f"launch answers around the Redis restart: {codes}")


def test_a_run_survives_a_redis_restart(chaos: Stack):
    s = chaos
    rid = _launch(s, steps=24, step_seconds=0.25)
    _running(s, rid)
    s.restart_redis(down=2)
    run = s.wait_status(rid, FINAL, 6 + RESEND_BOUND + 10)
    assert run["status"] == "SUCCEEDED", (run["status"], run["error_message"], s.logs_of(rid)[-4:])
    # Workers reconnected: a new launch runs.
    after = _launch(s, **SHORT)
    assert s.wait_status(after, FINAL, 40)["status"] == "SUCCEEDED"
    _assert_invariants(s, [rid, after])


def test_a_purged_message_is_sent_again(chaos: Stack):
    s = chaos
    busy = [_launch(s, steps=16, step_seconds=0.25) for _ in range(2)]
    for rid in busy:
        _running(s, rid)
    lost = _launch(s, **SHORT)
    assert s.status(lost) == "PENDING"
    purged = s.purge_queue()
    assert purged >= 1, "nothing was waiting in the queue to purge"
    purged_at = time.monotonic()
    bound = 4 + RESEND_BOUND + 5  # the busy runs end, then the resend, then the run
    run = s.wait_status(lost, FINAL, bound + 10)
    took = time.monotonic() - purged_at
    assert run["status"] == "SUCCEEDED", (run["status"], run["error_message"], s.logs_of(lost)[-4:])
    assert took <= bound, f"the purged run ended {took:.1f} s after the purge; bound {bound:.0f} s"
    s.wait_final(busy, 20)
    _assert_invariants(s, [*busy, lost])


def test_a_run_no_worker_takes_fails_in_bound_saying_why(chaos: Stack):
    s = chaos
    for name in ("w1", "w2"):
        s.procs[name].stop()
    launched = time.monotonic()
    rid = _launch(s, **SHORT)
    run = s.wait_status(rid, FINAL, PENDING_BOUND + 15)
    took = time.monotonic() - launched
    assert run["status"] == "FAILED", run
    assert "never picked up" in run["error_message"].lower(), f"reason: {run['error_message']!r}"
    assert took <= PENDING_BOUND, f"failed {took:.1f} s after the launch; bound {PENDING_BOUND:.0f} s"
    assert run["started_at"] is None
    _assert_invariants(s, [rid])


# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------
def test_a_run_survives_a_postgresql_restart(chaos: Stack):
    s = chaos
    rid = _launch(s, steps=32, step_seconds=0.25)
    _running(s, rid)
    s.restart_postgres(down=1)
    run = s.wait_status(rid, FINAL, 8 + 30)
    assert "presumed dead" not in run["error_message"] and "heartbeat" not in run["error_message"].lower(), (
        f"false reason after a database restart: {run['error_message']!r}"
    )
    assert run["status"] == "SUCCEEDED", (
        f"a 1 s database restart ended the run {run['status']}: {run['error_message']!r}; log {s.logs_of(rid)[-4:]}"
    )
    _assert_invariants(s, [rid])


def test_launches_during_a_postgresql_restart(chaos: Stack):
    s = chaos
    started = datetime.now(timezone.utc)
    results: list[Launch] = []

    def client() -> None:
        for _ in range(5):
            results.append(s.launch("demo", SHORT, timeout=60))
            time.sleep(0.3)

    clients = [threading.Thread(target=client) for _ in range(4)]
    for t in clients:
        t.start()
    time.sleep(0.8)
    s.restart_postgres(down=1.5)
    for t in clients:
        t.join()
    codes = sorted(r.answer.status for r in results)
    bad = [r for r in results if r.answer.status not in (201, 202, 503)]
    assert not bad, f"launches during a database restart answered {codes}: {[b.answer.body or b.answer.error for b in bad][:3]}"
    ids = _since(s, started)
    finals = s.wait_final(ids, 60)
    acknowledged = {r.run_id for r in results if r.answer.status in (201, 202)}
    assert acknowledged <= set(ids)
    failed = {rid: r["error_message"] for rid, r in finals.items() if r["status"] != "SUCCEEDED"}
    assert not failed, f"runs launched around a database restart did not succeed: {failed}"
    _assert_invariants(s, ids)
    print(f"launch answers around the restart: {codes}")


# ---------------------------------------------------------------------------
# Burst
# ---------------------------------------------------------------------------
def test_a_burst_of_200_launches_from_20_clients(chaos: Stack):
    s = chaos
    figures = s.burst_figures(200, 20, drain_timeout=90)
    print(
        f"\nburst: 200 launches / 20 clients, 2 workers; sent in {figures['sent_seconds']:.1f} s, "
        f"all final after {figures['drained_seconds']:.1f} s\n"
        f"  launch latency   {summarize(figures['launch_seconds'])}\n"
        f"  launch-to-start  {summarize(figures['start_seconds'])}\n"
        f"  5xx {figures['errors_5xx']}, no answer {figures['no_answer']}, "
        f"max PostgreSQL connections {figures['max_connections']} {figures['by_app']}"
    )
    assert figures["errors_5xx"] == 0 and figures["no_answer"] == 0, [
        (l.answer.status, l.answer.body or l.answer.error) for l in figures["launches"] if l.answer.status >= 500 or not l.answer.status
    ][:5]
    not_ok = {k: (v["status"], v["error_message"]) for k, v in figures["finals"].items() if v["status"] != "SUCCEEDED"}
    assert not not_ok, f"{len(not_ok)} burst runs did not succeed: {list(not_ok.items())[:5]}"
    assert figures["max_connections"] <= 50, f"the burst took {figures['max_connections']} PostgreSQL connections"
    # Pools are per process: no connection is shared by a prefork worker and its child.
    assert not figures["shared_sockets"], figures["shared_sockets"][:3]
    _assert_invariants(s, list(figures["finals"]))


# ---------------------------------------------------------------------------
# Cancel
# ---------------------------------------------------------------------------
def test_cancelling_a_running_simulation(chaos: Stack):
    s = chaos
    rid = _launch(s, "simulation", seed=int(time.time()) % 100_000, n_positions=3_000_000, use_cache=False)
    _running(s, rid, timeout=90)
    answer = s.cancel(rid)
    assert answer.status in (200, 202), answer
    asked = time.monotonic()
    asked_at = datetime.now(timezone.utc)
    bound = 2 + SLACK / 2
    # Two short runs queued behind the simulation: each starts only when a worker is
    # free, so they show when the run's task and its chunk tasks stopped computing.
    after = [_launch(s, **SHORT) for _ in range(2)]
    run = s.wait_status(rid, FINAL, 60)
    took = time.monotonic() - asked
    assert run["status"] == "CANCELLED", (run["status"], run["error_message"])
    assert took <= bound, (
        f"a running simulation stopped {took:.1f} s after the cancel (asked {asked_at:%H:%M:%S.%f}); "
        f"bound {bound:.0f} s; log {s.timeline(rid)}"
    )
    finals = s.wait_final(after, 60)
    assert all(r["status"] == "SUCCEEDED" for r in finals.values())
    chunks = s.db.query(
        "SELECT c.index, c.status, c.worker, c.finished_at FROM simulations_simulationchunk c "
        "JOIN runs_run r ON r.id = c.run_id WHERE r.run_id = %s ORDER BY c.index",
        [rid],
    )
    freed = max((r["started_at"] - asked_at).total_seconds() for r in finals.values())
    assert freed <= bound + 1, (
        f"both workers were free only {freed:.1f} s after the cancel (bound {bound + 1:.0f} s): "
        f"chunks of the cancelled run went on computing; chunks {chunks}"
    )
    _assert_invariants(s, [rid, *after])


# ---------------------------------------------------------------------------
# At the end: nothing stuck anywhere, every promise holds over every run
# ---------------------------------------------------------------------------
def test_no_run_is_left_active_and_every_promise_holds_over_all_runs(stack: Stack):
    s = stack
    s.ensure_workers()
    active = s.active_run_ids()
    if active:
        s.wait_final(active, RESEND_BOUND + REAP_BOUND + 10)
    _assert_invariants(s)
    counts = dict(s.db.query("SELECT status, count(*) FROM runs_run GROUP BY 1"))
    print(f"\nruns by final state over the whole suite: {counts}")
    assert not (set(counts) - set(FINAL)), counts
