"""API keys keep working while the cache (Redis) is unreachable.

The failed-key counter lives in the cache; when the cache cannot be reached the
count is skipped (as the API's rate limits are), instead of every API-key
request answering 500.
"""
from __future__ import annotations

import socket

import pytest

from accounts.services import api_key_create


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


@pytest.mark.django_db
def test_a_valid_api_key_is_accepted_while_the_cache_is_down(client, analyst, cache_down):
    _, secret = api_key_create(owner=analyst, name="laptop")
    response = client.get("/api/kinds/", HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert response.status_code == 200, response.content[:300]


@pytest.mark.django_db
def test_a_wrong_api_key_is_refused_while_the_cache_is_down(client, analyst, cache_down):
    response = client.get("/api/kinds/", HTTP_AUTHORIZATION="Api-Key not-a-key")
    assert response.status_code in (401, 403), response.content[:300]
