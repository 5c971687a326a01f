"""Saved run list views: the owner saves, changes, deletes and sets a default; others open
shared views by URL and never see private ones; bad queries are refused with their position."""
import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from runs.models import Run, RunStatus, SavedView
from runs.services.saved_views import saved_view_create

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def runs():
    for i, kind in enumerate(["simulation", "simulation", "demo"]):
        Run.objects.create(run_id=f"run_{i}", kind=kind, status=RunStatus.SUCCEEDED, params_hash="0" * 64,
                           metrics={"lcr": 1.0 + i, "rwa_total": 10.0 - i})


@pytest.fixture
def shared(analyst):
    return saved_view_create(actor=analyst, name="High LCR", query="kind = simulation AND metrics.lcr > 1.5",
                             columns=["metrics.lcr"], sort=["-metrics.rwa_total"], shared=True)


@pytest.fixture
def private(analyst):
    return saved_view_create(actor=analyst, name="Mine", query="kind = demo")


def test_it_saves_a_view_through_the_api_and_audits_it(analyst, runs):
    response = api(analyst).post("/api/views/", {
        "name": "LCR", "query": "metrics.lcr > 1.5", "columns": ["metrics.lcr", "params.mix"],
        "sort": ["metrics.rwa_total DESC"], "shared": True,
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["sort"] == ["-metrics.rwa_total"] and body["url"] == f"/runs/?view={body['id']}"
    assert body["owner"] == analyst.username and body["can_change"] is True
    assert AuditEvent.objects.filter(action="saved_view.create", target=str(body["id"])).exists()


@pytest.mark.parametrize("payload,field", [
    ({"name": "x", "query": "metrics.lcr >"}, "query"),
    ({"name": "x", "columns": ["nope"]}, "columns"),
    ({"name": "x", "sort": ["-tags.x"]}, "sort"),
    ({"name": "   "}, "name"),
])
def test_it_refuses_a_bad_view_and_writes_nothing(analyst, payload, field):
    response = api(analyst).post("/api/views/", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not SavedView.objects.exists()


def test_a_name_is_once_per_owner(analyst, viewer, shared):
    assert api(analyst).post("/api/views/", {"name": "High LCR"}, format="json").status_code == 400
    assert api(viewer).post("/api/views/", {"name": "High LCR"}, format="json").status_code == 201


def test_others_read_shared_views_but_not_private_ones(viewer, shared, private):
    listed = [v["name"] for v in api(viewer).get("/api/views/").json()["results"]]
    assert listed == ["High LCR"]
    assert api(viewer).get(f"/api/views/{shared.pk}/").json()["can_change"] is False
    assert api(viewer).get(f"/api/views/{private.pk}/").status_code == 404


def test_only_the_owner_changes_or_deletes(analyst, viewer, ml_admin, shared):
    for other in (viewer, ml_admin):
        assert api(other).patch(f"/api/views/{shared.pk}/", {"name": "mine now"}, format="json").status_code == 403
        assert api(other).delete(f"/api/views/{shared.pk}/").status_code == 403
    assert SavedView.objects.get(pk=shared.pk).name == "High LCR"
    assert api(analyst).patch(f"/api/views/{shared.pk}/", {"shared": False}, format="json").status_code == 200
    assert api(viewer).get(f"/api/views/{shared.pk}/").status_code == 404
    assert api(analyst).delete(f"/api/views/{shared.pk}/").status_code == 204
    assert not SavedView.objects.exists()


def test_roles_without_runs_have_no_views(finops_admin, shared):
    assert api(finops_admin).get("/api/views/").status_code == 403
    assert api(finops_admin).get(f"/api/views/{shared.pk}/").status_code == 403


def test_one_default_per_owner(analyst, shared, private):
    assert api(analyst).patch(f"/api/views/{shared.pk}/", {"is_default": True}, format="json").status_code == 200
    assert api(analyst).patch(f"/api/views/{private.pk}/", {"is_default": True}, format="json").status_code == 200
    assert list(SavedView.objects.filter(is_default=True).values_list("name", flat=True)) == ["Mine"]


def test_a_shared_url_opens_the_view_with_its_query_columns_and_sort(viewer, shared, runs, client):
    client.force_login(viewer)
    page = client.get(f"/runs/?view={shared.pk}")
    assert page.status_code == 200
    assert [r.run_id for r in page.context["runs"]] == ["run_1"]
    html = page.content.decode()
    assert "metrics.lcr</a></th>" in html and 'id="saved-view-link"' in html
    assert 'id="view-delete"' not in html  # not the owner
    assert client.get("/runs/?view=999999").status_code == 404


def test_the_page_saves_the_list_on_screen_and_a_bare_list_opens_the_default(analyst, runs, client):
    client.force_login(analyst)
    response = client.post("/runs/views/", {
        "name": "Sims", "filter": "kind = simulation", "columns": "metrics.rwa_total",
        "ordering": "metrics.rwa_total", "is_default": "1",
    })
    view = SavedView.objects.get(name="Sims")
    assert response.status_code == 302 and response["Location"].endswith(f"?view={view.pk}")
    assert view.is_default and view.sort == ["metrics.rwa_total"] and view.columns == ["metrics.rwa_total"]
    bare = client.get("/runs/")
    assert [r.run_id for r in bare.context["runs"]] == ["run_1", "run_0"]
    client.post(f"/runs/views/{view.pk}/default/", {"is_default": "0"})
    assert len(client.get("/runs/").context["runs"]) == 3
    refused = client.post("/runs/views/", {"name": "Bad", "filter": "kind ="})
    assert refused.status_code == 302 and not SavedView.objects.filter(name="Bad").exists()


def test_the_page_refuses_others_changes(viewer, shared, client):
    client.force_login(viewer)
    assert client.post(f"/runs/views/{shared.pk}/default/").status_code == 403
    assert client.post(f"/runs/views/{shared.pk}/delete/").status_code == 403
    assert SavedView.objects.filter(pk=shared.pk, is_default=False).exists()
