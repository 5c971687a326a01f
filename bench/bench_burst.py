"""A launch burst against a whole stack: 200 launches from 20 API clients, two workers.

With --embedded, the embedded default instead: `bin/serve` (runserver, a worker
of concurrency 2, the control worker and beat) on SQLite and the filesystem
broker in a temporary RUNSIGHT_VAR_DIR, no service needed. It measures single
launches one at a time (launch-to-start of each, spaced at random so that no
polling phase is favoured) and a burst (every launch-to-start, and when the
last run started and ended after the first launch).

Starts the chaos suite's stack (tests/chaos/harness.py): its own PostgreSQL
cluster (port 55432) and Redis (port 56379), gunicorn on port 8102, two
ordinary workers, the control worker and beat; then, for each repeat, sends
the burst of demo launches over HTTP and waits until every run is final.
Prints launch latency, launch-to-start latency (p50/p95), 5xx answers and the
most PostgreSQL connections seen in pg_stat_activity; with --repeat, the
median of each figure over the repeats. Everything it starts is stopped at the
end. Needs the PostgreSQL server binaries (/usr/lib/postgresql/*/bin) and
redis-server; as root, the cluster runs as the `postgres` user.

    .venv/bin/python bench/bench_burst.py --repeat 3
    .venv/bin/python bench/bench_burst.py --web runserver --no-pool   # the old setup, for comparison
    .venv/bin/python bench/bench_burst.py --embedded --singles 40 --launches 50 --clients 10 --repeat 3
    .venv/bin/python bench/bench_burst.py --embedded --env CELERY_BROKER_POLLING_INTERVAL=1   # kombu's default
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.chaos.harness import PYTHON, http, percentile, wait_until  # noqa: E402
from tests.chaos.harness import new_stack  # noqa: E402

EMBEDDED_PORT = int(os.environ.get("BENCH_EMBEDDED_PORT", "8103"))
DEMO = {"steps": 1, "step_seconds": 0.05}


class EmbeddedStack:
    """`bin/serve` on SQLite and the filesystem broker, in a folder of its own."""

    def __init__(self, concurrency: int, extra_env: dict[str, str]) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="runsight-embedded-"))
        self.concurrency = concurrency
        self.extra_env = extra_env
        self.url = f"http://127.0.0.1:{EMBEDDED_PORT}"
        self.key = ""
        self.proc: subprocess.Popen | None = None
        self.log_path = self.base / "serve.log"

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "RUN_", "CELERY_"))}
        return {
            **keep,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "embedded-bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "RUNSIGHT_ENV_FILE": "",
            "RUNSIGHT_VAR_DIR": str(self.base / "var"),
            # The default names var/ under the current folder, whatever RUNSIGHT_VAR_DIR says.
            "DATABASE_URL": f"sqlite:///{self.base / 'var' / 'runsight.sqlite3'}",  # four slashes: absolute
            "LOG_DIR": str(self.base / "log"),
            "API_THROTTLE_USER": "100000/min",
            "PYTHONUNBUFFERED": "1",
            "HOST": "127.0.0.1",
            "PORT": str(EMBEDDED_PORT),
            "WORKER_CONCURRENCY": str(self.concurrency),
            "VENV": str(Path(PYTHON).parent.parent),
            **self.extra_env,
        }

    def manage(self, *args: str) -> str:
        result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env(), capture_output=True,
                                text=True, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def setup(self) -> None:
        self.manage("migrate", "--noinput")
        self.key = self.manage(
            "shell", "-c",
            "from django.contrib.auth.models import Group\n"
            "from accounts.models import User\n"
            "from accounts.services import api_key_create\n"
            "u = User.objects.create_user(username='bench', password='bench-password-1')\n"
            "u.groups.set(Group.objects.filter(name='analyst'))\n"
            "print(api_key_create(owner=u, name='bench')[1])",
        ).strip().splitlines()[-1]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([str(ROOT / "bin" / "serve")], cwd=ROOT, env=self.env(), stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: http("GET", f"{self.url}/api/kinds/", key=self.key, timeout=5).status == 200, 120,
                   what="the web server")
        # The worker is ready when a run goes through.
        ids = [self.launch()]
        self.wait_final(ids, 120)

    def teardown(self, keep: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        if keep:
            print(f"kept for a look: {self.base}")
        else:
            shutil.rmtree(self.base, ignore_errors=True)

    def launch(self) -> str:
        answer = http("POST", f"{self.url}/api/runs/", key=self.key, payload={"kind": "demo", "params": DEMO})
        if answer.status not in (201, 202):
            raise RuntimeError(f"launch answered {answer.status}: {answer.body}")
        return answer.body["run_id"]

    def rows(self, run_ids: list[str]) -> dict[str, dict]:
        db = sqlite3.connect(f"file:{self.base / 'var' / 'runsight.sqlite3'}?mode=ro", uri=True, timeout=30)
        try:
            marks = ",".join("?" * len(run_ids))
            found = db.execute(
                f"SELECT run_id, status, created_at, started_at, finished_at FROM runs_run WHERE run_id IN ({marks})",
                run_ids,
            ).fetchall()
        finally:
            db.close()
        parse = lambda v: datetime.fromisoformat(v) if v else None  # noqa: E731
        return {r[0]: {"status": r[1], "created_at": parse(r[2]), "started_at": parse(r[3]),
                       "finished_at": parse(r[4])} for r in found}

    def wait_final(self, run_ids: list[str], timeout: float) -> dict[str, dict]:
        def done() -> dict | None:
            rows = self.rows(run_ids)
            final = all(r["status"] in ("SUCCEEDED", "FAILED", "CANCELLED") for r in rows.values())
            return rows if final and len(rows) == len(run_ids) else None
        return wait_until(done, timeout, interval=0.05, what="every run final")


def _start_seconds(row: dict) -> float:
    return (row["started_at"] - row["created_at"]).total_seconds()


def embedded(args: argparse.Namespace) -> int:
    extra = dict(item.split("=", 1) for item in args.env)
    stack = EmbeddedStack(args.concurrency, extra)
    singles: list[float] = []
    bursts: list[dict] = []
    ok = False
    try:
        stack.setup()
        for _ in range(args.singles):
            time.sleep(random.uniform(0.2, 1.2))  # any phase of a polling loop
            run_id = stack.launch()
            singles.append(_start_seconds(stack.wait_final([run_id], 60)[run_id]))
        for i in range(args.repeat):
            time.sleep(1.0)
            with ThreadPoolExecutor(args.clients) as pool:
                ids = list(pool.map(lambda _: stack.launch(), range(args.launches)))
            rows = stack.wait_final(ids, 600)
            first = min(r["created_at"] for r in rows.values())
            starts = [_start_seconds(r) for r in rows.values()]
            burst = {
                "start_p50": percentile(starts, 50),
                "start_p95": percentile(starts, 95),
                "last_started_after_first_launch": max((r["started_at"] - first).total_seconds()
                                                       for r in rows.values()),
                "last_ended_after_first_launch": max((r["finished_at"] - first).total_seconds()
                                                     for r in rows.values()),
                "not_succeeded": sum(1 for r in rows.values() if r["status"] != "SUCCEEDED"),
            }
            burst["runs_per_second"] = args.launches / burst["last_ended_after_first_launch"]
            # Share of the workers' time spent executing runs between the first start and the last end:
            # near 1, the burst drained as fast as the workers compute; the rest is waiting for messages.
            busy = sum((r["finished_at"] - r["started_at"]).total_seconds() for r in rows.values())
            span = (max(r["finished_at"] for r in rows.values())
                    - min(r["started_at"] for r in rows.values())).total_seconds()
            burst["run_seconds_p50"] = statistics.median(
                (r["finished_at"] - r["started_at"]).total_seconds() for r in rows.values())
            burst["worker_busy_share"] = busy / (args.concurrency * span)
            bursts.append(burst)
            print(f"burst {i + 1}/{args.repeat}: " + ", ".join(f"{k} {v:.3f}" for k, v in burst.items()))
        ok = True
    finally:
        stack.teardown(keep=not ok)
    print(f"\nembedded default (bin/serve: runserver, worker concurrency {args.concurrency}, control worker, beat; "
          f"SQLite, filesystem broker){' with ' + ' '.join(args.env) if args.env else ''}")
    if singles:
        print(f"  {len(singles)} single launches, launch-to-start: p50 {percentile(singles, 50) * 1000:.0f} ms, "
              f"p95 {percentile(singles, 95) * 1000:.0f} ms, max {max(singles) * 1000:.0f} ms")
    if bursts:
        print(f"  burst of {args.launches} from {args.clients} clients, demo {DEMO}; median of {len(bursts)}:")
        for key in bursts[0]:
            print(f"    {key:32s} {statistics.median(b[key] for b in bursts):.3f}")
    with open("/proc/loadavg") as fh:
        print(f"  load average at the end: {fh.read().strip()}")
    return 1 if any(b["not_succeeded"] for b in bursts) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--web", choices=("gunicorn", "runserver"), default="gunicorn")
    parser.add_argument("--no-pool", action="store_true", help="persistent connections (CONN_MAX_AGE=60), no pool")
    parser.add_argument("--steps", type=int, default=1, help="steps of each demo run")
    parser.add_argument("--step-seconds", type=float, default=0.05)
    parser.add_argument("--embedded", action="store_true", help="bin/serve on SQLite and the filesystem broker")
    parser.add_argument("--singles", type=int, default=40, help="with --embedded: single launches, one at a time")
    parser.add_argument("--concurrency", type=int, default=2, help="with --embedded: the worker's concurrency")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="with --embedded: a setting for every process of the stack")
    args = parser.parse_args()
    if args.embedded:
        return embedded(args)

    extra = {"DATABASE_POOL": "0"} if args.no_pool else {}
    stack = new_stack(web=args.web, extra_env=extra)
    rows = []
    try:
        stack.setup()
        for i in range(args.repeat):
            try:
                f = stack.burst_figures(
                    args.launches, args.clients, {"steps": args.steps, "step_seconds": args.step_seconds}
                )
            except RuntimeError as exc:
                print(f"burst {i + 1}/{args.repeat} failed: {exc}")
                return 1
            not_ok = sum(1 for r in f["finals"].values() if r["status"] != "SUCCEEDED")
            row = {
                "launch_p50": percentile(f["launch_seconds"], 50),
                "launch_p95": percentile(f["launch_seconds"], 95),
                "start_p50": percentile(f["start_seconds"], 50),
                "start_p95": percentile(f["start_seconds"], 95),
                "start_max": max(f["start_seconds"], default=float("nan")),
                "5xx": f["errors_5xx"] + f["no_answer"],
                "not_succeeded": not_ok,
                "max_pg_connections": f["max_connections"],
                "drained_s": f["drained_seconds"],
            }
            rows.append(row)
            print(f"burst {i + 1}/{args.repeat}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                            for k, v in row.items()))
            print(f"  max connections by process: {f['by_app']}")
    finally:
        stack.teardown()
    print(f"\n{args.launches} launches from {args.clients} clients, 2 workers, web {args.web}, "
          f"{'no pool' if args.no_pool else 'pool'}; median of {len(rows)}:")
    for key in rows[0]:
        print(f"  {key:20s} {statistics.median(r[key] for r in rows):.3f}")
    return 1 if any(r["5xx"] or r["not_succeeded"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
