"""A launch burst against a whole stack: 200 launches from 20 API clients, two workers.

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
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.chaos.harness import new_stack, percentile  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--web", choices=("gunicorn", "runserver"), default="gunicorn")
    parser.add_argument("--no-pool", action="store_true", help="persistent connections (CONN_MAX_AGE=60), no pool")
    parser.add_argument("--steps", type=int, default=1, help="steps of each demo run")
    parser.add_argument("--step-seconds", type=float, default=0.05)
    args = parser.parse_args()

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
