"""API rate limits that do not take the API down with the cache.

DRF's throttles keep their request history in the Django cache (Redis in
production). When Redis cannot be reached they raise, and every API call answers
500. A rate limit is there to protect the service, not to stop it: while the
cache is unreachable, requests are let through (and a warning is logged).
"""
from __future__ import annotations

import logging
from typing import Any

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class _FailOpen:
    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except Exception as exc:  # the cache backend's own errors (connection refused, timeout…)
            logger.warning("API rate limit skipped, the cache is unavailable: %s", exc)
            return True


class FailOpenAnonRateThrottle(_FailOpen, AnonRateThrottle):
    """AnonRateThrottle that lets requests through while the cache is down."""


class FailOpenUserRateThrottle(_FailOpen, UserRateThrottle):
    """UserRateThrottle that lets requests through while the cache is down."""
