"""API key usage: requests per key and day, counted in the cache (one INCR, no database write).

Counters live API_KEY_USAGE_DAYS + 1 days. When the cache is unreachable a
request is simply not counted (logged) and the usage reads as unknown: counting
must never refuse or slow an API call.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)


def _key(key_id: Any, day: date) -> str:
    return f"api-key-usage:{key_id}:{day:%Y%m%d}"


def usage_count(key_id: Any) -> None:
    name = _key(key_id, timezone.now().date())
    timeout = (settings.API_KEY_USAGE_DAYS + 1) * 86400
    try:
        if not cache.add(name, 1, timeout=timeout):
            try:
                cache.incr(name)
            except ValueError:  # expired between add and incr
                cache.add(name, 1, timeout=timeout)
    except Exception as exc:  # the cache backend's own errors: this request goes uncounted
        logger.warning("API key use not counted, the cache is unavailable: %s", exc)


def usage_days(key_ids: list[Any], days: int | None = None) -> dict[Any, list[tuple[date, int]] | None]:
    """{key id: [(day, requests), …] oldest first} over the last `days` days; None when the cache is down."""
    days = days or settings.API_KEY_USAGE_DAYS
    today = timezone.now().date()
    span = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    names = {(k, d): _key(k, d) for k in key_ids for d in span}
    try:
        found = cache.get_many(list(names.values())) if names else {}
    except Exception as exc:
        logger.warning("API key usage unavailable, the cache is unreachable: %s", exc)
        return {k: None for k in key_ids}
    return {k: [(d, int(found.get(names[(k, d)], 0) or 0)) for d in span] for k in key_ids}
