"""Last-seen timestamps of periodic work (beat's tick, the reaper's pass, workers seen by inspect).

Written to the Django cache (shared by every process when it is Redis) and to a
small file under RUNSIGHT_VAR_DIR/health (shared by the processes of one host
when the cache is per-process local memory). A reader takes the newer of the
two, so either store alone is enough; neither failing ever fails the work that
records it.
"""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9_.@-]")
_TTL = 7 * 86400


def _path(name: str) -> Path:
    return Path(settings.VAR_DIR) / "health" / f"{_SAFE.sub('_', name)[:150]}.beat"


def heartbeat_record(name: str, at: float | None = None) -> None:
    at = time.time() if at is None else at
    try:
        cache.set(f"health:beat:{name}", at, _TTL)
    except Exception as exc:  # the cache down must not fail beat or the reaper
        logger.warning("heartbeat %s not cached: %s", name, exc)
    try:
        path = _path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(repr(at))
        tmp.replace(path)
    except OSError as exc:
        logger.warning("heartbeat %s not written: %s", name, exc)


def heartbeat_last(name: str) -> float | None:
    """Seconds since the epoch of the last record, or None when never recorded."""
    found: list[float] = []
    try:
        value = cache.get(f"health:beat:{name}")
        if isinstance(value, (int, float)):
            found.append(float(value))
    except Exception:  # the cache check reports the cache itself
        pass
    try:
        found.append(float(_path(name).read_text()))
    except (OSError, ValueError):
        pass
    return max(found) if found else None
