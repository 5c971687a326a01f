""""My favourites" read from the favourites' own index (RunFavourite.run_created_at,
run_favourite_newest): every star holds its run's date, and the list shows the same
runs in the same order as a sort of the runs themselves."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from runs import selectors
from runs.filters import RunFilter
from runs.models import Run, RunFavourite, RunStatus
from runs.services import run_annotate, runs_set_favourite

pytestmark = pytest.mark.django_db


@pytest.fixture
def starred(analyst, make_user):
    """Ten runs an hour apart, two pairs sharing a date (ties go by id), six starred by the
    analyst (one of each pair), three of them also by another analyst, one star of a demo
    run the analyst's list still shows."""
    now = timezone.now()
    runs = []
    for i in range(10):
        run = Run.objects.create(
            run_id=f"run_fav_{i:02d}", kind="simulation" if i % 2 else "demo", status=RunStatus.SUCCEEDED,
            params={}, params_hash="0" * 64,
        )
        hours = i - 1 if i in (3, 7) else i  # 2 and 3, 6 and 7 share their dates
        Run.objects.filter(pk=run.pk).update(created_at=now - timedelta(hours=hours))
        run.refresh_from_db()
        runs.append(run)
    mine = [runs[i] for i in (0, 2, 3, 5, 7, 9)]
    runs_set_favourite(runs=mine, actor=analyst, value=True)
    from accounts.roles import Role

    other = make_user(Role.ANALYST)
    runs_set_favourite(runs=[runs[1], runs[3], runs[9]], actor=other, value=True)
    return runs, mine


def _newest_first(runs: list[Run]) -> list[str]:
    return [r.run_id for r in sorted(runs, key=lambda r: (r.created_at, r.pk), reverse=True)]


def test_a_star_holds_its_runs_date_however_it_is_made(analyst, starred):
    runs, _ = starred
    for favourite in RunFavourite.objects.select_related("run"):
        assert favourite.run_created_at == favourite.run.created_at
    RunFavourite.objects.filter(run=runs[4]).delete()
    run_annotate(run=runs[4], actor=analyst, is_favourite=True)
    made_by_create = RunFavourite.objects.create(user=analyst, run_id=runs[6].pk)  # no run object in hand
    assert made_by_create.run_created_at == runs[6].created_at
    assert RunFavourite.objects.get(user=analyst, run=runs[4]).run_created_at == runs[4].created_at


def test_the_api_lists_my_favourites_newest_first(analyst, starred):
    _, mine = starred
    client = APIClient()
    client.force_authenticate(analyst)
    body = client.get("/api/runs/?favourite=true").json()
    assert body["count"] == 6
    got = [r["run_id"] for r in body["results"]]
    assert set(got) == {r.run_id for r in mine}
    dates = [r["created_at"] for r in body["results"]]  # the model's order: equal dates either way round
    assert dates == sorted(dates, reverse=True)
    explicit = client.get("/api/runs/?favourite=true&ordering=-created_at&page_size=4").json()
    rest = client.get(explicit["next"]).json()
    assert [r["run_id"] for r in explicit["results"] + rest["results"]] == _newest_first(mine)


def test_the_page_lists_my_favourites_newest_first_with_ties_by_id(client_for, analyst, starred):
    _, mine = starred
    response = client_for(analyst).get("/runs/?favourite=true")
    assert [r.run_id for r in response.context["page_obj"].object_list] == _newest_first(mine)


def test_other_sorts_and_filters_keep_working_with_favourites(analyst, starred):
    _, mine = starred
    client = APIClient()
    client.force_authenticate(analyst)
    oldest = client.get("/api/runs/?favourite=true&ordering=created_at").json()
    oldest_first = sorted(sorted(mine, key=lambda r: r.pk, reverse=True), key=lambda r: r.created_at)  # ties: id DESC
    assert [r["run_id"] for r in oldest["results"]] == [r.run_id for r in oldest_first]
    by_id = client.get("/api/runs/?favourite=true&ordering=-run_id&kind=simulation").json()
    assert [r["run_id"] for r in by_id["results"]] == sorted((r.run_id for r in mine if r.kind == "simulation"), reverse=True)
    not_mine = client.get("/api/runs/?favourite=false").json()
    assert {r["run_id"] for r in not_mine["results"]} == {f"run_fav_{i:02d}" for i in (1, 4, 6, 8)}
    assert all(r["is_favourite"] for r in client.get("/api/runs/?favourite=true").json()["results"])


def _favourites_queryset(user, data: dict[str, str]):
    request = RequestFactory().get("/runs/")
    request.user = user
    return RunFilter(data=data, queryset=selectors.run_list(user=user), request=request).qs


@pytest.mark.parametrize("data", [{"favourite": "true"}, {"favourite": "true", "ordering": "-created_at"}])
def test_the_newest_first_order_is_read_from_the_favourites(analyst, starred, data):
    sql = str(_favourites_queryset(analyst, data).query)
    assert 'ORDER BY "runs_runfavourite"."run_created_at" DESC, "runs_runfavourite"."run_id" DESC' in sql


def test_another_order_is_left_as_it_is(analyst, starred):
    sql = str(_favourites_queryset(analyst, {"favourite": "true", "ordering": "status"}).query)
    assert "run_created_at" not in sql.split("ORDER BY")[1]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_the_favourites_page_is_a_range_of_their_index(analyst, starred):
    with connection.cursor() as cursor:
        # Ten runs are cheaper to sort than to read through an index: show which plan the
        # order allows rather than what the planner picks at this size.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    plan = _favourites_queryset(analyst, {"favourite": "true"})[:5].explain()
    assert "run_favourite_newest" in plan and "Sort" not in plan, plan
