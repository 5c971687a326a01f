"""Favourites are per user; cleanup keeps a run as long as anyone starred it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import Role
from runs.models import Run, RunFavourite, RunStatus
from runs.selectors.cleanup import cleanup_plan
from runs.services import run_create, runs_set_favourite

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def other(make_user):
    return make_user(Role.ANALYST, username="other")


@pytest.fixture
def run(analyst, demo_params):
    return run_create(kind="demo", params=demo_params, owner=analyst)


def test_a_star_is_the_callers_own(analyst, other, run):
    assert api(analyst).patch(f"/api/runs/{run.run_id}/", {"is_favourite": True}, format="json").json()["is_favourite"]
    assert api(analyst).get(f"/api/runs/{run.run_id}/").json()["is_favourite"] is True
    assert api(other).get(f"/api/runs/{run.run_id}/").json()["is_favourite"] is False
    assert [r["run_id"] for r in api(analyst).get("/api/runs/?favourite=true").json()["results"]] == [run.run_id]
    assert api(other).get("/api/runs/?favourite=true").json()["results"] == []
    assert [r["run_id"] for r in api(other).get("/api/runs/?favourite=false").json()["results"]] == [run.run_id]
    assert api(other).get("/api/runs/").json()["results"][0]["is_favourite"] is False
    assert api(analyst).get("/api/runs/?ordering=-favourite").status_code == 200


def test_unstarring_removes_only_the_callers_star(analyst, other, run):
    runs_set_favourite(runs=[run], actor=analyst, value=True)
    api(other).post("/api/runs/bulk/", {"action": "favourite", "runs": [run.run_id]}, format="json")
    api(other).post("/api/runs/bulk/", {"action": "unfavourite", "runs": [run.run_id]}, format="json")
    assert list(RunFavourite.objects.values_list("user__username", flat=True)) == [analyst.username]
    assert Run.objects.get(pk=run.pk).is_favourite  # still someone's favourite
    runs_set_favourite(runs=[run], actor=analyst, value=False)
    assert not Run.objects.get(pk=run.pk).is_favourite


def test_cleanup_keeps_a_run_anyone_starred_and_the_page_says_so(client_for, admin_user, analyst, run):
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED, created_at=timezone.now() - timedelta(days=60), finished_at=timezone.now()
    )
    runs_set_favourite(runs=[run], actor=analyst, value=True)
    plan = cleanup_plan(days=30, user=admin_user)
    assert [k.run_id for k in plan.kept] == [run.run_id] and "favourite" in plan.kept[0].reason
    page = client_for(admin_user).get(f"/runs/{run.run_id}/").content.decode()
    assert "favourite of 1 other user · kept by cleanup" in page
    assert "☆ Mark favourite" in page  # not the admin's own favourite
    mine = client_for(analyst).get(f"/runs/{run.run_id}/").content.decode()
    assert "★ My favourite" in mine and "favourite-others" not in mine


def test_the_browsable_patch_form_holds_the_callers_annotations(analyst, other, run, client_for):
    runs_set_favourite(runs=[run], actor=analyst, value=True)
    page = client_for(other).get(f"/api/runs/{run.run_id}/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert "&quot;is_favourite&quot;: false" in page.content.decode()


def test_the_csv_export_marks_the_callers_favourites(client_for, analyst, other, run):
    runs_set_favourite(runs=[run], actor=analyst, value=True)
    mine = b"".join(client_for(analyst).get("/runs/export.csv").streaming_content).decode().splitlines()
    theirs = b"".join(client_for(other).get("/runs/export.csv").streaming_content).decode().splitlines()
    column = mine[0].split(",").index("is_favourite")
    assert mine[1].split(",")[column] == "yes" and theirs[1].split(",")[column] == "no"
