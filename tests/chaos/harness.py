"""A whole Runsight stack on services of its own, for fault injection.

The harness starts a PostgreSQL cluster (initdb in a temporary folder, port
55432, fsync off) and a Redis server (port 56379) that nobody else uses, so it
may stop, kill and restart them; migrates a database there; and runs the real
processes with short timings: a gunicorn web server, two ordinary workers
(queue `celery`), the control worker (queue `runs.control`) and beat. Tests
talk to the web server over HTTP like any API client and read the database
with a plain psycopg connection, so what they check is what is stored.

It is also the engine of bench/bench_burst.py. Nothing here is imported by the
product.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import psycopg

ROOT = Path(__file__).resolve().parent.parent.parent
PYTHON = sys.executable

PG_PORT = int(os.environ.get("CHAOS_PG_PORT", "55432"))
REDIS_PORT = int(os.environ.get("CHAOS_REDIS_PORT", "56379"))
WEB_PORT = int(os.environ.get("CHAOS_WEB_PORT", "8102"))
REDIS_DB = 2
DB_NAME = "runsight_chaos"

# Short timings: what production does in minutes happens here in seconds.
TIMINGS: dict[str, float] = {
    "RUN_HEARTBEAT_TIMEOUT": 4,
    "RUN_HEARTBEAT_INTERVAL": 0.5,
    "RUN_REAPER_INTERVAL": 1,
    "RUN_PENDING_RESEND_SECONDS": 3,
    "RUN_PENDING_TIMEOUT": 20,
    "RUN_DB_RETRY_SECONDS": 15,
}
# Scheduling slack on a loaded two-core machine: process wake-ups, a worker's
# broker reconnection back-off, beat's tick.
SLACK = float(os.environ.get("CHAOS_SLACK", "6"))
#: A killed worker's run is FAILED within this many seconds of the kill.
REAP_BOUND = TIMINGS["RUN_HEARTBEAT_TIMEOUT"] + TIMINGS["RUN_REAPER_INTERVAL"] + SLACK
#: A run whose message was lost is taken up again within this many seconds.
RESEND_BOUND = TIMINGS["RUN_PENDING_RESEND_SECONDS"] + TIMINGS["RUN_REAPER_INTERVAL"] + SLACK
#: A run no worker takes is FAILED, saying so, within this many seconds of its launch.
PENDING_BOUND = TIMINGS["RUN_PENDING_TIMEOUT"] + TIMINGS["RUN_REAPER_INTERVAL"] + SLACK

FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
ACTIVE = ("PENDING", "RUNNING")


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        which = shutil.which("initdb")
        if not which:
            raise RuntimeError("no PostgreSQL server binaries (apt-get install postgresql)")
        return Path(which).parent
    return Path(found[-1]).parent


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and the server refuse to run as root: run them as `postgres` then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# ---------------------------------------------------------------------------
# Services the harness owns
# ---------------------------------------------------------------------------
class PgCluster:
    """A throw-away PostgreSQL cluster: initdb, start, stop, restart."""

    def __init__(self, base: Path, port: int = PG_PORT) -> None:
        self.base = base / "pg"
        self.data = self.base / "data"
        self.logfile = self.base / "server.log"
        self.port = port
        self.bin = _pg_bin()

    def _chown(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.base.parent, "postgres", "postgres")
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.base)], check=True)

    def init(self) -> "PgCluster":
        if not _port_free(self.port):
            raise RuntimeError(f"port {self.port} is taken: another chaos cluster still running?")
        self.base.mkdir(parents=True)
        self._chown()
        subprocess.run(
            _as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                          "-E", "UTF8", "--no-sync", "--locale=C"]),
            check=True, capture_output=True, timeout=120,
        )
        return self

    def start(self) -> None:
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-o", opts, "-w",
                          "-t", "60", "start"]),
            check=True, capture_output=True, timeout=90,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"]),
            capture_output=True, timeout=90,
        )

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def dsn(self, dbname: str = DB_NAME) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname} connect_timeout=3"


class RedisServer:
    """A Redis server without persistence: a restart loses every message, as in the field."""

    def __init__(self, base: Path, port: int = REDIS_PORT) -> None:
        self.base = base / "redis"
        self.port = port
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        if not _port_free(self.port) and self.proc is None:
            raise RuntimeError(f"port {self.port} is taken: another chaos Redis still running?")
        self.base.mkdir(parents=True, exist_ok=True)
        log = open(self.base / "redis.log", "a")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.base)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_until(self.ping, 20, what="Redis to answer")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Kill the server (no persistence: what it held is gone)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def command(self, *args: str) -> str:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), "-n", str(REDIS_DB), *args], capture_output=True, text=True, timeout=10
        )
        return result.stdout


# ---------------------------------------------------------------------------
# Product processes
# ---------------------------------------------------------------------------
class Proc:
    """One product process (web, worker, beat) in its own process group."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_dir: Path, ready: str | None) -> None:
        self.name, self.cmd, self.env, self.ready = name, cmd, env, ready
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 90) -> "Proc":
        self.starts += 1
        with open(self.log_path, "a") as log:
            log.write(f"\n===== start #{self.starts} at {time.strftime('%H:%M:%S')}\n")
            log.flush()
            self.proc = subprocess.Popen(
                self.cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if self.ready:
            offset = self.log_path.stat().st_size
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
                with open(self.log_path, errors="replace") as fh:
                    fh.seek(max(0, offset - 200))
                    if self.ready in fh.read():
                        return self
                time.sleep(0.2)
            raise RuntimeError(f"{self.name} not ready in {timeout} s:\n{self.tail()}")
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: what an OOM kill or a lost machine does."""
        if self.alive:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)

    def stop(self, timeout: float = 20) -> None:
        if self.alive:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass
        # Pool children of a killed parent may outlive it in the group.
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, chars: int = 4000) -> str:
        return self.log()[-chars:]


# ---------------------------------------------------------------------------
# The database as the tests see it
# ---------------------------------------------------------------------------
class Db:
    """A plain connection to the chaos database that survives server restarts."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: psycopg.Connection | None = None
        self.lock = threading.Lock()

    def query(self, sql: str, params: Iterable[Any] = (), *, retry_for: float = 30) -> list[tuple]:
        deadline = time.monotonic() + retry_for
        with self.lock:
            while True:
                try:
                    if self.conn is None or self.conn.closed:
                        self.conn = psycopg.connect(self.dsn, autocommit=True)
                    with self.conn.cursor() as cur:
                        cur.execute(sql, tuple(params))
                        return cur.fetchall() if cur.description else []
                except psycopg.OperationalError:
                    if self.conn is not None:
                        self.conn.close()
                    self.conn = None
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(0.2)

    def columns(self, table: str) -> set[str]:
        rows = self.query("SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table])
        return {r[0] for r in rows}

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def shared_database_sockets(port: int = PG_PORT) -> list[str]:
    """Client connections to the cluster held open by more than one process.

    A connection opened before a fork and used on both sides (a pool a prefork
    worker's parent opened before forking its children) shows here as one socket
    with two pids; its protocol stream would be corrupted by the two users.
    """
    result = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( dport = :{port} )"], capture_output=True, text=True, timeout=10
    )
    shared = []
    for line in result.stdout.splitlines():
        pids = set(re.findall(r"pid=(\d+)", line))
        if len(pids) > 1:
            shared.append(line.strip())
    return shared


class ConnectionSampler(threading.Thread):
    """Samples pg_stat_activity: the most connections seen, in all and by application."""

    def __init__(self, dsn: str, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.dsn, self.interval = dsn, interval
        self.max_total = 0
        self.max_by_app: dict[str, int] = {}
        self.shared_sockets: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        conn = None
        ticks = 0
        while not self._halt.is_set():
            ticks += 1
            if ticks % 10 == 1 and shutil.which("ss"):
                self.shared_sockets += shared_database_sockets()
            try:
                if conn is None:
                    conn = psycopg.connect(self.dsn, autocommit=True)
                rows = conn.execute(
                    "SELECT application_name, count(*) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() GROUP BY 1",
                    [DB_NAME],
                ).fetchall()
                self.max_total = max(self.max_total, sum(n for _, n in rows))
                for app, n in rows:
                    self.max_by_app[app] = max(self.max_by_app.get(app, 0), n)
            except psycopg.Error:
                conn = None
            self._halt.wait(self.interval)
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


# ---------------------------------------------------------------------------
# HTTP client
# ---------------------------------------------------------------------------
@dataclass
class Answer:
    status: int
    body: Any
    seconds: float
    error: str = ""


def http(method: str, url: str, *, key: str, payload: Any = None, timeout: float = 60) -> Answer:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Api-Key {key}")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    start = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    except (urllib.error.URLError, OSError) as exc:  # refused, reset, timed out: no HTTP answer at all
        return Answer(0, None, time.monotonic() - start, error=f"{type(exc).__name__}: {exc}")
    seconds = time.monotonic() - start
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw[:500].decode(errors="replace")
    return Answer(status, body, seconds)


# ---------------------------------------------------------------------------
# The stack
# ---------------------------------------------------------------------------
@dataclass
class Launch:
    answer: Answer
    at: float  # time.time() when sent

    @property
    def run_id(self) -> str | None:
        body = self.answer.body
        return body.get("run_id") if isinstance(body, dict) else None


@dataclass
class Stack:
    base: Path
    gunicorn_workers: int = 2
    gunicorn_threads: int = 4
    worker_names: tuple[str, ...] = ("w1", "w2")
    extra_env: dict[str, str] = field(default_factory=dict)
    web: str = "gunicorn"  # or "runserver", for comparison

    def __post_init__(self) -> None:
        self.pg = PgCluster(self.base)
        self.redis = RedisServer(self.base)
        self.logs = self.base / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.artifacts = self.base / "artifacts"
        self.procs: dict[str, Proc] = {}
        self.db = Db(self.pg.dsn())
        self.key = ""
        self.url = f"http://127.0.0.1:{WEB_PORT}"

    # -- environment -------------------------------------------------------
    def env(self, app: str, **more: str) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "RUN_", "CELERY_"))}
        return {
            **keep,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "chaos-suite-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{PG_PORT}/{DB_NAME}?application_name={app}",
            "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/{REDIS_DB}",
            "RUNSIGHT_VAR_DIR": str(self.base / "var"),
            "ARTIFACT_ROOT": str(self.artifacts),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            **{k: str(v) for k, v in TIMINGS.items()},
            **self.extra_env,
            **more,
        }

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env("manage"), capture_output=True, text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    # -- lifecycle ---------------------------------------------------------
    def setup(self) -> "Stack":
        self.pg.init()
        self.pg.start()
        subprocess.run(
            [str(self.pg.bin / "createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", DB_NAME],
            check=True, capture_output=True, timeout=60,
        )
        self.redis.start()
        self.manage("migrate", "--noinput")
        self.key = self.manage(
            "shell", "-c",
            "from django.contrib.auth.models import Group\n"
            "from accounts.models import User\n"
            "from accounts.services import api_key_create\n"
            "u = User.objects.create_user(username='chaos', password='chaos-password-1')\n"
            "u.groups.set(Group.objects.filter(name='analyst'))\n"
            "print(api_key_create(owner=u, name='chaos')[1])",
        ).strip().splitlines()[-1]
        if self.web == "runserver":
            self.procs["web"] = Proc(
                "web", [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{WEB_PORT}"],
                self.env("web"), self.logs, ready="Quit the server with",
            )
        else:
            self.procs["web"] = Proc(
                "web",
                [PYTHON, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{WEB_PORT}",
                 "--workers", str(self.gunicorn_workers), "--threads", str(self.gunicorn_threads),
                 "--timeout", "60", "--graceful-timeout", "5", "--access-logfile", "-"],
                # As many connections as threads: a request never waits for another's.
                self.env("web", DATABASE_POOL_MAX_SIZE=str(self.gunicorn_threads)),
                self.logs, ready="Booting worker",
            )
        for name in self.worker_names:
            self.procs[name] = self._worker(name, "celery")
        self.procs["control"] = self._worker("control", "runs.control")
        self.procs["beat"] = Proc(
            "beat",
            [PYTHON, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO", "--pidfile=",
             "--schedule", str(self.base / "beat-schedule")],
            self.env("beat"), self.logs, ready="beat: Starting",
        )
        self.start_all()
        return self

    def _worker(self, name: str, queue: str) -> Proc:
        return Proc(
            name,
            [PYTHON, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO", "-Q", queue,
             "--pool", "prefork", "--concurrency", "1", "--hostname", f"{name}@%h",
             "--without-mingle", "--without-gossip"],
            self.env(name),
            self.logs, ready=" ready.",
        )

    def start_all(self) -> None:
        errors: list[BaseException] = []

        def run(p: Proc) -> None:
            try:
                p.start()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(p,)) for p in self.procs.values() if not p.alive]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        wait_until(lambda: http("GET", f"{self.url}/api/kinds/", key=self.key, timeout=5).status == 200, 60,
                   what="the web server")

    def teardown(self) -> None:
        def stop(proc: Proc) -> None:
            try:
                proc.stop(timeout=10)
            except Exception:  # cleaning up: go on with the others
                pass

        stoppers = [threading.Thread(target=stop, args=(p,)) for p in self.procs.values()]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join(timeout=30)
        self.db.close()
        self.redis.stop()
        if self.pg.running():
            self.pg.stop("immediate")
        # Keep the logs for a failure's diagnosis; the cluster and the bytes go.
        for path in (self.pg.data, self.artifacts, self.base / "var"):
            shutil.rmtree(path, ignore_errors=True)

    # -- faults ------------------------------------------------------------
    def restart_redis(self, down: float) -> None:
        self.redis.stop()
        time.sleep(down)
        self.redis.start()

    def restart_postgres(self, down: float = 0.0) -> None:
        self.pg.stop("fast")
        time.sleep(down)
        self.pg.start()

    def purge_queue(self) -> int:
        """Drop every message waiting in the ordinary queue, as `celery purge` would."""
        keys = [k for k in self.redis.command("--scan", "--pattern", "celery*").split() if k]
        purged = 0
        for key in keys:
            if self.redis.command("TYPE", key).strip() == "list":
                purged += int(self.redis.command("LLEN", key).strip() or 0)
                self.redis.command("DEL", key)
        return purged

    # -- API ---------------------------------------------------------------
    def launch(self, kind: str = "demo", params: dict | None = None, timeout: float = 60) -> Launch:
        at = time.time()
        answer = http("POST", f"{self.url}/api/runs/", key=self.key,
                      payload={"kind": kind, "params": params or {}}, timeout=timeout)
        return Launch(answer, at)

    def cancel(self, run_id: str) -> Answer:
        return http("POST", f"{self.url}/api/runs/{run_id}/cancel/", key=self.key, payload={})

    def get(self, path: str) -> Answer:
        return http("GET", f"{self.url}{path}", key=self.key)

    def burst(self, n: int, clients: int, params: dict) -> list[Launch]:
        with ThreadPoolExecutor(clients) as pool:
            return list(pool.map(lambda _: self.launch("demo", params), range(n)))

    def burst_figures(self, n: int = 200, clients: int = 20, params: dict | None = None,
                      drain_timeout: float = 240) -> dict[str, Any]:
        """`n` demo launches from `clients` concurrent API clients, and what they cost.

        Launch latency is the API's answer time as the client sees it;
        launch-to-start is the run's started_at minus its created_at (stamped
        by the web and worker processes, on one machine and one clock).
        """
        sampler = ConnectionSampler(self.pg.dsn())
        sampler.start()
        try:
            started = time.monotonic()
            launches = self.burst(n, clients, params or {"steps": 1, "step_seconds": 0.05})
            sent = time.monotonic() - started
            ids = [l.run_id for l in launches if l.run_id]
            finals = self.wait_final(ids, drain_timeout)
            drained = time.monotonic() - started
        except Exception as exc:
            raise RuntimeError(
                f"the burst did not complete: {exc}; most PostgreSQL connections seen: {sampler.max_total} "
                f"{dict(sorted(sampler.max_by_app.items()))}"
            ) from exc
        finally:
            sampler.stop()
        starts = [
            (r["started_at"] - r["created_at"]).total_seconds() for r in finals.values() if r["started_at"] is not None
        ]
        return {
            "launches": launches,
            "finals": finals,
            "launch_seconds": [l.answer.seconds for l in launches],
            "start_seconds": starts,
            "errors_5xx": sum(1 for l in launches if l.answer.status >= 500),
            "no_answer": sum(1 for l in launches if l.answer.status == 0),
            "max_connections": sampler.max_total,
            "by_app": dict(sorted(sampler.max_by_app.items())),
            "shared_sockets": sampler.shared_sockets,
            "sent_seconds": sent,
            "drained_seconds": drained,
        }

    # -- reading runs ------------------------------------------------------
    def run(self, run_id: str) -> dict[str, Any]:
        cols = ["id", "run_id", "kind", "status", "error_message", "checksum", "progress", "worker",
                "created_at", "started_at", "finished_at", "cancel_requested", "params"]
        extra = [c for c in ("attempt",) if c in self.run_columns]
        rows = self.db.query(f"SELECT {', '.join(cols + extra)} FROM runs_run WHERE run_id = %s", [run_id])
        if not rows:
            raise AssertionError(f"no run {run_id} in the database")
        return dict(zip(cols + extra, rows[0]))

    @property
    def run_columns(self) -> set[str]:
        if not hasattr(self, "_run_columns"):
            self._run_columns = self.db.columns("runs_run")
        return self._run_columns

    def status(self, run_id: str) -> str:
        return self.db.query("SELECT status FROM runs_run WHERE run_id = %s", [run_id])[0][0]

    def logs_of(self, run_id: str) -> list[str]:
        rows = self.db.query(
            "SELECT l.message FROM runs_runlog l JOIN runs_run r ON r.id = l.run_id WHERE r.run_id = %s ORDER BY l.id",
            [run_id],
        )
        return [r[0] for r in rows]

    def timeline(self, run_id: str, last: int = 8) -> list[str]:
        """The run's last log lines with their times, for a failure message."""
        rows = self.db.query(
            "SELECT l.created_at, l.level, l.message FROM runs_runlog l JOIN runs_run r ON r.id = l.run_id "
            "WHERE r.run_id = %s ORDER BY l.id DESC LIMIT %s",
            [run_id, last],
        )
        return [f"{at:%H:%M:%S.%f}"[:-3] + f" {level} {message[:120]}" for at, level, message in reversed(rows)]

    def wait_status(self, run_id: str, statuses: Iterable[str], timeout: float, **extra: Any) -> dict[str, Any]:
        wanted = set(statuses)

        def reached() -> dict | None:
            run = self.run(run_id)
            if run["status"] in wanted and all(run[k] >= v for k, v in extra.items()):
                return run
            return None

        try:
            return wait_until(reached, timeout, interval=0.1, what=f"{run_id} to be {'/'.join(sorted(wanted))}")
        except AssertionError as exc:
            run = self.run(run_id)
            raise AssertionError(
                f"{exc}; it is {run['status']} (progress {run['progress']}, error {run['error_message']!r}); "
                f"log: {self.logs_of(run_id)[-6:]}"
            ) from None

    def wait_final(self, run_ids: Iterable[str], timeout: float) -> dict[str, dict[str, Any]]:
        """Wait until every run is final; fail naming those that are not, with their state."""
        ids = list(run_ids)
        deadline = time.monotonic() + timeout
        while True:
            rows = self.db.query("SELECT run_id, status FROM runs_run WHERE run_id = ANY(%s)", [ids])
            pending = [rid for rid, status in rows if status not in FINAL]
            if not pending and len(rows) == len(ids):
                return {rid: self.run(rid) for rid in ids}
            if time.monotonic() >= deadline:
                states = {rid: self.run(rid) for rid in pending[:5]}
                described = "; ".join(
                    f"{rid} {r['status']} progress {r['progress']} worker {r['worker']!r} log {self.logs_of(rid)[-3:]}"
                    for rid, r in states.items()
                )
                raise AssertionError(f"{len(pending)} run(s) not final after {timeout:.0f} s: {described}")
            time.sleep(0.2)

    def active_run_ids(self) -> list[str]:
        return [r[0] for r in self.db.query("SELECT run_id FROM runs_run WHERE status IN ('PENDING', 'RUNNING')")]

    def children_of(self, name: str) -> list[str]:
        """Pids of the pool processes of a worker."""
        parent = str(self.procs[name].proc.pid)
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended meanwhile
                continue
            if fields[1] == parent:
                children.append(stat.parent.name)
        return children

    def ensure_workers(self) -> None:
        """Restart what a scenario killed, so the next one starts from a whole stack."""
        if not self.redis.ping():
            self.redis.start()
        if not self.pg.running():
            self.pg.start()
        self.start_all()

    # -- what must hold after every scenario ------------------------------
    def artifact_bytes(self, storage: str, path: str, blob: bytes | None) -> bytes:
        if storage == "db":
            return bytes(blob or b"")
        return (self.artifacts / path).read_bytes()

    def check_invariants(self, run_ids: Iterable[str] | None = None) -> list[str]:
        """Every promise the suite checks on stored runs; returns the broken ones (empty: all hold).

        - nothing executed twice: at most one "Started on" per attempt, no demo step twice per attempt;
        - a FAILED or CANCELLED run has no result: no artifact (unless marked partial), no checksum,
          progress below 100, and its files are not served;
        - a SUCCEEDED run's checksum is the SHA-256 of its stored bytes, each artifact matches its own;
        - the simulation result cache holds only bytes that a SUCCEEDED run computed.
        """
        problems: list[str] = []
        where, params = ("", []) if run_ids is None else ("WHERE run_id = ANY(%s)", [list(run_ids)])
        attempt_col = "attempt" if "attempt" in self.run_columns else "1"
        runs = self.db.query(
            f"SELECT id, run_id, kind, status, checksum, progress, {attempt_col} FROM runs_run {where}", params
        )
        art_cols = self.db.columns("runs_runartifact")
        partial_col = next((c for c in ("partial", "is_partial") if c in art_cols), None)
        for pk, run_id, kind, status, checksum, progress, attempts in runs:
            attempts = max(1, int(attempts or 1))
            logs = [r[0] for r in self.db.query("SELECT message FROM runs_runlog WHERE run_id = %s", [pk])]
            started = sum(1 for m in logs if m.startswith("Started on"))
            if started > attempts:
                problems.append(f"{run_id}: started {started} times in {attempts} attempt(s)")
            steps: dict[str, int] = {}
            for m in logs:
                if m.startswith("Step "):
                    head = m.split(":")[0]
                    steps[head] = steps.get(head, 0) + 1
            twice = {s: n for s, n in steps.items() if n > attempts}
            if twice:
                problems.append(f"{run_id}: steps executed more than once per attempt: {sorted(twice)[:3]}")
            arts = self.db.query(
                f"SELECT name, storage, path, blob, sha256, size_bytes{', ' + partial_col if partial_col else ''} "
                "FROM runs_runartifact WHERE run_id = %s ORDER BY name",
                [pk],
            )
            if status in ("FAILED", "CANCELLED"):
                served = [a[0] for a in arts if not (partial_col and a[6])]
                if served:
                    problems.append(f"{run_id}: {status} but has {len(served)} result artifact(s) {served[:3]}")
                if checksum:
                    problems.append(f"{run_id}: {status} with a checksum")
                if progress >= 100:
                    problems.append(f"{run_id}: {status} with progress {progress}")
                if kind == "simulation":
                    answer = self.get(f"/api/simulations/runs/{run_id}/files/summary.json/")
                    if answer.status == 200:
                        problems.append(f"{run_id}: {status} but its summary.json is served (200)")
            elif status == "SUCCEEDED":
                digest = hashlib.sha256()
                for name, storage, path, blob, sha, size, *_ in arts:
                    try:
                        data = self.artifact_bytes(storage, path, blob)
                    except FileNotFoundError:
                        problems.append(f"{run_id}: artifact {name} has no bytes at {path}")
                        continue
                    if hashlib.sha256(data).hexdigest() != sha or len(data) != size:
                        problems.append(f"{run_id}: artifact {name} bytes do not match its SHA-256")
                    digest.update(data)
                expected = digest.hexdigest() if arts else ""
                if checksum != expected:
                    problems.append(f"{run_id}: checksum {checksum[:12]} != recomputed {expected[:12]}")
                if not arts:
                    problems.append(f"{run_id}: SUCCEEDED without any result artifact")
        # The result cache: only bytes of SUCCEEDED runs (those these runs computed, or all of it).
        cache = self.db.query(
            "SELECT c.name, c.storage, c.path, c.blob, c.sha256, r.run_id, r.status "
            "FROM simulations_cachedresult c LEFT JOIN runs_run r ON r.id = c.source_run_id "
            + ("" if run_ids is None else "WHERE r.run_id = ANY(%s)"),
            params,
        )
        for name, storage, path, blob, sha, src_run, src_status in cache:
            if src_status != "SUCCEEDED":
                problems.append(f"cache entry {name} computed by {src_run or 'an unknown run'} ({src_status})")
            try:
                data = self.artifact_bytes(storage, path, blob)
            except FileNotFoundError:
                continue  # a missing file is dropped on read, never served
            if hashlib.sha256(data).hexdigest() != sha:
                problems.append(f"cache entry {name} bytes do not match its SHA-256")
        return problems

    def describe(self) -> str:
        """Tails of every log, for a failing assertion."""
        parts = []
        for name, proc in self.procs.items():
            parts.append(f"----- {name} ({'alive' if proc.alive else 'dead'})\n{proc.tail(1500)}")
        return "\n".join(parts)


def summarize(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"p50 {percentile(values, 50):.3f} s, p95 {percentile(values, 95):.3f} s, "
            f"max {max(values):.3f} s, mean {statistics.fmean(values):.3f} s")


def new_stack(**kwargs: Any) -> Stack:
    base = Path(tempfile.mkdtemp(prefix="runsight-chaos-"))
    return Stack(base=base, **kwargs)
