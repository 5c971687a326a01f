"""Defects the crawl and the schema fuzzer found, each pinned by a test of its own."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from runs.services import run_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(viewer):
    client = APIClient()
    client.force_authenticate(viewer)
    return client


@pytest.fixture
def run(analyst, demo_params):
    return run_create(kind="demo", params=demo_params, owner=analyst)


@pytest.mark.parametrize("offset", ["-16:43", "+23:59"])
def test_a_date_filter_with_any_valid_utc_offset_filters_instead_of_failing(api, run, offset):
    """ISO 8601 allows offsets up to ±23:59; PostgreSQL holds only ±15:59 (a 500 there)."""
    before = api.get("/api/runs/", {"created_before": f"2999-01-15T22:47:26{offset}"})
    after = api.get("/api/runs/", {"created_after": f"2999-01-15T22:47:26{offset}"})
    assert before.status_code == 200 and [r["run_id"] for r in before.json()["results"]] == [run.run_id]
    assert after.status_code == 200 and after.json()["results"] == []


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_a_date_filter_outside_the_calendar_in_utc_is_a_400(api, run, value):
    response = api.get("/api/runs/", {"created_after": value})
    assert response.status_code == 400 and "created_after" in response.json()


@pytest.mark.parametrize("size", ["null", "0", "-2", "2.5", "101", "abc", "１０"])
def test_an_invalid_page_size_is_refused_not_replaced(api, run, size):
    response = api.get("/api/runs/", {"page_size": size})
    assert response.status_code == 400
    assert "page_size" in response.json()


def test_a_page_past_any_table_is_a_404_not_a_database_error(api, run):
    response = api.get("/api/comparisons/", {"page": "1312414314078730991960064"})
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/api/runs.json", "/api/runs/bulk.json/", "/api/runs/{run_id}/logs.json/"])
def test_api_routes_have_no_format_suffix_twins(api, run, path):
    """The `.json` twins of the router's routes answered 500 (their views take no `format`)."""
    response = api.post(path.format(run_id=run.run_id), {}, format="json")
    assert response.status_code == 404
