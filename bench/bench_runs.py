"""Run list and detail latency with 100k runs in PostgreSQL.

Creates (and afterwards drops) a database of its own, fills it with N runs by
bulk insert, then times API and page requests through Django's test client
(no network, so the figures are the server's own work: queries, serialisation,
rendering). Prints medians and 95th percentiles.

    .venv/bin/python bench/bench_runs.py --runs 100000 --repeat 50
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
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    import psycopg

    dbname = "runsight_bench_runs"
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {dbname}")
        conn.execute(f"CREATE DATABASE {dbname}")
    os.environ.update(
        DATABASE_URL=f"{args.pg}/{dbname}", DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings",
        RUNSIGHT_VAR_DIR="/tmp/runsight-bench-var",
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


def populate(n: int):
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from runs.models import Run, RunLog, RunStatus, RunTrigger, Tag

    rng = random.Random(1)
    owner = User.objects.create_user("analyst", password="x")
    owner.groups.add(Group.objects.get(name="analyst"))
    others = [User.objects.create_user(f"user{i}", password="x") for i in range(5)]
    tags = [Tag.objects.create(name=name) for name in ("nightly", "baseline", "stress", "q4", "regression", "adhoc")]
    now = timezone.now()
    statuses = [RunStatus.SUCCEEDED] * 7 + [RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.RUNNING]
    batch: list[Run] = []
    t0 = time.perf_counter()
    for i in range(n):
        created = now - timedelta(minutes=i * 5 + rng.random())
        status = rng.choice(statuses)
        finished = created + timedelta(seconds=rng.uniform(1, 600)) if status != RunStatus.RUNNING else None
        batch.append(Run(
            id=uuid.uuid4(), run_id=f"run_{created:%Y%m%d}_{i:06d}", kind="demo", status=status,
            trigger=rng.choice(RunTrigger.values), owner=rng.choice([owner, *others]),
            params={"steps": rng.randint(1, 100), "seed": i, "step_seconds": 0, "fail_at_step": 0},
            params_hash=f"{i:064x}", seed=i, metrics={"steps": 5, "mean": rng.gauss(100, 10)},
            checksum=f"{i:064x}", is_favourite=rng.random() < 0.05, notes="baseline scenario" if i % 97 == 0 else "",
            created_at=created, started_at=created, finished_at=finished,
            duration_seconds=(finished - created).total_seconds() if finished else None,
            progress=100 if finished else 40,
        ))
        if len(batch) == 5000:
            Run.objects.bulk_create(batch)
            batch = []
    if batch:
        Run.objects.bulk_create(batch)
    through = Run.tags.through
    ids = list(Run.objects.values_list("pk", flat=True))
    links = [through(run_id=pk, tag=rng.choice(tags)) for pk in ids if rng.random() < 0.6]
    through.objects.bulk_create(links, batch_size=10_000)
    sample = ids[:200]
    RunLog.objects.bulk_create(
        [RunLog(run_id=pk, message=f"line {j}") for pk in sample for j in range(50)], batch_size=10_000
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"populated {n} runs, {len(links)} tag links in {time.perf_counter() - t0:.1f} s")
    return owner


def timed(client, url: str, repeat: int) -> tuple[float, float]:
    client.get(url)  # warm
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def run_bench(args) -> None:
    from django.db import connection
    from django.test import Client

    from runs.models import Run

    def count_queries(url: str) -> int:
        # request_started clears connection.queries, so count with a wrapper instead.
        seen = []

        def wrapper(execute, sql, params, many, context):
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(wrapper):
            client.get(url)
        return len(seen)

    user = populate(args.runs)
    client = Client()
    client.force_login(user)
    some = Run.objects.order_by("-created_at")[1234]
    cases = [
        ("API list, default (newest first), 100/page", "/api/runs/?page_size=100"),
        ("API list, status=SUCCEEDED, sorted by duration, 100/page", "/api/runs/?status=SUCCEEDED&ordering=-duration&page_size=100"),
        ("API list, tag + period 30d + favourites, 100/page", "/api/runs/?tag=nightly&period=30&favourite=true&page_size=100"),
        ("API list, free-text search 'baseline' (~10% of runs match)", "/api/runs/?q=baseline&page_size=100"),
        ("API list, free-text search by run-id fragment", "/api/runs/?q=_04321&page_size=100"),
        ("API list, page 500 of the default order", "/api/runs/?page_size=100&page=500"),
        ("Page /runs/, status=FAILED, 100/page", "/runs/?status=FAILED&page_size=100"),
        ("API run detail", f"/api/runs/{some.run_id}/"),
        ("Page run detail (with 50 log lines)", f"/runs/{Run.objects.filter(logs__isnull=False).first().run_id}/"),
    ]
    print(f"\n{args.runs} runs in PostgreSQL, {args.repeat} requests each (ms)")
    print(f"{'case':<62} {'median':>8} {'p95':>8} {'queries':>8}")
    for label, url in cases:
        queries = count_queries(url)
        median, p95 = timed(client, url, args.repeat)
        print(f"{label:<62} {median:8.1f} {p95:8.1f} {queries:8d}")


if __name__ == "__main__":
    main()
