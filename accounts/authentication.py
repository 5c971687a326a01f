"""DRF authentication by API key: ``Authorization: Api-Key <secret>``."""
from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import ApiKey
from accounts.services import api_key_hash


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request: Any) -> tuple[Any, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Api-Key header: expected 'Api-Key <secret>'.")
        try:
            key = ApiKey.objects.select_related("owner").get(key_hash=api_key_hash(header[1]))
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Unknown API key.") from None
        if not key.is_active:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if not key.owner.is_active:
            raise exceptions.AuthenticationFailed("The owner of this API key is inactive.")
        # Throttle the write: one per minute is enough to see stale keys.
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key.owner, key

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
