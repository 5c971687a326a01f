"""Benchmark of run comparison and cleanup on 100,000 runs in PostgreSQL.

Usage (from the repository root; the database is created, migrated and dropped):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/runsight_bench \\
        .venv/bin/python bench/bench_manage.py
    ... bench/bench_manage.py --runs 100000 --cleanup 10000 --repeat 5 --compare-repeat 50 --keep-db

What it measures:

* compare: ``GET /api/compare/?runs=…`` of 4 runs through Django's test Client,
  logged in as an ML admin (authentication, visibility, the selector,
  serialisation, JSON rendering). Median over --compare-repeat requests.
* cleanup: ``cleanup_plan`` then ``runs_cleanup`` over the plan's list, as the
  cleanup_runs command does, with --cleanup eligible runs (each with 3 log
  lines and one artifact file, a tenth of the files shared with runs that stay)
  among --runs runs in all. Each repetition re-inserts the eligible runs (not
  timed). Median over --repeat repetitions.

The data: runs of the demo kind, varied status (mostly SUCCEEDED), creation
dates over the last 180 days, tags on a third of them, metrics with a
by-product table; 1,000 old runs that a cleanup must keep (favourites, runs in
saved comparisons, parents of recent runs).

Targets: compare of 4 runs ≤ 100 ms; cleanup of 10,000 runs ≤ 10 s.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMPARE_TARGET_S = 0.100
CLEANUP_TARGET_S = 10.0
CLEANUP_DAYS = 200
PRODUCTS = ("mortgage", "sme", "corporate", "card", "auto")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000, help="Runs in the table during the cleanup.")
    parser.add_argument("--cleanup", type=int, default=10_000, help="Runs eligible for cleanup per repetition.")
    parser.add_argument("--repeat", type=int, default=5, help="Cleanup repetitions.")
    parser.add_argument("--compare-repeat", type=int, default=50, help="Compare requests.")
    parser.add_argument("--keep-db", action="store_true", help="Leave the benchmark database in place.")
    return parser.parse_args()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/runsight_bench")
    return url


def _recreate_database(url: str) -> str:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in {"postgres", "template0", "template1"}:
        sys.exit(f"Refusing to drop and recreate the database {name!r}; name a dedicated benchmark database.")
    admin_url = urlunsplit((parts.scheme.replace("postgresql", "postgres"), parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url


def _drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _metrics(rng: random.Random) -> dict:
    mean = round(rng.gauss(100, 15), 6)
    return {
        "steps": 5,
        "mean": mean,
        "max": round(mean + abs(rng.gauss(20, 5)), 6),
        "stats_by_product": [
            {
                "product": product,
                "count": rng.randint(100, 5000),
                "notional": round(rng.uniform(1e6, 1e8), 2),
                "ead": round(rng.uniform(1e6, 9e7), 2),
                "rwa": round(rng.uniform(1e5, 5e7), 2),
            }
            for product in PRODUCTS
        ],
    }


class Loader:
    """Bulk inserts of runs with logs, artifacts (rows, and files when asked) and tags."""

    def __init__(self, storage, tags, rng: random.Random) -> None:
        self.storage = storage
        self.tags = tags
        self.rng = rng
        self.counter = 0

    def runs(self, count: int, *, age_days: tuple[float, float], statuses: list[tuple[str, float]],
             files: bool, share_with: list[str] | None = None, parent_ids: list | None = None,
             favourite: bool = False) -> list:
        import hashlib
        import json

        from django.core.files.base import ContentFile
        from django.utils import timezone

        from runs.artifacts import artifact_path
        from runs.hashing import params_hash
        from runs.models import Run, RunArtifact, RunLog

        now = timezone.now()
        names = [s for s, _ in statuses]
        weights = [w for _, w in statuses]
        created_field = Run._meta.get_field("created_at")
        made = []
        for start in range(0, count, 5000):
            batch = []
            for i in range(start, min(count, start + 5000)):
                self.counter += 1
                n = self.counter
                status = self.rng.choices(names, weights)[0]
                created = now - timedelta(days=self.rng.uniform(*age_days))
                params = {"steps": 5, "step_seconds": 0, "fail_at_step": 0, "seed": n}
                finished = status in ("SUCCEEDED", "FAILED", "CANCELLED")
                batch.append(Run(
                    run_id=f"run_bench_{n:07d}", kind="demo", status=status, trigger=self.rng.choice(["MANUAL", "API", "CRON"]),
                    params=params, params_hash=params_hash(params), seed=n,
                    metrics=_metrics(self.rng) if status == "SUCCEEDED" else {},
                    is_favourite=favourite, created_at=created,
                    started_at=created + timedelta(seconds=1), finished_at=created + timedelta(seconds=30) if finished else None,
                    duration_seconds=29.0 if finished else None, progress=100 if finished else 40,
                    parent_id=parent_ids[i % len(parent_ids)] if parent_ids else None,
                ))
            # Runs carry their own creation dates here; the field stamps "now" otherwise.
            created_field.auto_now_add = False
            try:
                Run.objects.bulk_create(batch)
            finally:
                created_field.auto_now_add = True
            logs, artifacts, tag_links = [], [], []
            for j, run in enumerate(batch):
                logs += [RunLog(run=run, level="INFO", message=f"line {k} of {run.run_id}") for k in range(3)]
                if run.status == "SUCCEEDED":
                    if share_with and j % 10 == 0:
                        path = share_with[(start + j) // 10 % len(share_with)]
                        data = None
                    else:
                        data = json.dumps({"run": run.run_id, "values": [self.rng.random() for _ in range(8)]}).encode()
                        path = artifact_path(hashlib.sha256(data).hexdigest())
                        if files:
                            self.storage.save(path, ContentFile(data))
                    digest = path.rsplit("/", 1)[-1]
                    artifacts.append(RunArtifact(
                        run=run, name="result.json", content_type="application/json", storage="file",
                        path=path, size_bytes=len(data) if data else 200, sha256=digest,
                    ))
                    run.checksum = digest
                if self.rng.random() < 0.33:
                    tag_links.append(Run.tags.through(run_id=run.pk, tag_id=self.rng.choice(self.tags).pk))
            RunLog.objects.bulk_create(logs)
            RunArtifact.objects.bulk_create(artifacts)
            Run.objects.bulk_update([r for r in batch if r.checksum], ["checksum"])
            Run.tags.through.objects.bulk_create(tag_links)
            made += batch
        return made


def main() -> None:
    args = _parse()
    url = _database_url()
    artifact_root = tempfile.mkdtemp(prefix="runsight-bench-artifacts-")
    os.environ.update(
        DATABASE_URL=url, ARTIFACT_ROOT=artifact_root, ARTIFACT_STORE="file",
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "config.test_settings"),
        LOG_LEVEL="WARNING",
    )
    name = urlsplit(url).path.lstrip("/")
    admin_url = _recreate_database(url)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.files.storage import storages
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.roles import Role
    from runs.models import Run, RunComparison, RunStatus, Tag
    from runs.selectors.cleanup import cleanup_plan
    from runs.selectors.compare import run_compare
    from runs.services.manage import runs_cleanup

    try:
        setup_test_environment()  # the test Client's host is allowed
        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        rng = random.Random(20261121)
        storage = storages["artifacts"]
        tags = [Tag.objects.create(name=f"tag{i:02d}") for i in range(20)]
        loader = Loader(storage, tags, rng)
        base = args.runs - args.cleanup
        protected = 1000
        mixed = [("SUCCEEDED", 85), ("FAILED", 8), ("CANCELLED", 4), ("RUNNING", 2), ("PENDING", 1)]
        recent = loader.runs(base - protected, age_days=(0, 180), statuses=mixed, files=False)
        # Old runs a cleanup must keep: favourites, saved comparisons, parents of recent runs.
        favourites = loader.runs(protected // 2, age_days=(CLEANUP_DAYS + 1, 365), statuses=[("SUCCEEDED", 1)], files=True, favourite=True)
        compared = loader.runs(protected // 4, age_days=(CLEANUP_DAYS + 1, 365), statuses=[("SUCCEEDED", 1)], files=True)
        parents = loader.runs(protected - protected // 2 - protected // 4, age_days=(CLEANUP_DAYS + 1, 365), statuses=[("SUCCEEDED", 1)], files=True)
        for k in range(0, len(compared), 5):
            comparison = RunComparison.objects.create(name=f"bench comparison {k // 5}")
            comparison.runs.set(compared[k : k + 5])
        children = recent[: len(parents)]
        for child, parent in zip(children, parents):
            child.parent = parent
        Run.objects.bulk_update(children, ["parent"])
        shared_paths = [a.path for r in favourites for a in r.artifacts.all()][:200]
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"Loaded {Run.objects.count():,} runs in {time.perf_counter() - t0:.1f} s "
              f"(PostgreSQL {connection.pg_version})")

        user = get_user_model().objects.create_user(username="bench", password="bench-password-1")
        user.groups.set(Group.objects.filter(name=Role.ML_ADMIN))
        client = Client()
        client.force_login(user)
        picked = list(Run.objects.filter(status=RunStatus.SUCCEEDED).order_by("?").values_list("run_id", flat=True)[:4])
        url_compare = "/api/compare/?" + "&".join(f"runs={r}" for r in picked)
        for _ in range(3):
            assert client.get(url_compare).status_code == 200
        compare_times, selector_times = [], []
        for _ in range(args.compare_repeat):
            start = time.perf_counter()
            response = client.get(url_compare)
            compare_times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.content[:300]
            start = time.perf_counter()
            run_compare(user=user, run_ids=picked).as_dict()
            selector_times.append(time.perf_counter() - start)

        plan_times, execute_times, total_times = [], [], []
        for rep in range(args.repeat):
            eligible = loader.runs(
                args.cleanup, age_days=(CLEANUP_DAYS + 1, 365),
                statuses=[("SUCCEEDED", 90), ("FAILED", 7), ("CANCELLED", 3)], files=True, share_with=shared_paths,
            )
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            total_before = Run.objects.count()
            files_before = sum(len(files) for _d, _s, files in os.walk(artifact_root))
            start = time.perf_counter()
            plan = cleanup_plan(days=CLEANUP_DAYS)
            planned = time.perf_counter()
            deleted = runs_cleanup(days=CLEANUP_DAYS, run_ids=plan.run_ids, actor=None)
            done = time.perf_counter()
            files_after = sum(len(files) for _d, _s, files in os.walk(artifact_root))
            assert set(deleted) == set(plan.run_ids) == {r.run_id for r in eligible}, "cleanup deleted another set"
            assert len(plan.kept) == protected, f"kept {len(plan.kept)}, expected {protected}"
            assert Run.objects.count() == total_before - args.cleanup
            assert all(storage.exists(p) for p in shared_paths), "a shared file was deleted"
            plan_times.append(planned - start)
            execute_times.append(done - planned)
            total_times.append(done - start)
            print(f"  cleanup {rep + 1}: {total_before:,} runs, plan {planned - start:.2f} s, "
                  f"execute {done - planned:.2f} s, {len(deleted):,} deleted, {len(plan.kept):,} kept, "
                  f"{files_before - files_after:,} files removed")

        def ms(values: list[float]) -> str:
            return f"median {statistics.median(values) * 1000:.1f} ms, min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f}"

        def s(values: list[float]) -> str:
            return f"median {statistics.median(values):.2f} s, min {min(values):.2f}, max {max(values):.2f}"

        compare_median = statistics.median(compare_times)
        cleanup_median = statistics.median(total_times)
        print(f"compare 4 runs, API ({args.compare_repeat} requests): {ms(compare_times)}")
        print(f"compare 4 runs, selector only: {ms(selector_times)}")
        print(f"cleanup of {args.cleanup:,} among {args.runs:,} runs ({args.repeat} repetitions):")
        print(f"  plan (dry run): {s(plan_times)}")
        print(f"  execute: {s(execute_times)}")
        print(f"  plan + execute: {s(total_times)}")
        print(f"compare ≤ {COMPARE_TARGET_S * 1000:.0f} ms: {'met' if compare_median <= COMPARE_TARGET_S else 'MISSED'}; "
              f"cleanup ≤ {CLEANUP_TARGET_S:.0f} s: {'met' if cleanup_median <= CLEANUP_TARGET_S else 'MISSED'}")
    finally:
        connections.close_all()
        if not args.keep_db:
            _drop_database(admin_url, name)
        import shutil

        shutil.rmtree(artifact_root, ignore_errors=True)


if __name__ == "__main__":
    main()
