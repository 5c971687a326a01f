"""Datasets: upload of a 1M-row CSV, a filtered sorted preview page of a 10M-row dataset, export of
1M filtered rows to Parquet. Targets: ≤ 10 s, p95 ≤ 300 ms, ≤ 2 s (docs/datasets.md).

The upload is the service's path without its one database row: the CSV read in
batches into Parquet with statistics (datasets.ingest), its SHA-256, and its copy
into a content-addressed folder. The preview and export go through
datasets.query (DuckDB) on a 10M-row Parquet file written with the row groups an
upload writes, then on its preview index (datasets.query.build_index, timed);
the preview is also run with pyarrow.dataset (filter pushed down, then sort and
slice in Arrow; 10 requests) for comparison. CPU times (every thread of the
process) are printed beside wall times, for a host that is not quiet.

    .venv/bin/python bench/bench_datasets.py               # 1M-row upload, 10M-row preview and export
    .venv/bin/python bench/bench_datasets.py --preview-rows 2000000 --repeat 20
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datasets.ingest import ROW_GROUP_ROWS, ingest  # noqa: E402
from datasets.query import DatasetQuery, Filter, View, build_index, parquet_chunks  # noqa: E402

REGIONS = np.array(["north", "south", "east", "west", "centre", "alps", "coast", "islands", "plains", "hills"])


def table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "id": np.arange(1, rows + 1, dtype=np.int64),
        "region": pa.array(REGIONS[rng.integers(0, len(REGIONS), rows)]),
        "product": pa.array(np.char.add("p", rng.integers(0, 500, rows).astype(str))),
        "amount": np.round(rng.lognormal(6, 1.2, rows), 2),
        "quantity": rng.integers(1, 1000, rows),
        "rate": rng.random(rows),
        "flag": rng.random(rows) < 0.3,
        "day": pa.array(np.datetime64("2020-01-01") + rng.integers(0, 2000, rows).astype("timedelta64[D]")),
    })


def bench_upload(folder: Path, rows: int) -> dict[str, float]:
    csv_path = folder / "upload.csv"
    pa_csv.write_csv(table(rows, 1), csv_path)
    size = csv_path.stat().st_size
    store = folder / "store"
    store.mkdir()
    timings, cpu_times = [], []
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        with open(csv_path, "rb") as source, tempfile.NamedTemporaryFile(dir=folder) as sink:
            result = ingest(source, sink, filename="upload.csv")
            sink.flush()
            sink.seek(0)
            digest = hashlib.sha256()
            for chunk in iter(lambda: sink.read(1024 * 1024), b""):
                digest.update(chunk)
            sink.seek(0)
            with open(store / digest.hexdigest(), "wb") as out:
                shutil.copyfileobj(sink, out, 1024 * 1024)
        timings.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu)
        assert result.rows == rows
    return {"csv_mib": size / 2**20, "median_s": statistics.median(timings), "max_s": max(timings),
            "cpu_s": statistics.median(cpu_times)}


def preview_views(total_rows: int, repeat: int) -> list[View]:
    rng = np.random.default_rng(7)
    views = []
    for i in range(repeat):
        region = str(REGIONS[i % len(REGIONS)])
        start = int(rng.integers(0, 5_000)) if i % 2 else 0
        views.append(View(filters=(Filter("region", "eq", region), Filter("amount", "gt", "500")),
                          sort="amount", descending=bool(i % 3), start=start, limit=50))
    return views


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def bench_preview(path: Path, columns: list[dict], rows: int, repeat: int, index: str | None = None,
                  with_arrow: bool = True) -> dict[str, float]:
    """Each page counts its matching rows too (the first page of new filters; later pages reuse the count)."""
    duck, arrow, duck_cpu = [], [], []
    views = preview_views(rows, repeat)
    for i, view in enumerate(views):
        started, cpu = time.perf_counter(), time.process_time()
        with DatasetQuery(str(path), columns, index=index) as query:  # as the page does: this thread's database
            page = query.page(view)
        duck.append(time.perf_counter() - started)
        duck_cpu.append(time.process_time() - cpu)
        assert len(page.rows) == 50 and page.total > 0
        if not with_arrow or i >= 10:
            continue
        started = time.perf_counter()
        data = ds.dataset(str(path), format="parquet")
        f = view.filters
        expr = (ds.field("region") == f[0].value) & (ds.field("amount") > float(f[1].value))
        filtered = data.to_table(filter=expr)
        order = pc.sort_indices(filtered, sort_keys=[("amount", "descending" if view.descending else "ascending")])
        filtered.take(order[view.start: view.start + view.limit])
        arrow.append(time.perf_counter() - started)
    return {"duckdb_p50_ms": 1000 * statistics.median(duck), "duckdb_p95_ms": 1000 * p95(duck),
            "duckdb_cpu_p50_ms": 1000 * statistics.median(duck_cpu), "duckdb_cpu_p95_ms": 1000 * p95(duck_cpu),
            "pyarrow_p50_ms": 1000 * statistics.median(arrow) if arrow else 0.0,
            "pyarrow_p95_ms": 1000 * p95(arrow) if arrow else 0.0}


def bench_export(path: Path, columns: list[dict]) -> dict[str, float]:
    timings, sizes, matched, cpu_times = [], [], 0, []
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        with DatasetQuery(str(path), columns) as query:
            view = View(filters=(Filter("region", "eq", "north"),))
            size = sum(len(chunk) for chunk in parquet_chunks(query.batches(view), [c["name"] for c in columns]))
            matched = query.count(view)
        timings.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu)
        sizes.append(size)
    return {"rows": matched, "median_s": statistics.median(timings), "max_s": max(timings), "mib": sizes[0] / 2**20,
            "cpu_s": statistics.median(cpu_times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upload-rows", type=int, default=1_000_000)
    parser.add_argument("--preview-rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-datasets-"))
    try:
        print(f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f} (CPU times count every thread of this process)")
        upload = bench_upload(folder, args.upload_rows)
        print(f"upload {args.upload_rows:,}-row CSV ({upload['csv_mib']:.0f} MiB): median {upload['median_s']:.2f} s, "
              f"max {upload['max_s']:.2f} s, CPU {upload['cpu_s']:.2f} s (target ≤ 10 s)")
        big = folder / "big.parquet"
        data = table(args.preview_rows, 2)
        pq.write_table(data, big, row_group_size=ROW_GROUP_ROWS, compression="snappy")
        columns = [{"name": n, "type": str(data.schema.field(n).type)} for n in data.schema.names]
        del data
        preview = bench_preview(big, columns, args.preview_rows, args.repeat)
        print(f"preview of {args.preview_rows:,} rows (2 filters, sorted, page of 50, {args.repeat} requests): "
              f"DuckDB on the Parquet file p50 {preview['duckdb_p50_ms']:.0f} ms, p95 {preview['duckdb_p95_ms']:.0f} ms "
              f"(CPU p50 {preview['duckdb_cpu_p50_ms']:.0f} ms, p95 {preview['duckdb_cpu_p95_ms']:.0f} ms); "
              f"pyarrow.dataset (10 requests) p50 {preview['pyarrow_p50_ms']:.0f} ms, p95 {preview['pyarrow_p95_ms']:.0f} ms")
        index = str(folder / "big.duckdb")
        started = time.perf_counter()
        build_index(str(big), index)
        print(f"preview index built in {time.perf_counter() - started:.1f} s")
        indexed = bench_preview(big, columns, args.preview_rows, args.repeat, index=index, with_arrow=False)
        print(f"preview with the index: p50 {indexed['duckdb_p50_ms']:.0f} ms, p95 {indexed['duckdb_p95_ms']:.0f} ms "
              f"(CPU p50 {indexed['duckdb_cpu_p50_ms']:.0f} ms, p95 {indexed['duckdb_cpu_p95_ms']:.0f} ms) "
              "(target p95 ≤ 300 ms)")
        export = bench_export(big, columns)
        print(f"export of {export['rows']:,} filtered rows to Parquet ({export['mib']:.0f} MiB): median "
              f"{export['median_s']:.2f} s, max {export['max_s']:.2f} s, CPU {export['cpu_s']:.2f} s (target ≤ 2 s)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
