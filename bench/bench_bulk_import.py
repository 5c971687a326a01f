"""Bulk import of 100,000 runs into PostgreSQL.

    .venv/bin/python bench/bench_bulk_import.py                      # 100,000 runs, 3 repetitions
    .venv/bin/python bench/bench_bulk_import.py --runs 20000 --repeat 5 --batch-size 5000

Creates a database of its own (`--db`, dropped and created), migrates it, and writes
(not timed) a JSON-lines file of `--runs` run documents as a JSON export writes them:
demo runs with their parameters and parameters hash, six metrics, two or three tags
out of forty, two log lines each, statuses SUCCEEDED 80 % / FAILED 10 % / CANCELLED
10 %, created one every five minutes backwards from now (100,000 runs span about a
year; the spread is checked after the import). No results (artifacts): a bundle's
files cost what writing files costs, measured by bench_exchange.py.

Each repetition empties the run tables, then times `runs_import_bulk` (the service
behind the page, the API and `import_run --bulk`) on the file, the way the command
calls it; then times a second import of the same file, which must skip every run.
Prints each figure, the median and the runs per second, with the CPU time of the
importing process (time.process_time: reading, checks, rows, all its threads) and of
PostgreSQL's backends serving the database (read from /proc while the import runs), so
that a figure taken on a busy machine still says what the import costs. Target:
100,000 runs in at most 20 s (5,000 runs/s).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS_PER_100K = 20.0
SPACING = timedelta(minutes=5)
TAGS = [f"team-{i}" for i in range(20)] + [f"book-{i}" for i in range(20)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None, help="runs per transaction (RUN_BULK_IMPORT_BATCH)")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="runsight_bench_bulk")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {args.db}")
        conn.execute(f"CREATE DATABASE {args.db}")
    os.environ.update(
        DATABASE_URL=f"{args.pg}/{args.db}", DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings",
        RUNSIGHT_VAR_DIR="/tmp/runsight-bench-var", RUNSIGHT_ENV_FILE="", LOG_DIR="", DATABASE_POOL="0",
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from runs.services.exchange_bulk import runs_import_bulk

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "runs.jsonl"
        started = time.perf_counter()
        write_file(path, args.runs)
        size = path.stat().st_size
        print(f"file: {args.runs:,} runs, {size / 1e6:.1f} MB, written in {time.perf_counter() - started:.1f} s (not timed)")
        imports, skips, cpus, pg_cpus = [], [], [], []
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for repetition in range(1, args.repeat + 1):
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE runs_run, runs_runlog, runs_run_tags CASCADE")
            cpu = time.process_time()
            with BackendCpu(args.pg, args.db) as backends, path.open("rb") as fh:
                result = runs_import_bulk(file=fh, actor=None, filename=path.name, batch_size=args.batch_size)
            cpu = time.process_time() - cpu
            pg_cpus.append(backends.seconds)
            assert result.imported == args.runs, result
            imports.append(result.seconds)
            cpus.append(cpu)
            with path.open("rb") as fh:
                again = runs_import_bulk(file=fh, actor=None, filename=path.name, batch_size=args.batch_size)
            assert again.imported == 0 and again.skipped == args.runs, again
            skips.append(again.seconds)
            print(f"repetition {repetition}: import {result.seconds:.2f} s ({result.runs_per_second:,.0f} runs/s, "
                  f"{result.batches} batches; this process's CPU {cpu:.2f} s, PostgreSQL's {backends.seconds:.2f} s); again (all skipped) {again.seconds:.2f} s; "
                  f"load average {os.getloadavg()[0]:.1f}")
        check(args.runs)
        median = statistics.median(imports)
        per_100k = median * 100_000 / args.runs
        print(f"\nimport of {args.runs:,} runs: median {median:.2f} s (min {min(imports):.2f}, max {max(imports):.2f}), "
              f"{args.runs / median:,.0f} runs/s; {per_100k:.1f} s per 100,000 runs "
              f"(target ≤ {TARGET_SECONDS_PER_100K:.0f} s: {'met' if per_100k <= TARGET_SECONDS_PER_100K else 'MISSED'})")
        print(f"second import of the same file (every run skipped): median {statistics.median(skips):.2f} s")
        print(f"CPU time of the importing process (parsing, checks, rows; not PostgreSQL's): median "
              f"{statistics.median(cpus):.2f} s, {args.runs / statistics.median(cpus):,.0f} runs per CPU-second")
        print(f"CPU time of PostgreSQL's backends for the import (COPY, indexes, foreign-key checks, commits): "
              f"median {statistics.median(pg_cpus):.2f} s; both together {statistics.median(cpus) + statistics.median(pg_cpus):.2f} s "
              f"of CPU, i.e. at least {(statistics.median(cpus) + statistics.median(pg_cpus)) / (os.cpu_count() or 1):.1f} s "
              f"of wall clock on {os.cpu_count()} idle CPUs")
    connection.close()
    if not args.keep:
        with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {args.db}")


class BackendCpu:
    """CPU seconds (user + system) of the PostgreSQL backends connected to `db` while in the block,
    read from /proc every 50 ms (PostgreSQL on this machine), summed over backends."""

    def __init__(self, pg: str, db: str) -> None:
        self.pg, self.db = pg, db
        self.start: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stop = threading.Event()

    def __enter__(self) -> "BackendCpu":
        import psycopg

        self.conn = psycopg.connect(f"{self.pg}/postgres", autocommit=True)
        self.sample()
        self.start = dict(self.last)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.sample()

    def sample(self) -> None:
        pids = [row[0] for row in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.db])]
        tick = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self.last[pid] = (int(fields[11]) + int(fields[12])) / tick

    def __exit__(self, *exc: object) -> None:
        self.sample()
        self.stop.set()
        self.thread.join()
        self.conn.close()

    @property
    def seconds(self) -> float:
        return sum(value - self.start.get(pid, 0.0) for pid, value in self.last.items())


def write_file(path: Path, count: int) -> None:
    from django.utils import timezone

    from runs.hashing import params_hash

    rng = random.Random(42)
    now = timezone.now().replace(microsecond=0)
    with path.open("w") as out:
        for i in range(count):
            created = now - SPACING * (count - i)
            status = rng.choices(("SUCCEEDED", "FAILED", "CANCELLED"), (8, 1, 1))[0]
            params = {"steps": rng.randint(1, 50), "step_seconds": 0.5, "fail_at_step": 0, "seed": rng.randint(0, 2**31 - 1)}
            metrics = {} if status != "SUCCEEDED" else {
                "lcr": round(rng.uniform(0.8, 2.5), 4), "nsfr": round(rng.uniform(0.9, 1.6), 4),
                "rwa_total": round(rng.uniform(1e9, 9e9), 2), "cet1_ratio": round(rng.uniform(0.08, 0.18), 4),
                "mean": round(rng.gauss(100, 15), 4), "n": params["steps"],
            }
            duration = round(rng.uniform(1, 600), 3)
            document = {
                "format": "runsight.run", "version": 1,
                "run": {
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "run_id": f"run_bulk_{i:07d}",
                    "kind": "demo", "status": status, "trigger": rng.choice(("MANUAL", "API", "CRON")),
                    "owner": rng.choice(("alice", "bob", "chen")), "params": params, "params_hash": params_hash(params),
                    "seed": params["seed"], "metrics": metrics, "checksum": "", "is_favourite": rng.random() < 0.02,
                    "tags": rng.sample(TAGS, rng.randint(2, 3)), "notes": "", "created_at": created.isoformat(),
                    "started_at": (created + timedelta(seconds=1)).isoformat(),
                    "finished_at": (created + timedelta(seconds=1 + duration)).isoformat(),
                    "duration_seconds": duration, "progress": 100 if status == "SUCCEEDED" else 40,
                    "error_message": "" if status != "FAILED" else "failed at step 3 as asked",
                    "code_version": "bench", "worker": "celery@bench",
                },
                "logs": [
                    {"created_at": created.isoformat(), "level": "INFO", "message": "Created by bench (MANUAL)"},
                    {"created_at": (created + timedelta(seconds=1 + duration)).isoformat(), "level": "INFO",
                     "message": f"Ended {status.lower()}"},
                ],
                "artifacts": [],
            }
            out.write(json.dumps(document, separators=(",", ":")) + "\n")


def check(count: int) -> None:
    """The runs are all there, with the dates and values the file gave them."""
    from django.db.models import Max, Min

    from runs.models import Run, RunLog, RunOrigin

    assert Run.objects.count() == count
    assert Run.objects.filter(origin=RunOrigin.IMPORT).count() == count
    span = Run.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    days = (span["last"] - span["first"]).total_seconds() / 86400
    expected = (SPACING * (count - 1)).total_seconds() / 86400
    assert abs(days - expected) < 0.01, (days, expected)
    assert RunLog.objects.count() == 3 * count
    print(f"checked: {count:,} runs, created over {days:.1f} days, {RunLog.objects.count():,} log lines, "
          f"{Run.tags.through.objects.count():,} tag links")


if __name__ == "__main__":
    main()
