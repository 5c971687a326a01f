"""Login lock-out (django-axes) and API throttling: failures stop being tried."""
from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from accounts.services import api_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_login_locks_after_the_failure_limit_even_for_the_right_password(client, make_user, settings):
    user = make_user("viewer", username="target")
    codes = [client.post("/login/", {"username": "target", "password": "wrong"}).status_code
             for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert codes == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the limit-th failure locks
    response = client.post("/login/", {"username": "target", "password": "pw-for-tests-1"})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session
    # Another address is not locked out of the same account.
    other = client.__class__(REMOTE_ADDR="10.0.0.9")
    assert other.post("/login/", {"username": "target", "password": "pw-for-tests-1"}).status_code == 302
    assert user.pk


def test_the_admin_login_is_locked_out_too(client, make_user, settings):
    make_user("admin", username="boss2", is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "boss2", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "boss2", "password": "pw-for-tests-1"})
    assert response.status_code == 429


def test_a_successful_login_resets_the_count(client, make_user, settings):
    make_user("viewer", username="forgetful")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/login/", {"username": "forgetful", "password": "wrong"})
    assert client.post("/login/", {"username": "forgetful", "password": "pw-for-tests-1"}).status_code == 302
    client.post("/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/login/", {"username": "forgetful", "password": "wrong"})
    assert client.post("/login/", {"username": "forgetful", "password": "pw-for-tests-1"}).status_code == 302


def test_bad_api_keys_are_throttled_per_address_with_a_json_429(client, analyst, settings):
    settings.API_KEY_FAILURE_LIMIT = 5
    _, secret = api_key_create(owner=analyst, name="real")
    for i in range(5):
        assert client.get("/api/runs/", HTTP_AUTHORIZATION=f"Api-Key rsk_guess{i}").status_code == 401
    response = client.get("/api/runs/", HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert response.status_code == 429
    assert "Too many failed API key attempts" in response.json()["detail"]
    assert "Retry-After" in response
    # Another address is not affected.
    assert client.get("/api/runs/", HTTP_AUTHORIZATION=f"Api-Key {secret}", REMOTE_ADDR="10.1.1.1").status_code == 200


def test_the_api_is_throttled_per_user(client_for, analyst, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "100/min", "user": "3/min"})
    client = client_for(analyst)
    assert [client.get("/api/tags/").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/api/tags/")
    assert response.status_code == 429 and "throttled" in response.json()["detail"]


def test_a_forged_forwarded_for_header_does_not_escape_the_counts(client, analyst, settings):
    settings.API_KEY_FAILURE_LIMIT = 3
    for i in range(3):
        client.get("/api/runs/", HTTP_AUTHORIZATION=f"Api-Key rsk_guess{i}", HTTP_X_FORWARDED_FOR=f"10.9.9.{i}")
    response = client.get("/api/runs/", HTTP_AUTHORIZATION="Api-Key rsk_more", HTTP_X_FORWARDED_FOR="10.9.9.99")
    assert response.status_code == 429

