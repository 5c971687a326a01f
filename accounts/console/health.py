"""Health checks: a small registry, as run kinds register with the run core.

An app registers a check with `register_check(name, fn, liveness=...)`; `fn`
returns a CheckResult (green/amber/red with why). `health_report()` runs them
all, each guarded: a check that raises is red with the exception as its reason,
never a failed page. Checks marked `liveness` (the database, the cache) decide
the unauthenticated /healthz answer: a load balancer only needs to know whether
this web process can serve, not whether a worker is away.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path
from typing import Any, Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.utils import timezone

from accounts.console.heartbeat import heartbeat_last, heartbeat_record

logger = logging.getLogger(__name__)

GREEN, AMBER, RED = "green", "amber", "red"
_ORDER = {GREEN: 0, AMBER: 1, RED: 2}


@dataclass
class CheckResult:
    name: str
    status: str
    why: str
    detail: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Check:
    name: str
    label: str
    fn: Callable[[], CheckResult]
    liveness: bool = False


_registry: dict[str, Check] = {}


def register_check(name: str, fn: Callable[[], CheckResult], *, label: str = "", liveness: bool = False) -> None:
    _registry[name] = Check(name=name, label=label or name.replace("_", " ").capitalize(), fn=fn, liveness=liveness)


def registered_checks() -> list[Check]:
    return list(_registry.values())


def _run(check: Check) -> CheckResult:
    started = time.monotonic()
    try:
        result = check.fn()
    except Exception as exc:  # a check that fails is a red check, never a failed report
        logger.warning("health check %s failed: %s", check.name, exc)
        result = CheckResult(check.name, RED, f"{type(exc).__name__}: {exc}"[:500])
    result.name = check.name
    result.seconds = round(time.monotonic() - started, 4)
    return result


def worst(results: list[CheckResult]) -> str:
    return max((r.status for r in results), key=_ORDER.__getitem__, default=GREEN)


def health_report(*, liveness_only: bool = False) -> dict[str, Any]:
    checks = [c for c in _registry.values() if c.liveness or not liveness_only]
    results = [_run(check) for check in checks]
    labels = {c.name: c.label for c in checks}
    return {
        "status": worst(results),
        "version": settings.CODE_VERSION,
        "checked_at": timezone.now().isoformat(),
        "checks": [{**r.as_dict(), "label": labels[r.name]} for r in results],
    }


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


# ---------------------------------------------------------------------------
# Built-in checks
# ---------------------------------------------------------------------------
def check_database() -> CheckResult:
    latencies: dict[str, float] = {}
    for alias in connections:
        started = time.monotonic()
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        latencies[alias] = round((time.monotonic() - started) * 1000, 2)
    slowest = max(latencies.values(), default=0.0)
    status = AMBER if slowest > settings.HEALTH_DB_SLOW_MS else GREEN
    why = f"SELECT 1 in {slowest:.1f} ms" + (f" (slower than {settings.HEALTH_DB_SLOW_MS} ms)" if status == AMBER else "")
    return CheckResult("database", status, why, {"latency_ms": latencies, "vendor": connections["default"].vendor})


def check_cache() -> CheckResult:
    key = f"health:probe:{os.getpid()}:{time.monotonic_ns()}"
    started = time.monotonic()
    cache.set(key, "ok", 30)
    value = cache.get(key)
    cache.delete(key)
    ms = round((time.monotonic() - started) * 1000, 2)
    backend = type(cache).__name__
    if value != "ok":
        return CheckResult("cache", RED, f"{backend}: a value written was not read back", {"round_trip_ms": ms})
    status = AMBER if ms > settings.HEALTH_CACHE_SLOW_MS else GREEN
    return CheckResult("cache", status, f"{backend}: set/get/delete in {ms:.1f} ms", {"round_trip_ms": ms, "backend": backend})


QUEUES = ("celery", "runs.control")


def _redis_client() -> Any:
    import redis

    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)


def check_broker() -> CheckResult:
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not folder.is_dir():
            return CheckResult("broker", RED, f"filesystem broker folder {folder} is missing")
        depth = sum(1 for entry in os.scandir(folder) if entry.is_file())
        status = AMBER if depth > settings.HEALTH_QUEUE_AMBER else GREEN
        return CheckResult("broker", status, f"filesystem broker: {depth} message(s) waiting",
                           {"transport": "filesystem", "depth": {"all": depth}})
    client = _redis_client()
    client.ping()
    # kombu's Redis transport keeps each queue as a list named after it (priority 0).
    depth = {queue: int(client.llen(queue)) for queue in QUEUES}
    deepest = max(depth.values())
    status = AMBER if deepest > settings.HEALTH_QUEUE_AMBER else GREEN
    why = ", ".join(f"{q}: {n} waiting" for q, n in depth.items())
    return CheckResult("broker", status, f"Redis reachable; {why}", {"transport": "redis", "depth": depth})


def check_workers() -> CheckResult:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return CheckResult("workers", GREEN, "tasks run in the web process (CELERY_TASK_ALWAYS_EAGER)")
    if str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
        # The filesystem transport has no broadcast: workers cannot be asked.
        return CheckResult("workers", AMBER, "the filesystem broker cannot broadcast: workers are not inspected")
    from config.celery_app import app

    inspect = app.control.inspect(timeout=settings.HEALTH_INSPECT_TIMEOUT)
    replies = inspect.ping() or {}
    now = time.time()
    workers: list[dict[str, Any]] = []
    if replies:
        active = inspect.active() or {}
        reserved = inspect.reserved() or {}
        queues = inspect.active_queues() or {}
        for name in sorted(replies):
            heartbeat_record(f"worker:{name}", now)
            workers.append({
                "name": name, "alive": True, "last_seen": timezone.now().isoformat(),
                "active": len(active.get(name) or []), "reserved": len(reserved.get(name) or []),
                "queues": sorted(q.get("name", "") for q in (queues.get(name) or [])),
            })
    # Workers seen before and silent now are listed with when they were last seen.
    known = set(cache.get("health:workers:known") or [])
    known.update(replies)
    cache.set("health:workers:known", sorted(known)[-100:], 7 * 86400)
    for name in sorted(known - set(replies)):
        last = heartbeat_last(f"worker:{name}")
        workers.append({"name": name, "alive": False, "active": 0, "reserved": 0, "queues": [],
                        "last_seen": datetime.fromtimestamp(last, tz=dt_timezone.utc).isoformat() if last else None})
    if not replies:
        return CheckResult("workers", RED, f"no worker answered within {settings.HEALTH_INSPECT_TIMEOUT} s", {"workers": workers})
    served = {q for w in workers for q in w["queues"]}
    missing = [q for q in QUEUES if q not in served]
    if missing:
        return CheckResult("workers", RED, f"no live worker consumes {', '.join(missing)}", {"workers": workers})
    gone = [w["name"] for w in workers if not w["alive"]]
    status = AMBER if gone else GREEN
    why = f"{len(replies)} worker(s) answered" + (f"; silent: {', '.join(gone)}" if gone else "")
    return CheckResult("workers", status, why, {"workers": workers})


def _staleness(name: str, what: str, interval: float) -> CheckResult:
    last = heartbeat_last(name)
    if last is None:
        return CheckResult(name, RED, f"no {what} recorded yet", {"last": None, "interval": interval})
    age = max(0.0, time.time() - last)
    detail = {"last": datetime.fromtimestamp(last, tz=dt_timezone.utc).isoformat(), "age_seconds": round(age, 1),
              "interval": interval}
    # One missed interval is amber (a busy control worker, a restart); three is red.
    if age > 3 * interval + 10:
        return CheckResult(name, RED, f"last {what} {_ago(age)}, expected every {interval:.0f} s", detail)
    if age > interval + 10:
        return CheckResult(name, AMBER, f"last {what} {_ago(age)}, expected every {interval:.0f} s", detail)
    return CheckResult(name, GREEN, f"last {what} {_ago(age)}", detail)


def check_beat() -> CheckResult:
    return _staleness("beat", "beat tick", float(settings.HEALTH_BEAT_INTERVAL))


def check_reaper() -> CheckResult:
    return _staleness("reaper", "control pass", float(settings.RUN_REAPER_INTERVAL))


def check_stuck_pending() -> CheckResult:
    from runs.models import Run, RunStatus

    threshold = settings.HEALTH_PENDING_STUCK_SECONDS
    cutoff = timezone.now() - timedelta(seconds=threshold)
    stuck = Run.objects.filter(status=RunStatus.PENDING, created_at__lt=cutoff)
    count = stuck.count()
    if not count:
        return CheckResult("stuck_pending", GREEN, f"no run PENDING for more than {threshold} s")
    oldest = stuck.order_by("created_at").values_list("run_id", "created_at").first()
    status = RED if count >= settings.HEALTH_PENDING_STUCK_RED else AMBER
    return CheckResult("stuck_pending", status, f"{count} run(s) PENDING for more than {threshold} s; oldest {oldest[0]}",
                       {"count": count, "oldest": oldest[0], "oldest_created_at": oldest[1].isoformat()})


def check_artifact_space() -> CheckResult:
    if settings.ARTIFACT_STORE == "db":
        return CheckResult("artifact_space", GREEN, "artifacts are stored in the database")
    path = Path(settings.ARTIFACT_ROOT)
    while not path.exists() and path != path.parent:
        path = path.parent
    usage = shutil.disk_usage(path)
    free_pct = 100.0 * usage.free / usage.total if usage.total else 0.0
    detail = {"path": str(settings.ARTIFACT_ROOT), "free_bytes": usage.free, "total_bytes": usage.total,
              "free_percent": round(free_pct, 1)}
    why = f"{usage.free / 2**30:.1f} GiB free ({free_pct:.0f} %)"
    if free_pct < settings.HEALTH_DISK_RED_PERCENT:
        return CheckResult("artifact_space", RED, why + f", under {settings.HEALTH_DISK_RED_PERCENT} %", detail)
    if free_pct < settings.HEALTH_DISK_AMBER_PERCENT:
        return CheckResult("artifact_space", AMBER, why + f", under {settings.HEALTH_DISK_AMBER_PERCENT} %", detail)
    return CheckResult("artifact_space", GREEN, why, detail)


def check_version() -> CheckResult:
    return CheckResult("version", GREEN, f"code version {settings.CODE_VERSION}", {"version": settings.CODE_VERSION})


register_check("database", check_database, label="Database", liveness=True)
register_check("cache", check_cache, label="Cache", liveness=True)
register_check("broker", check_broker, label="Broker")
register_check("workers", check_workers, label="Workers")
register_check("beat", check_beat, label="Beat")
register_check("reaper", check_reaper, label="Reaper")
register_check("stuck_pending", check_stuck_pending, label="Runs stuck PENDING")
register_check("artifact_space", check_artifact_space, label="Artifact store space")
register_check("version", check_version, label="Version")
