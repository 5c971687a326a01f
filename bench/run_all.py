"""Run every benchmark of bench/ one after the other with its default arguments.

Each script prints its own figures; docs/benchmarks.md keeps the measured ones.
PostgreSQL-backed benchmarks need it on 127.0.0.1:5432 (trust auth).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failures = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n##### {script.name}", flush=True)
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent)
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
