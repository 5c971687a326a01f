"""The field-count check of CSV books, against the whole read it precedes.

    .venv/bin/python bench/bench_csv_field_check.py                 # 200,000 positions, 3 repetitions
    .venv/bin/python bench/bench_csv_field_check.py --positions 1000000 --repeat 5

Draws a book with the engine's generator, writes it as CSV in memory (not timed),
then times `read_positions_in_batches` (what the command, the compute page and the
API call) and `_ragged_row` alone (the check that refuses a row with more or fewer
fields than the header). Prints the medians of wall and CPU time.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulations import user_files  # noqa: E402
from simulations.engine import generate_portfolio  # noqa: E402


def timed(step: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # pandas' mixed-type notice on sparse code columns
    data = generate_portfolio(seed=1, n_positions=args.positions).to_csv(index=False).encode()
    read = [timed(lambda: user_files.read_positions_in_batches(io.BytesIO(data), "csv")) for _ in range(args.repeat)]
    check = [timed(lambda: user_files._ragged_row(io.BytesIO(data))) for _ in range(args.repeat)]

    def median(rows: list[tuple[float, float]], i: int) -> float:
        return statistics.median(r[i] for r in rows)

    print(f"{args.positions:,} positions, {len(data):,} bytes of CSV, median of {args.repeat}")
    print(f"read and validate, check included: wall {median(read, 0):.2f} s, CPU {median(read, 1):.2f} s")
    print(f"field-count check alone:           wall {median(check, 0):.2f} s, CPU {median(check, 1):.2f} s")


if __name__ == "__main__":
    main()
