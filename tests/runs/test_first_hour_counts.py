"""Run list totals: never wrong for whoever just created runs, and no outage when the cache is down."""
from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts.roles import Role
from runs.models import Run, RunStatus
from runs.services import run_create

pytestmark = pytest.mark.django_db

DEAD_REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}


@pytest.fixture
def counted(settings):
    settings.RUN_LIST_COUNT_SECONDS = 60
    cache.clear()
    return settings


def _make(owner, params, n):
    return [run_create(kind="demo", params=params, owner=owner) for _ in range(n)]


def test_it_counts_runs_created_after_the_total_was_cached(client_for, analyst, demo_params, counted):
    _make(analyst, demo_params, 3)
    client = client_for(analyst)
    assert client.get("/api/runs/?page_size=2").json()["count"] == 3
    _make(analyst, demo_params, 4)
    body = client.get("/api/runs/?page_size=2").json()
    assert body["count"] == 7
    page = client.get("/runs/?page_size=10").content.decode()
    assert "7 runs" in page
    assert "Next »" not in page
    _make(analyst, demo_params, 4)
    page = client.get("/runs/?page_size=10").content.decode()
    assert "11 runs" in page and "Next »" in page


def test_it_offers_the_next_page_even_when_the_cached_total_is_low(client_for, analyst, demo_params, counted):
    runs = _make(analyst, demo_params, 3)
    client = client_for(analyst)
    assert client.get("/api/runs/?status=FAILED&page_size=2").json()["count"] == 0  # cached: 0
    # A status change does not invalidate the cached totals: the rows must still show.
    Run.objects.filter(pk__in=[r.pk for r in runs]).update(status=RunStatus.FAILED)
    body = client.get("/api/runs/?status=FAILED&page_size=2").json()
    assert body["next"] is not None and body["count"] >= 3
    last = client.get("/api/runs/?status=FAILED&page_size=2&page=2").json()
    assert last["count"] == 3 and last["count_approximate"] is False
    assert [r["run_id"] for r in last["results"]] == [runs[0].run_id]


def test_it_marks_a_cached_total_as_approximate(client_for, analyst, demo_params, counted):
    _make(analyst, demo_params, 11)
    client = client_for(analyst)
    first = client.get("/api/runs/?page_size=10").json()
    assert first["count"] == 11 and first["count_approximate"] is False
    again = client.get("/api/runs/?page_size=10").json()
    assert again["count"] == 11 and again["count_approximate"] is True
    assert "≈ </span>11 runs" in client.get("/runs/?page_size=10").content.decode()
    assert "≈" not in client.get("/runs/?page_size=10&page=2").content.decode()  # the last page knows


def test_it_lists_runs_and_logs_when_the_cache_is_down(client_for, analyst, demo_params, counted):
    runs = _make(analyst, demo_params, 3)
    counted.CACHES = DEAD_REDIS
    client = client_for(analyst)
    listing = client.get("/api/runs/?page_size=2")
    assert listing.status_code == 200
    assert listing.json()["count"] == 3 and listing.json()["next"]
    logs = client.get(f"/api/runs/{runs[0].run_id}/logs/")
    assert logs.status_code == 200 and logs.json()["results"]
    page = client.get("/runs/?page_size=2")
    assert page.status_code == 200 and "3 runs" in page.content.decode()
    # Creating and deleting runs with the cache down works too.
    run_create(kind="demo", params=demo_params, owner=analyst)
    assert client.get("/api/runs/").json()["count"] == 4


def test_a_role_that_sees_no_kind_gets_an_empty_list(client_for, make_user, analyst, demo_params, counted):
    _make(analyst, demo_params, 2)
    client = client_for(make_user(Role.FINOPS_USER))
    response = client.get("/api/runs/")
    assert response.status_code == 200
    assert response.json()["count"] == 0 and response.json()["results"] == []
    assert client.get("/api/runs/", HTTP_ACCEPT="text/html").status_code == 200
    assert client.get("/runs/").status_code == 403  # the page says plainly the role has no runs to see


def test_a_page_past_the_end_of_a_shrunken_list_shows_a_page(client_for, analyst, demo_params, counted):
    runs = _make(analyst, demo_params, 12)
    Run.objects.filter(pk__in=[r.pk for r in runs]).update(status=RunStatus.FAILED)
    client = client_for(analyst)
    assert "12 runs" in client.get("/runs/?status=FAILED&page_size=10").content.decode()  # total cached: 12
    # Runs leave the filter without invalidating the cached total.
    Run.objects.filter(pk__in=[r.pk for r in runs[:9]]).update(status=RunStatus.SUCCEEDED)
    page = client.get("/runs/?status=FAILED&page_size=10&page=7")
    assert page.status_code == 200
    assert all(r.run_id in page.content.decode() for r in runs[9:])
