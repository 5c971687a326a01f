"""Multi-valued filters of the run list are bounded, and the tag filter costs one subquery."""
from __future__ import annotations

import pytest

from runs.filters import RunFilter
from runs.models import Run
from runs.services import run_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(analyst, demo_params):
    both = run_create(kind="demo", params=demo_params, owner=analyst, tags=["a", "b"])
    only_a = run_create(kind="demo", params=demo_params, owner=analyst, tags=["a"])
    return both, only_a


def test_the_tag_filter_keeps_runs_holding_every_tag(client_for, analyst, tagged):
    both, only_a = tagged
    rows = client_for(analyst).get("/api/runs/?tag=a,b").json()["results"]
    assert [r["run_id"] for r in rows] == [both.run_id]
    rows = client_for(analyst).get("/api/runs/?tag=a").json()["results"]
    assert {r["run_id"] for r in rows} == {both.run_id, only_a.run_id}
    assert client_for(analyst).get("/api/runs/?tag=a,zzz").json()["results"] == []
    # Repeating a tag is the same as naming it once.
    assert [r["run_id"] for r in client_for(analyst).get("/api/runs/?tag=a,b,a").json()["results"]] == [both.run_id]


def test_the_tag_filter_is_one_subquery_whatever_the_number_of_tags(analyst, settings):
    settings.RUN_FILTER_MAX_VALUES = 1000
    few = RunFilter({"tag": "t0,t1"}, queryset=Run.objects.all()).qs
    many = RunFilter({"tag": ",".join(f"t{i}" for i in range(200))}, queryset=Run.objects.all()).qs
    assert str(many.query).count("SELECT") == str(few.query).count("SELECT")


@pytest.mark.parametrize("query", [
    "tag=" + ",".join(f"t{i}" for i in range(51)),
    "&".join(["status=PENDING"] * 51),
    "&".join(["trigger=MANUAL"] * 51),
    "&".join(["kind=demo"] * 51),
])
def test_more_values_than_the_limit_are_refused_naming_it(client_for, analyst, query):
    response = client_for(analyst).get(f"/api/runs/?{query}")
    assert response.status_code == 400
    assert "at most 50" in str(response.json())
    page = client_for(analyst).get(f"/runs/?{query}")
    assert page.status_code in (200, 400) and b"at most 50" in page.content


def test_the_limit_is_a_setting(client_for, analyst, settings):
    settings.RUN_FILTER_MAX_VALUES = 3
    assert client_for(analyst).get("/api/runs/?tag=a,b,c").status_code == 200
    response = client_for(analyst).get("/api/runs/?tag=a,b,c,d")
    assert response.status_code == 400 and "at most 3" in str(response.json())
