"""Benchmark of the simulation engine: generate, compute every metric, serialise.

Usage (from the repository root):

    python bench/bench_engine.py                     # 1,000,000 positions, 5 repetitions
    python bench/bench_engine.py --positions 200000 --repeat 3
    python bench/bench_engine.py --positions 10000000 --repeat 1 --streamed   # block by block, as a run does

Each repetition times, on one core:

* generate: ``generate_portfolio`` with off-balance items and derivatives;
* compute: ``compute_metrics`` (validation, RWA, LCR, NSFR, capital, leverage,
  explain table and aggregates);
* parquet: ``frame_to_parquet_bytes`` of the positions and the explain table;
* end to end: the three above in sequence, as a simulation run does them.

With ``--streamed`` the book is drawn, weighed and serialised one block of
``BLOCK_ROWS`` rows at a time (``generate_portfolio(..., rows=)``,
``weigh_block``, ``frame_to_parquet_bytes`` of the block), the blocks' sums
added and the aggregates computed from them (``sum_blocks``,
``metrics_from_sums``): what a simulation run does, without the database.

It prints the median of each, the peak resident set size of the process
(``resource.getrusage``), and whether the targets (end to end ≤ 3 s, peak
memory ≤ 2 GB) hold.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

# One core: no helper threads in the numeric libraries.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

from simulations.engine import (  # noqa: E402
    SimulationConfig,
    compute_metrics,
    frame_to_parquet_bytes,
    generate_portfolio,
)
from simulations.engine.metrics import BLOCK_ROWS, metrics_from_sums, sum_blocks, weigh_block  # noqa: E402

TARGET_SECONDS = 3.0
TARGET_PEAK_BYTES = 2 * 1024**3


def _peak_rss_bytes() -> int:
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _pin_to_one_core() -> str:
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to CPU {core}"
    return "not pinned (no sched_setaffinity)"


def run_once(seed: int, positions: int, config: SimulationConfig) -> dict[str, float]:
    start = time.perf_counter()
    frame = generate_portfolio(seed, positions, config)
    generated = time.perf_counter()
    result = compute_metrics(frame, config.capital_stack())
    computed = time.perf_counter()
    frame_to_parquet_bytes(frame)
    frame_to_parquet_bytes(result.explain)
    written = time.perf_counter()
    return {
        "generate": generated - start,
        "compute": computed - generated,
        "parquet": written - computed,
        "end_to_end": written - start,
    }


def run_streamed(seed: int, positions: int, config: SimulationConfig) -> dict[str, float]:
    times = {"generate": 0.0, "compute": 0.0, "parquet": 0.0}
    blocks = []
    start = time.perf_counter()
    for first in range(0, positions, BLOCK_ROWS):
        t0 = time.perf_counter()
        frame = generate_portfolio(seed, positions, config, rows=(first, min(first + BLOCK_ROWS, positions)))
        t1 = time.perf_counter()
        explain, sums = weigh_block(frame)
        blocks.append(sums)
        t2 = time.perf_counter()
        frame_to_parquet_bytes(frame)
        frame_to_parquet_bytes(explain)
        del frame, explain
        t3 = time.perf_counter()
        times["generate"] += t1 - t0
        times["compute"] += t2 - t1
        times["parquet"] += t3 - t2
    t0 = time.perf_counter()
    metrics_from_sums(sum_blocks(blocks), config.capital_stack())
    times["compute"] += time.perf_counter() - t0
    times["end_to_end"] = time.perf_counter() - start
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--streamed", action="store_true", help="block by block, as a simulation run does")
    args = parser.parse_args()
    if args.positions < 100 or args.repeat < 1:
        parser.error("--positions must be at least 100 and --repeat at least 1")

    pinning = _pin_to_one_core()
    config = SimulationConfig(include_off_balance=True, include_derivatives=True)
    once = run_streamed if args.streamed else run_once
    runs = [once(args.seed + i, args.positions, config) for i in range(args.repeat)]
    peak = _peak_rss_bytes()

    print(f"positions: {args.positions:,}, repetitions: {args.repeat}, {pinning}"
          + (f", streamed in blocks of {BLOCK_ROWS:,}" if args.streamed else ", in memory"))
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"pyarrow {pa.__version__}, {platform.machine()}")
    for step in ("generate", "compute", "parquet", "end_to_end"):
        times = [run[step] for run in runs]
        print(f"{step:>11}: median {statistics.median(times):.3f} s  (min {min(times):.3f}, max {max(times):.3f})")
    print(f"  peak RSS: {peak / 1024**2:,.0f} MiB")
    end_to_end = statistics.median(run["end_to_end"] for run in runs)
    meets = end_to_end <= TARGET_SECONDS and peak <= TARGET_PEAK_BYTES
    print(f"    target: end to end ≤ {TARGET_SECONDS:g} s and peak ≤ 2 GiB: {'met' if meets else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
