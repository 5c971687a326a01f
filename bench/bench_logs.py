"""The logs viewer on a large log file: time per page.

    .venv/bin/python bench/bench_logs.py --size-mb 1024 --pages 20

Writes a JSON-lines log of the given size (lines as config/logging.py writes
them, one second apart, 1 in 1,000 an ERROR) to a temporary LOG_DIR, then times
accounts.console.logreader: the newest page, paging back through the following
pages by cursor, a page starting in the middle of the file, a level filter that
matches rarely (bounded by LOGS_SCAN_BYTES), a time range ending near the start
of the file (found by bisection), a text search, and the per-hour chart window.
Each operation runs `--repeat` times; the median and the maximum are printed.
The file stays in the page cache once written (a warm read, as on a server
whose log is being written).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
parser = argparse.ArgumentParser()
parser.add_argument("--size-mb", type=int, default=1024)
parser.add_argument("--pages", type=int, default=20)
parser.add_argument("--repeat", type=int, default=5)
parser.add_argument("--keep", action="store_true", help="Keep the generated file.")
args = parser.parse_args()

folder = Path(tempfile.mkdtemp(prefix="runsight-bench-logs-"))
os.environ["LOG_DIR"] = str(folder)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-0123456789abcdef")
import django  # noqa: E402

django.setup()
from accounts.console import logreader  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def generate(path: Path, size: int) -> int:
    template = ('{"time": "%s", "level": "%s", "logger": "runs.services.lifecycle", "process": "worker", '
                '"pid": %d, "message": "run %s step %d of 100: computed %d positions in %d ms", '
                '"run_id": "%s", "request_id": null}\n')
    lines = 0
    written = 0
    with open(path, "w", buffering=8 * 1024 * 1024) as out:
        while written < size:
            block = []
            for _ in range(10_000):
                when = (T0 + timedelta(seconds=lines)).strftime("%Y-%m-%dT%H:%M:%S+0000")
                level = "ERROR" if lines % 1000 == 0 else "INFO"
                run = f"SIM-20260101-{lines // 100:06d}"
                block.append(template % (when, level, 4000 + lines % 4, run, lines % 100, lines * 7 % 100000, lines % 900, run))
                lines += 1
            text = "".join(block)
            out.write(text)
            written += len(text)
    return lines


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times), result


path = folder / "bench.log"
started = time.perf_counter()
n_lines = generate(path, args.size_mb * 1024 * 1024)
size = path.stat().st_size
print(f"generated {size / 2**20:.0f} MiB, {n_lines:,} lines in {time.perf_counter() - started:.1f} s ({path})")
Q = logreader.LogQuery

rows = []


def row(label, fn):
    median, worst, result = timed(fn, args.repeat)
    rows.append((label, median, worst))
    print(f"{label:58} median {median * 1000:8.1f} ms   max {worst * 1000:8.1f} ms")
    return result


first = row("newest page (100 lines)", lambda: logreader.read_page(source="bench.log", query=Q()))


def walk():
    cursor, count = first.next_cursor, 0
    for _ in range(args.pages):
        page = logreader.read_page(source="bench.log", query=Q(), cursor=cursor)
        cursor, count = page.next_cursor, count + len(page.lines)
    return count


median, worst, _ = timed(walk, args.repeat)
rows.append((f"{args.pages} older pages by cursor, per page", median / args.pages, worst / args.pages))
print(f"{rows[-1][0]:58} median {rows[-1][1] * 1000:8.1f} ms   max {rows[-1][2] * 1000:8.1f} ms")
stat = os.stat(path)
middle = logreader._encode_cursor(size // 2, stat)
row("a page from the middle of the file (cursor)", lambda: logreader.read_page(source="bench.log", query=Q(), cursor=middle))
row("level=ERROR (1 line in 1,000), 100 lines", lambda: logreader.read_page(source="bench.log", query=Q(levels=frozenset({"ERROR"}))))
row("text search matching nothing (stops at LOGS_SCAN_BYTES)", lambda: logreader.read_page(source="bench.log", query=Q(text="no such text")))
until = T0 + timedelta(seconds=n_lines // 10)
row("time range ending at 10 % of the file (bisection)", lambda: logreader.read_page(
    source="bench.log", query=Q(since=until - timedelta(hours=1), until=until)))
row("per-hour chart over LOGS_CHART_BYTES", lambda: logreader.level_counts_per_hour(source="bench.log"))
print(f"slowest page: {max(r[2] for r in rows if 'chart' not in r[0]) * 1000:.1f} ms")
if not args.keep:
    shutil.rmtree(folder)
