"""DRF authentication by API key: ``Authorization: Api-Key <secret>``."""
from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import authentication, exceptions, throttling

from accounts.console.usage import usage_count
from accounts.models import ApiKey
from accounts.services import api_key_hash

logger = logging.getLogger(__name__)


def _failures_key(request: Any) -> str:
    # The address as DRF's throttles see it (NUM_PROXIES decides whether X-Forwarded-For counts).
    return f"api-key-failures:{throttling.BaseThrottle().get_ident(request)}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate by API key. An address that sent API_KEY_FAILURE_LIMIT bad keys within
    API_KEY_FAILURE_WINDOW seconds gets 429 for its next key, right or wrong, until the
    window has passed: guessing keys is then far too slow to matter."""

    keyword = "Api-Key"

    def authenticate(self, request: Any) -> tuple[Any, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace").split()
        if not header or header[0] != self.keyword:
            return None
        try:
            failures = cache.get(_failures_key(request), 0)
        except Exception as exc:  # the cache backend's own errors: count nothing, as the API's rate limits do
            logger.warning("failed API key count skipped, the cache is unavailable: %s", exc)
            failures = 0
        if failures >= settings.API_KEY_FAILURE_LIMIT:
            raise exceptions.Throttled(
                wait=settings.API_KEY_FAILURE_WINDOW,
                detail="Too many failed API key attempts from this address; try again later.",
            )
        if len(header) != 2:
            self._failed(request)
            raise exceptions.AuthenticationFailed("Malformed Api-Key header: expected 'Api-Key <secret>'.")
        try:
            key = ApiKey.objects.select_related("owner").get(key_hash=api_key_hash(header[1]))
        except ApiKey.DoesNotExist:
            self._failed(request)
            raise exceptions.AuthenticationFailed("Unknown API key.") from None
        if not key.is_active:
            self._failed(request)
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if key.is_expired:
            self._failed(request)
            raise exceptions.AuthenticationFailed(f"This API key expired on {key.expires_at:%Y-%m-%d %H:%M} UTC.")
        if not key.owner.is_active:
            self._failed(request)
            raise exceptions.AuthenticationFailed("The owner of this API key is inactive.")
        usage_count(key.pk)
        # Throttle the write: one per minute is enough to see stale keys.
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key.owner, key

    @staticmethod
    def _failed(request: Any) -> None:
        key = _failures_key(request)
        try:
            # The window starts with the first failure and is not extended by later ones.
            if not cache.add(key, 1, timeout=settings.API_KEY_FAILURE_WINDOW):
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.add(key, 1, timeout=settings.API_KEY_FAILURE_WINDOW)
        except Exception as exc:  # the cache is unavailable: the refusal stands, uncounted
            logger.warning("failed API key not counted, the cache is unavailable: %s", exc)

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
