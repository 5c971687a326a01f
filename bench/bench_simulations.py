"""Benchmark of simulation runs, the result cache, the Excel report and compute_metrics.

Usage (from the repository root):

    python bench/bench_simulations.py                        # 1,000,000 positions, 3 repetitions
    python bench/bench_simulations.py --positions 200000 --repeat 5

Each scenario runs in a child process of its own (so that its peak memory is
its own), on one core, against a fresh SQLite database and artifact store in a
temporary folder:

* simulation: a simulation run executed in-process through the run core and the
  simulation service (generate, every metric, Parquet and JSON results written
  to the artifact store, the cache filled, the run's checksum); a new seed each
  repetition, so every one is a cache miss;
* cache hit: the same parameters launched again, served from the cache (every
  file read back and checked against its SHA-256, attached to the new run);
* report: the Excel report of a run, built and cached (then served from the cache);
* compute_metrics (CSV / Parquet): the `compute_metrics` command on a user file of
  the same size, written beforehand with the generator (the write is not timed).

It prints the median, min and max of each, the peak resident set size of each
child, and whether the targets hold: end to end ≤ 3 s, cache hit ≤ 0.5 s,
peak memory ≤ 2 GiB.

Large books (the run streams its book block by block):

    python bench/bench_simulations.py --positions 10000000 --repeat 1 --scenarios simulation,worker

* worker: a real Celery worker (prefork, concurrency 2, as `bin/serve` starts it)
  on the embedded default (SQLite, filesystem broker) under `/usr/bin/time -v`,
  and `manage.py simulate --wait` queueing one run; the worker's peak resident
  set size is the largest of its processes (the run's own task, and the chunk
  tasks the other pool process takes). The end-to-end time is the run's
  started_at to finished_at. The time targets above are for 1,000,000 positions;
  at 10,000,000 only the peak memory target applies.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"simulation": 3.0, "cache hit": 0.5}
TARGET_PEAK_BYTES = 2 * 1024**3


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _pin_to_one_core() -> str:
    import pyarrow as pa

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to CPU {core}"
    return "not pinned (no sched_setaffinity)"


def _setup_django(var_dir: str) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "ARTIFACT_ROOT"):
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1", RUNSIGHT_VAR_DIR=var_dir, LOG_LEVEL="WARNING",
        ARTIFACT_STORE="file", RUNSIGHT_ENV_FILE="",
        # The default database is var/ under the project whatever RUNSIGHT_VAR_DIR says: name the fresh one.
        DATABASE_URL=f"sqlite:///{Path(var_dir) / 'runsight.sqlite3'}",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# ---------------------------------------------------------------------------
# Scenarios (each in its own child process)
# ---------------------------------------------------------------------------
def scenario_simulation(positions: int, repeat: int) -> dict[str, list[float]]:
    from runs.models import RunStatus
    from runs.services import run_create, run_execute
    from simulations.services import simulation_in_process, simulation_report_get

    def launch(seed: int):
        start = time.perf_counter()
        run = run_create(kind="simulation", params={"seed": seed, "n_positions": positions}, enqueue=False)
        with simulation_in_process():
            run = run_execute(run_pk=run.pk, worker="bench")
        elapsed = time.perf_counter() - start
        assert run.status == RunStatus.SUCCEEDED, run.error_message
        return run, elapsed

    times: dict[str, list[float]] = {"simulation": [], "cache hit": [], "report": [], "report (cached)": []}
    computed = []
    for i in range(repeat):
        run, elapsed = launch(1000 + i)
        assert run.metrics["cache"]["hit"] is False
        times["simulation"].append(elapsed)
        computed.append(run)
    for _ in range(repeat):
        run, elapsed = launch(1000 + repeat - 1)
        assert run.metrics["cache"]["hit"] is True and run.checksum == computed[-1].checksum
        times["cache hit"].append(elapsed)
    for run in computed:
        start = time.perf_counter()
        _, cached = simulation_report_get(run=run)
        times["report"].append(time.perf_counter() - start)
        assert not cached
        start = time.perf_counter()
        _, cached = simulation_report_get(run=run)
        times["report (cached)"].append(time.perf_counter() - start)
        assert cached
    return times


def scenario_compute(positions: int, repeat: int, fmt: str, work_dir: str) -> dict[str, list[float]]:
    from django.core.management import call_command

    from simulations.engine import SimulationConfig, frame_to_parquet_bytes, generate_portfolio

    frame = generate_portfolio(7, positions, SimulationConfig(include_derivatives=True))
    path = Path(work_dir) / f"book.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        path.write_bytes(frame_to_parquet_bytes(frame))
    del frame
    label = f"compute_metrics ({fmt.upper()}, {path.stat().st_size / 1024**2:,.0f} MiB)"
    times: dict[str, list[float]] = {label: []}
    for _ in range(repeat):
        start = time.perf_counter()
        call_command("compute_metrics", "--positions", str(path), "--json", stdout=io.StringIO())
        times[label].append(time.perf_counter() - start)
    return times


def scenario_worker(positions: int, repeat: int) -> dict[str, Any]:
    """A real worker under /usr/bin/time -v; returns run times and the worker's peak RSS."""
    import re
    import signal
    import sqlite3

    base = Path(tempfile.mkdtemp(prefix="runsight-bench-worker-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "CELERY_", "RUN_"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1", RUNSIGHT_ENV_FILE="", LOG_LEVEL="WARNING",
               RUNSIGHT_VAR_DIR=str(base / "var"), DATABASE_URL=f"sqlite:///{base / 'var' / 'runsight.sqlite3'}",
               ARTIFACT_STORE="file", LOG_DIR=str(base / "log"), PYTHONUNBUFFERED="1")
    manage = [sys.executable, "manage.py"]
    subprocess.run(manage + ["migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
    time_log = base / "time.txt"
    worker = subprocess.Popen(
        ["/usr/bin/time", "-v", "-o", str(time_log), sys.executable, "-m", "celery", "-A", "config", "worker",
         "-Q", "celery", "--pool", "prefork", "--concurrency", "2", "--loglevel", "WARNING",
         "--hostname", "bench@%h", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(base / "worker.log", "w"), start_new_session=True,
    )
    times: dict[str, list[float]] = {"simulation on a worker (started to finished)": [], "simulate --wait": []}
    try:
        for i in range(repeat):
            start = time.perf_counter()
            out = subprocess.run(
                manage + ["simulate", "--positions", str(positions), "--seed", str(2000 + i), "--no-cache",
                          "--wait", "--timeout", "3600", "--json"],
                cwd=ROOT, env=env, capture_output=True, text=True,
            )
            times["simulate --wait"].append(time.perf_counter() - start)
            if out.returncode != 0:
                raise RuntimeError(f"simulate failed:\n{out.stdout}\n{out.stderr}")
            db = sqlite3.connect(str(base / "var" / "runsight.sqlite3"))
            status, started, finished = db.execute(
                "SELECT status, started_at, finished_at FROM runs_run ORDER BY created_at DESC LIMIT 1"
            ).fetchone()
            db.close()
            if status != "SUCCEEDED":
                raise RuntimeError(f"the run ended {status}")
            from datetime import datetime
            times["simulation on a worker (started to finished)"].append(
                (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds())
    finally:
        # Stop the worker, not /usr/bin/time: it writes its report once the worker has exited.
        with open(f"/proc/{worker.pid}/task/{worker.pid}/children") as fh:
            celery_pids = [int(pid) for pid in fh.read().split()]
        for pid in celery_pids:
            os.kill(pid, signal.SIGTERM)
        worker.wait(timeout=300)
    report = time_log.read_text()
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", report).group(1))
    import shutil

    shutil.rmtree(base, ignore_errors=True)
    return {"times": times, "peak": peak_kb * 1024, "pinning": "worker: prefork, concurrency 2, not pinned"}


def child(name: str, positions: int, repeat: int) -> None:
    if name == "worker":
        print(json.dumps(scenario_worker(positions, repeat)))
        return
    with tempfile.TemporaryDirectory(prefix="runsight-bench-") as work_dir:
        _setup_django(work_dir)
        pinning = _pin_to_one_core()
        if name == "simulation":
            times = scenario_simulation(positions, repeat)
        else:
            times = scenario_compute(positions, repeat, name.split("_", 1)[1], work_dir)
        print(json.dumps({"times": times, "peak": _peak_rss_bytes(), "pinning": pinning}))


# ---------------------------------------------------------------------------
# Parent: run the children, print the table
# ---------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scenarios", default="simulation,compute_csv,compute_parquet",
                        help="comma-separated, among simulation, compute_csv, compute_parquet, worker")
    parser.add_argument("--only", choices=["simulation", "compute_csv", "compute_parquet", "worker"],
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.positions < 100 or args.repeat < 1:
        parser.error("--positions must be at least 100 and --repeat at least 1")
    if args.only:
        child(args.only, args.positions, args.repeat)
        return 0

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    print(f"positions: {args.positions:,}, repetitions: {args.repeat}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"pyarrow {pa.__version__}, {platform.machine()}, SQLite, file artifact store")
    met = True
    with open("/proc/loadavg") as fh:
        print(f"load average before: {fh.read().strip()}")
    for name in args.scenarios.split(","):
        command = [sys.executable, __file__, "--only", name, "--positions", str(args.positions),
                   "--repeat", str(args.repeat)]
        out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(out.stdout, out.stderr, file=sys.stderr)
            return out.returncode
        result = json.loads(out.stdout.strip().splitlines()[-1])
        for step, times in result["times"].items():
            median = statistics.median(times)
            target = TARGETS.get(step) if args.positions <= 1_000_000 else None
            verdict = "" if target is None else f"  (target ≤ {target:g} s: {'met' if median <= target else 'NOT met'})"
            met = met and (target is None or median <= target)
            print(f"{step:>34}: median {median:.3f} s  (min {min(times):.3f}, max {max(times):.3f}){verdict}")
        peak = result["peak"]
        met = met and peak <= TARGET_PEAK_BYTES
        print(f"{'peak RSS of the ' + name + ' process':>34}: {peak / 1024**2:,.0f} MiB  ({result['pinning']})")
    with open("/proc/loadavg") as fh:
        print(f"load average after: {fh.read().strip()}")
    if args.positions <= 1_000_000:
        print(f"targets (end to end ≤ 3 s, cache hit ≤ 0.5 s, peak ≤ 2 GiB): {'met' if met else 'NOT met'}")
    else:  # the time targets are set for 1,000,000 positions; above, only the memory bound applies
        print(f"target (peak ≤ 2 GiB; the time targets are for 1,000,000 positions): {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
