"""The run list counts its total once per filter set, then reuses it while paging."""
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runs.services import run_create

pytestmark = pytest.mark.django_db


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return sum(1 for q in queries if q["sql"].upper().startswith("SELECT COUNT("))


def test_the_second_page_reuses_the_count(client_for, viewer, analyst, demo_params, settings):
    settings.RUN_LIST_COUNT_SECONDS = 60
    cache.clear()
    for _ in range(3):
        run_create(kind="demo", params=demo_params, owner=analyst)
    client = client_for(viewer)
    assert _count_queries(client, "/api/runs/?page_size=1&page=1") == 1
    assert _count_queries(client, "/api/runs/?page_size=1&page=2") == 0
    assert _count_queries(client, "/api/runs/?page_size=1&status=PENDING") == 1  # other filters, own count
    assert client.get("/api/runs/?page_size=1&page=3").json()["count"] == 3


def test_without_a_ttl_every_page_counts(client_for, viewer, analyst, demo_params, settings):
    settings.RUN_LIST_COUNT_SECONDS = 0
    for _ in range(11):
        run_create(kind="demo", params=demo_params, owner=analyst)
    client = client_for(viewer)
    assert _count_queries(client, "/runs/?page=1&page_size=10") == 1
    assert _count_queries(client, "/runs/?page=1&page_size=10") == 1


def test_a_list_that_fits_on_its_page_needs_no_count(client_for, viewer, analyst, demo_params, settings):
    settings.RUN_LIST_COUNT_SECONDS = 0
    run_create(kind="demo", params=demo_params, owner=analyst)
    client = client_for(viewer)
    assert _count_queries(client, "/runs/?page=1") == 0
    assert client.get("/api/runs/").json()["count"] == 1
