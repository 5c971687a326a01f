"""FinOps batch ingest: N FOCUS rows over the four domains loaded and every aggregate refreshed, on PostgreSQL.

Creates (and afterwards drops) a database of its own, writes the FOCUS CSV files
once (not timed: finops_generate_sources' generator), loads the catalogue, then
runs the `finops_batch` kind in this process (run_execute, as `finops_ingest
--in-process` does: reading, checking, allocating, COPY, aggregates) `--repeat`
times. The first run loads an empty table; the next ones replace what the
previous one loaded (DELETE then COPY in each block's transaction).

    .venv/bin/python bench/bench_finops_ingest.py --rows 1000000 --repeat 3
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="FOCUS rows over all domains and months")
    parser.add_argument("--months", type=int, default=2, help="months ingested (the batch's periods)")
    parser.add_argument("--applications", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", choices=["csv", "csv.gz", "parquet"], default="csv")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the database and files afterwards")
    args = parser.parse_args()

    import psycopg

    dbname = "runsight_bench_finops"
    var = Path("/tmp/runsight-bench-finops")
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {dbname}")
    shutil.rmtree(var, ignore_errors=True)
    os.environ.update(
        DATABASE_URL=f"{args.pg}/{dbname}", DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings",
        RUNSIGHT_VAR_DIR=str(var), RUNSIGHT_ENV_FILE="", LOG_LEVEL="WARNING",
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        run_bench(args, var)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
            shutil.rmtree(var, ignore_errors=True)


def run_bench(args, var: Path) -> None:
    from django.conf import settings

    from finops_admin.generate import generate
    from finops_admin.models import AggregateRefresh, BatchBlock, CostReading
    from finops_admin.services.catalogue import catalogue_load
    from runs.models import Run, RunStatus
    from runs.services import run_create, run_execute

    source = Path(settings.FINOPS_SOURCE_DIR)
    last = date(2026, 11, 1)
    t0 = time.perf_counter()
    result = generate(out=source, months=args.months, applications=args.applications,
                      rows_per_month=args.rows // args.months, seed=1, last_month=last, fmt=args.format)
    size = sum(p.stat().st_size for p in result["files"])
    print(f"generated {result['rows']:,} rows in {len(result['files'])} files ({size / 2**20:.0f} MiB, "
          f"{args.format}) in {time.perf_counter() - t0:.1f} s (not timed below)")
    catalogue_load(path=source / "catalogue.csv")
    periods = ",".join(result["periods"])

    rows = []
    for i in range(args.repeat):
        run = run_create(kind="finops_batch", params={"periods": periods}, enqueue=False)
        t = time.perf_counter()
        run_execute(run_pk=run.pk, worker="bench")
        wall = time.perf_counter() - t
        run = Run.objects.get(pk=run.pk)
        assert run.status == RunStatus.SUCCEEDED, run.error_message
        blocks = list(BatchBlock.objects.filter(batch__run=run))
        refreshes = list(AggregateRefresh.objects.filter(batch__run=run))
        inserted = sum(b.rows_inserted for b in blocks)
        deleted = sum(b.rows_deleted for b in blocks)
        row = {
            # Blocks overlap on PostgreSQL (the next one reads while the previous one writes): the
            # load is from the first block's start to the last one's end.
            "wall": wall,
            "blocks": (max(b.finished_at for b in blocks) - min(b.started_at for b in blocks)).total_seconds(),
            "aggregates": sum(r.duration_seconds for r in refreshes), "inserted": inserted, "deleted": deleted,
        }
        rows.append(row)
        print(f"run {i + 1}: {wall:.2f} s wall (blocks, first start to last end, {row['blocks']:.2f} s, aggregates {row['aggregates']:.2f} s), "
              f"{inserted:,} inserted, {deleted:,} replaced, {inserted / wall:,.0f} rows/s; "
              + ", ".join(f"{r.view.replace('finops_agg_', '')} {r.duration_seconds:.2f} s" for r in refreshes))
    assert CostReading.objects.count() == result["rows"]
    floor = copy_floor(result["rows"])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    replace = rows[1:] or rows
    print(f"\nfirst load (empty table): {rows[0]['wall']:.2f} s")
    print(f"replace (median of {len(replace)}): {statistics.median(r['wall'] for r in replace):.2f} s "
          f"(min {min(r['wall'] for r in replace):.2f}, max {max(r['wall'] for r in replace):.2f}); "
          f"aggregates median {statistics.median(r['aggregates'] for r in replace):.2f} s")
    print(f"reference, same machine, same moment: a bare COPY of the same {result['rows']:,} rows into a copy "
          f"of the readings table (same indexes) takes {floor:.2f} s ({result['rows'] / floor:,.0f} rows/s)")
    print(f"peak RSS of the process: {rss:.0f} MiB")


def copy_floor(rows: int) -> float:
    """The database's own COPY time for the loaded rows: the floor under any loader."""
    import tempfile

    from django.db import connection

    from finops_admin.services.blocks import COPY_COLUMNS

    columns = ", ".join(COPY_COLUMNS)
    with tempfile.TemporaryFile() as spool, connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY (SELECT {columns} FROM finops_admin_costreading) TO STDOUT (FORMAT csv)") as copy:
            for data in copy:
                spool.write(data)
        cursor.execute("CREATE TABLE bench_copy_floor (LIKE finops_admin_costreading INCLUDING ALL)")
        spool.seek(0)
        t = time.perf_counter()
        with connection.cursor() as c2, c2.cursor.copy(f"COPY bench_copy_floor ({columns}) FROM STDIN (FORMAT csv)") as copy:
            while chunk := spool.read(4 << 20):
                copy.write(chunk)
        elapsed = time.perf_counter() - t
        cursor.execute("DROP TABLE bench_copy_floor")
    return elapsed


if __name__ == "__main__":
    main()
