"""Benchmark of run export and import on a run of 1,000,000 positions.

Usage (from the repository root; a temporary SQLite database and artifact store
are created and removed):

    .venv/bin/python bench/bench_exchange.py                    # 1,000,000 positions, 3 repetitions
    .venv/bin/python bench/bench_exchange.py --positions 200000 --repeat 5
    .venv/bin/python bench/bench_exchange.py --frame random     # a Parquet file that compresses badly
    .venv/bin/python bench/bench_exchange.py --parts 4          # positions in 4 part files, merged on export

Setup (not timed): migrate a fresh database, launch a demo run through
``run_create``, claim it, store a Parquet artifact of ``--positions`` positions
(``simulations.engine.generate_portfolio`` written with
``frame_to_parquet_bytes``; with ``--frame random``, or if the engine is not
there, a frame of random values that Parquet cannot compress much, for a larger
file), in one file or in ``--parts`` part files, and end it with
``run_finish``, which computes its checksum.

Each repetition of each step runs in a fresh Python process pinned to one CPU,
so that its peak resident set size is its own. The figure reported for memory
is the growth of the peak during the step above the process's resident size
just before it (Linux: the kernel's high-water mark VmHWM, reset through
/proc/self/clear_refs before the step; elsewhere ``resource.getrusage``'s
ru_maxrss, which then also counts the setup's peak). Steps:

* export parquet: ``run_export(fmt="parquet")`` streamed to a file (the file
  as stored, or with ``--parts`` the parts merged row group by row group);
* export json: ``run_export(fmt="json")`` streamed to a file;
* export bundle: ``run_export(fmt="bundle")`` streamed to a file;
* import bundle / import json: the run is deleted inside a transaction, then
  ``run_import`` of the exported file restores it (same UUID, into an empty
  artifact store, so the result file is really written) and its checksum is
  compared with the original; the transaction is rolled back afterwards.

Targets: export to Parquet ≤ 2 s; JSON export streamed with a peak memory
growth ≤ 300 MB; import back ≤ 10 s.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

TARGETS = {"export_parquet_s": 2.0, "export_json_peak_mb": 300.0, "import_s": 10.0}
STEPS = ("export_parquet", "export_json", "export_bundle", "import_bundle", "import_json")
EXPORT_OF = {"import_bundle": "bundle", "import_json": "json"}
EXT = {"parquet": ".parquet", "json": ".json", "bundle": ".zip"}


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _status_bytes(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak() -> int:
    """Reset the kernel's high-water mark (Linux) and return the current RSS.

    Setup (Django, pandas imports) may have peaked above where the process now
    sits; without the reset, a step that stays below that old peak would show
    no growth at all.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return _peak_rss_bytes()
    return _status_bytes("VmRSS") or _peak_rss_bytes()


def _peak_since_reset() -> int:
    return _status_bytes("VmHWM") or _peak_rss_bytes()


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _environment(workdir: Path, artifacts: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "ARTIFACT_STORE": "file",
        "ARTIFACT_ROOT": str(artifacts),
        "LOG_LEVEL": "WARNING",
    }


def _django() -> None:
    import django

    django.setup()


def _random_frame(positions: int, seed: int):
    """Positions-like rows of random values: Parquet cannot compress them much."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "position_id": [f"P{i:09d}" for i in range(positions)],
        "product": rng.choice(["loan", "bond", "deposit", "mortgage", "derivative"], positions),
        "notional": rng.uniform(1e3, 1e7, positions),
        "ead": rng.uniform(1e3, 1e7, positions),
        "rwa": rng.uniform(1e3, 1e7, positions),
        "pd": rng.uniform(0, 0.2, positions),
        "lgd": rng.uniform(0, 1, positions),
        "maturity_days": rng.integers(1, 10_000, positions),
        "rating": rng.integers(1, 20, positions),
    })


def _to_parquet(frame) -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink, compression="zstd")
    return sink.getvalue()


def _positions(positions: int, seed: int, frame_kind: str):
    """The positions frame, how it was made, and the function that writes it as Parquet."""
    if frame_kind == "engine":
        try:
            from simulations.engine import frame_to_parquet_bytes, generate_portfolio
        except ImportError:
            pass
        else:
            return generate_portfolio(seed, positions), "simulations.engine.generate_portfolio", frame_to_parquet_bytes
    return _random_frame(positions, seed), "random numpy frame, 9 columns", _to_parquet


# ---------------------------------------------------------------------------
# Setup (parent process)
# ---------------------------------------------------------------------------
def setup(positions: int, seed: int, frame_kind: str, parts: int) -> dict:
    _django()
    from django.core.management import call_command

    from runs.artifacts import artifact_write
    from runs.services.lifecycle import run_create, run_finish, run_start

    call_command("migrate", verbosity=0, interactive=False)
    frame, source, to_parquet = _positions(positions, seed, frame_kind)
    run = run_create(kind="demo", params={"steps": 1, "step_seconds": 0, "fail_at_step": 0, "seed": seed}, enqueue=False)
    run = run_start(run_pk=run.pk, worker="bench")
    size = 0
    bounds = [positions * i // parts for i in range(parts + 1)]
    for number in range(1, parts + 1):
        data = to_parquet(frame.iloc[bounds[number - 1]: bounds[number]])
        name = "positions.parquet" if parts == 1 else f"positions-{number:05d}-of-{parts:05d}.parquet"
        artifact_write(run=run, name=name, data=data, content_type="application/vnd.apache.parquet")
        size += len(data)
    run = run_finish(run=run)
    return {"run_id": run.run_id, "checksum": run.checksum, "parquet_bytes": size, "source": source}


# ---------------------------------------------------------------------------
# One measurement (child process)
# ---------------------------------------------------------------------------
def measure(step: str, run_id: str, out_dir: Path, import_root: str) -> dict:
    _pin_to_one_core()
    _django()
    from django.conf import settings
    from django.db import transaction

    from runs.models import Run
    from runs.services.exchange import run_export, run_import

    run = Run.objects.get(run_id=run_id)
    checksum = run.checksum
    baseline = _reset_peak()
    result: dict = {"step": step}
    if step.startswith("export_"):
        fmt = step.removeprefix("export_")
        target = out_dir / f"{run_id}{EXT[fmt]}"
        start = time.perf_counter()
        written = 0
        with open(target, "wb") as fh:
            for chunk in run_export(run=run, fmt=fmt).chunks:
                fh.write(chunk)
                written += len(chunk)
        result.update(seconds=time.perf_counter() - start, bytes=written)
    else:
        source = out_dir / f"{run_id}{EXT[EXPORT_OF[step]]}"
        # An empty store for the import, so the result file is really written.
        settings.STORAGES["artifacts"]["OPTIONS"]["location"] = import_root
        from django.core.files.storage import storages

        storages._storages.pop("artifacts", None)

        class Rollback(Exception):
            pass

        try:
            with transaction.atomic():
                run.delete()
                start = time.perf_counter()
                with open(source, "rb") as fh:
                    imported = run_import(file=fh, actor=None)
                seconds = time.perf_counter() - start
                same = imported.run.run_id == run_id and imported.run.checksum == checksum
                result.update(seconds=seconds, bytes=source.stat().st_size, identical_checksum=same)
                raise Rollback
        except Rollback:
            pass
    result["peak_growth_bytes"] = max(0, _peak_since_reset() - baseline)
    result["rss_before_bytes"] = baseline
    return result


def _child(step: str, run_id: str, out_dir: Path, env: dict[str, str]) -> dict:
    import_root = tempfile.mkdtemp(prefix="runsight-bench-import-")
    cmd = [sys.executable, __file__, "--measure", step, "--run-id", run_id, "--out-dir", str(out_dir), "--import-root", import_root]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    finally:
        shutil.rmtree(import_root, ignore_errors=True)
    if done.returncode != 0:
        sys.exit(f"{step} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--frame", choices=("engine", "random"), default="engine",
        help="engine: generate_portfolio's positions (compress well); random: random values (a larger file).",
    )
    parser.add_argument(
        "--parts", type=int, default=1,
        help="Store the positions in this many part files (the Parquet export then merges them into one file).",
    )
    parser.add_argument("--measure", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    parser.add_argument("--import-root", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        print(json.dumps(measure(args.measure, args.run_id, Path(args.out_dir), args.import_root)))
        return 0
    if args.repeat < 3 or args.parts < 1:
        parser.error("--repeat must be at least 3 (medians) and --parts at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="runsight-bench-exchange-"))
    env = _environment(workdir, workdir / "artifacts")
    os.environ.update(env)
    try:
        info = setup(args.positions, args.seed, args.frame, args.parts)
        results: dict[str, list[dict]] = {step: [] for step in STEPS}
        for _ in range(args.repeat):
            for step in STEPS:  # exports first: the imports read what they wrote
                results[step].append(_child(step, info["run_id"], workdir, env))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    layout = "one file" if args.parts == 1 else f"{args.parts} part files"
    print(f"positions: {args.positions:,} ({info['source']}), Parquet result {info['parquet_bytes'] / 1024**2:,.1f} MiB "
          f"in {layout}, "
          f"repetitions: {args.repeat}, one process per measurement, pinned to one CPU")
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"pyarrow {pa.__version__}, {platform.machine()}, SQLite")
    summary = {}
    for step in STEPS:
        times = [r["seconds"] for r in results[step]]
        growth = statistics.median(r["peak_growth_bytes"] for r in results[step]) / 1024**2
        before = statistics.median(r["rss_before_bytes"] for r in results[step]) / 1024**2
        size = results[step][0]["bytes"] / 1024**2
        summary[step] = (statistics.median(times), growth)
        extra = ""
        if step.startswith("import"):
            extra = "  checksum identical: " + ("yes" if all(r["identical_checksum"] for r in results[step]) else "NO")
        print(f"{step:>15}: median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}); "
              f"file {size:,.1f} MiB; peak memory growth {growth:,.0f} MiB (above {before:,.0f} MiB resident){extra}")
    met = (
        summary["export_parquet"][0] <= TARGETS["export_parquet_s"]
        and summary["export_json"][1] <= TARGETS["export_json_peak_mb"]
        and summary["import_bundle"][0] <= TARGETS["import_s"]
    )
    print(f"targets: Parquet export ≤ 2 s, JSON export peak growth ≤ 300 MB, bundle import ≤ 10 s: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
