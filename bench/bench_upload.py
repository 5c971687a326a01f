"""Peak memory of the web process while it takes a large positions upload.

Starts the web process (`manage.py runserver --noreload --nothreading`, one
process, so its peak resident set size is the request's) on a fresh var dir and
database, signs a viewer in with an API key, POSTs a positions CSV of --size-mib
to /api/simulations/compute/ with curl, and prints the web process's resident
set size before the request and its peak (VmHWM) after it, the answer's status
and the time taken.

    .venv/bin/python bench/bench_upload.py                       # this tree, 128 MiB
    .venv/bin/python bench/bench_upload.py --source /tmp/before  # another checkout (e.g. `git archive REV`)
    .venv/bin/python bench/bench_upload.py --bad-last-row        # the same file with its last row broken (400)

Linux only (/proc). Everything it starts is stopped at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_csv(path: Path, size_mib: int, bad_last_row: bool) -> int:
    """A valid positions CSV of about `size_mib` MiB: a generated book repeated with fresh ids."""
    from simulations.engine import generate_portfolio

    block = generate_portfolio(seed=11, n_positions=50_000)
    block["position_id"] = block["position_id"].astype(str)
    header = ",".join(block.columns) + "\n"
    body_lines = block.to_csv(index=False, header=False).splitlines()
    target = size_mib * 1024 * 1024
    rows = 0
    with path.open("w") as out:
        out.write(header)
        written = len(header)
        copy = 0
        while written < target:
            for line in body_lines:
                first, rest = line.split(",", 1)
                text = f"{first}-{copy}," + rest + "\n"
                out.write(text)
                written += len(text)
                rows += 1
                if written >= target:
                    break
            copy += 1
        if bad_last_row:
            out.write("broken,not_a_product,-1\n")
            rows += 1
    return rows


def status_kib(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="The checkout to serve (default: this one).")
    parser.add_argument("--size-mib", type=int, default=128)
    parser.add_argument("--port", type=int, default=8104)
    parser.add_argument("--bad-last-row", action="store_true", help="Break the file's last row (a 400 at the end).")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    csv_path = work / "positions.csv"
    rows = make_csv(csv_path, args.size_mib, args.bad_last_row)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DEBUG": "1",
        "RUNSIGHT_VAR_DIR": str(work / "var"),
        "RUNSIGHT_ENV_FILE": "",
        "DATABASE_URL": f"sqlite:///{work}/db.sqlite3",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SIMULATION_UPLOAD_MAX_BYTES": str(512 * 1024 * 1024),
        "PYTHONPATH": str(args.source),
    }
    python = sys.executable
    manage = [python, str(args.source / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=args.source, check=True)
    subprocess.run(
        [*manage, "shell", "-c",
         "from django.contrib.auth.models import Group; from accounts.models import User; "
         "u = User.objects.create_user('bench_viewer', password='x-bench-1234'); "
         "u.groups.set(Group.objects.filter(name='viewer')); "
         "from accounts.services import api_key_create; k, s = api_key_create(owner=u, name='bench'); "
         "open('" + str(work / "key") + "', 'w').write(s)"],
        env=env, cwd=args.source, check=True,
    )
    secret = (work / "key").read_text().strip()
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{args.port}", "--noreload", "--nothreading"],
        env=env, cwd=args.source, stdout=subprocess.DEVNULL, stderr=open(work / "server.log", "w"),
        start_new_session=True,
    )
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/login/", timeout=2)
                break
            except Exception:
                time.sleep(0.5)
        # One small request first, so that imports and first-touch allocations are not counted.
        small = work / "small.csv"
        small.write_text(csv_path.open().read(4000).rsplit("\n", 1)[0] + "\n")
        subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-H", f"Authorization: Api-Key {secret}",
             "-F", f"positions=@{small}", f"http://127.0.0.1:{args.port}/api/simulations/compute/"],
            check=True,
        )
        before = status_kib(server.pid, "VmRSS")
        started = time.perf_counter()
        done = subprocess.run(
            ["curl", "-s", "-o", str(work / "answer"), "-w", "%{http_code}",
             "-H", f"Authorization: Api-Key {secret}",
             "-F", f"positions=@{csv_path}", f"http://127.0.0.1:{args.port}/api/simulations/compute/"],
            capture_output=True, text=True, check=True,
        )
        elapsed = time.perf_counter() - started
        peak = status_kib(server.pid, "VmHWM")
        after = status_kib(server.pid, "VmRSS")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    answer = (work / "answer").read_bytes()[:300].decode(errors="replace")
    shutil.rmtree(work, ignore_errors=True)  # the generated file is hundreds of MiB
    result = {
        "source": str(args.source),
        "file_mib": round(csv_path.stat().st_size / 2**20, 1),
        "rows": rows,
        "status": int(done.stdout),
        "seconds": round(elapsed, 2),
        "rss_before_mib": round(before / 1024),
        "peak_rss_mib": round(peak / 1024),
        "rss_after_mib": round(after / 1024),
        "answer_start": answer if int(done.stdout) != 200 else answer[:80],
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
