"""Admin › Batch Runs latency with 10k FinOps batch runs in PostgreSQL (targets: list p95 ≤ 50 ms, detail ≤ 50 ms).

Creates (and afterwards drops) a database of its own, fills it with N batch runs (each with
its BatchRun row, four blocks, four aggregate refreshes; every 50th with 200 log lines) among
other runs, then times pages and API requests through Django's test client (no network: the
server's own work, queries, serialisation, rendering). Prints medians and 95th percentiles.

    .venv/bin/python bench/bench_finops_list.py --runs 10000 --repeat 50
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--other-runs", type=int, default=20_000, help="runs of other kinds beside them")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    import psycopg

    dbname = "runsight_bench_finops_list"
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {dbname}")
        conn.execute(f"CREATE DATABASE {dbname}")
    os.environ.update(
        DATABASE_URL=f"{args.pg}/{dbname}", DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings",
        RUNSIGHT_VAR_DIR="/tmp/runsight-bench-var", RUNSIGHT_ENV_FILE="", DATABASE_POOL="0",
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    try:
        run_bench(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {dbname}")


def populate(n: int, others: int):
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from finops_admin.models import AggregateRefresh, BatchBlock, BatchRun, Domain
    from runs.models import Run, RunLog, RunStatus, RunTrigger

    rng = random.Random(1)
    user = User.objects.create_user("finops", password="x")
    user.groups.add(Group.objects.get(name="finops_admin"))
    domains = list(Domain.objects.order_by("position"))
    now = timezone.now()
    t0 = time.perf_counter()
    statuses = [RunStatus.SUCCEEDED] * 8 + [RunStatus.FAILED, RunStatus.CANCELLED]
    triggers = [RunTrigger.CRON] * 6 + [RunTrigger.MANUAL, RunTrigger.API, RunTrigger.REPROCESS]
    from finops_admin.aggregates import VIEW_NAMES

    views = list(VIEW_NAMES)  # every aggregate a batch refreshes, as the batch records them
    for start in range(0, n, 2000):
        runs, batches, blocks, refreshes = [], [], [], []
        for i in range(start, min(n, start + 2000)):
            created = now - timedelta(hours=i * 2 + rng.random())
            month = (created.year * 12 + created.month - 1)
            periods = [f"{(month - 1) // 12}-{(month - 1) % 12 + 1:02d}", f"{month // 12}-{month % 12 + 1:02d}"]
            status = rng.choice(statuses)
            duration = rng.uniform(20, 90)
            finished = created + timedelta(seconds=duration)
            run = Run(
                id=uuid.uuid4(), run_id=f"run_{created:%Y%m%d}_{i:06d}", kind="finops_batch", status=status,
                trigger=rng.choice(triggers), params={"periods": periods, "domains": [d.code for d in domains],
                                                      "source": "/srv/finops/sources"},
                params_hash=f"{i:064x}", created_at=created, started_at=created, finished_at=finished,
                duration_seconds=duration, progress=100, code_version="bench",
                error_message="BatchFailed: Failed block(s): Public" if status == RunStatus.FAILED else "",
            )
            runs.append(run)
            failed_domain = rng.randrange(4) if status == RunStatus.FAILED else -1
            anomalous = rng.random() < 0.02
            batches.append(BatchRun(
                run=run, periods=periods, domains=[d.code for d in domains], source="/srv/finops/sources",
                rows_inserted=rng.randint(200_000, 300_000), rows_deleted=rng.randint(200_000, 300_000),
                views_refreshed=4, error_count=3 if failed_domain >= 0 else 0,
                short_error=f"Failed block(s): {domains[failed_domain].name} (3 error(s))" if failed_domain >= 0 else "",
                is_anomalous=anomalous, anomalies=["duration 4.1× the median of the last 10"] if anomalous else [],
            ))
            for j, domain in enumerate(domains):
                blocks.append(BatchBlock(
                    batch_id=run.id, domain=domain, status="FAILED" if j == failed_domain else "SUCCEEDED",
                    started_at=created, finished_at=finished, duration_seconds=duration / 5, files_read=2,
                    rows_read=60_000, rows_inserted=60_000, rows_deleted=60_000, error_count=3 if j == failed_domain else 0,
                    errors=[{"file": "public/x.csv", "row": 3, "column": "BilledCost", "reason": "not a number"}]
                    if j == failed_domain else [],
                    per_period={p: {"inserted": 30_000, "deleted": 30_000} for p in periods},
                ))
            for view in views:
                refreshes.append(AggregateRefresh(batch_id=run.id, view=view, started_at=finished,
                                                  finished_at=finished, duration_seconds=0.5, rows=5000))
        Run.objects.bulk_create(runs)
        BatchRun.objects.bulk_create(batches)
        BatchBlock.objects.bulk_create(blocks)
        AggregateRefresh.objects.bulk_create(refreshes)
    for start in range(0, others, 5000):
        Run.objects.bulk_create([
            Run(id=uuid.uuid4(), run_id=f"run_demo_{i:07d}", kind="demo", status=RunStatus.SUCCEEDED,
                params={"steps": 1}, params_hash=f"{i:064x}", created_at=now - timedelta(hours=i + 0.5),
                started_at=now - timedelta(hours=i + 0.5))
            for i in range(start, min(others, start + 5000))
        ])
    sample = list(Run.objects.filter(kind="finops_batch").values_list("pk", flat=True)[::50])
    RunLog.objects.bulk_create(
        [RunLog(run_id=pk, message=f"Public: loading part {j}") for pk in sample for j in range(200)], batch_size=10_000
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would have: visibility map for index-only counts
    print(f"populated {n} batch runs (+{others} other runs) in {time.perf_counter() - t0:.1f} s")
    return user


def timed(client, url: str, repeat: int) -> tuple[float, float, float]:
    client.get(url)  # warm
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        samples.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    # The minimum is what the request costs when nothing else competes for the CPU.
    return samples[0], statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def run_bench(args) -> None:
    from django.db import connection
    from django.test import Client

    from runs.models import Run

    def count_queries(url: str) -> int:
        seen = []

        def wrapper(execute, sql, params, many, context):
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(wrapper):
            response = client.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
        return len(seen)

    user = populate(args.runs, args.other_runs)
    client = Client()
    client.force_login(user)
    some = Run.objects.filter(kind="finops_batch").order_by("-started_at")[1234]
    with_logs = Run.objects.filter(kind="finops_batch", logs__isnull=False).first()
    period = some.params["periods"][1]
    cases = [
        ("Page list, default (start desc), 25/page", "/finops/admin/runs/"),
        ("Page list, 100/page", "/finops/admin/runs/?page_size=100"),
        ("Page list, status=FAILED", "/finops/admin/runs/?status=FAILED"),
        (f"Page list, period={period}", f"/finops/admin/runs/?period={period}"),
        ("Page list, domain=public + trigger=CRON", "/finops/admin/runs/?domain=public&trigger=CRON"),
        ("Page list, anomalies only", "/finops/admin/runs/?anomalies=true"),
        ("Page list, run id search", "/finops/admin/runs/?q=_00123"),
        ("Page list, date range (30 days)",
         f"/finops/admin/runs/?started_after={(some.started_at - timedelta(days=30)):%Y-%m-%d}"
         f"&started_before={some.started_at:%Y-%m-%d}"),
        ("Page list, sorted by duration desc", "/finops/admin/runs/?ordering=-duration"),
        ("Page list, page 200", "/finops/admin/runs/?page=200"),
        ("API list, default, 100/page", "/api/finops/admin/runs/?page_size=100"),
        ("API list, status=FAILED&domain=public", "/api/finops/admin/runs/?status=FAILED&domain=public"),
        ("Page detail", f"/finops/admin/runs/{some.run_id}/"),
        ("Page detail (200 log lines)", f"/finops/admin/runs/{with_logs.run_id}/"),
        ("API detail", f"/api/finops/admin/runs/{some.run_id}/"),
    ]
    print(f"\n{args.runs} FinOps batch runs in PostgreSQL, {args.repeat} requests each (ms)")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'case':<52} {'min':>8} {'median':>8} {'p95':>8} {'queries':>8}")
    for label, url in cases:
        queries = count_queries(url)
        low, median, p95 = timed(client, url, args.repeat)
        print(f"{label:<52} {low:8.1f} {median:8.1f} {p95:8.1f} {queries:8d}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    t = time.perf_counter()
    response = client.get("/finops/admin/runs/export.csv")
    size = len(b"".join(response.streaming_content))
    print(f"{'CSV of the whole list (' + str(args.runs) + ' rows, ' + str(size // 1024) + ' KiB)':<52} "
          f"{(time.perf_counter() - t) * 1000:8.1f}")


if __name__ == "__main__":
    main()
