"""The runs API: who may do what, bad input, filters, logs."""
import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create, api_key_revoke
from runs.models import Run, RunFavourite, RunStatus, Tag
from runs.services import run_create

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def runs(analyst, demo_params):
    a = run_create(kind="demo", params=demo_params, owner=analyst, tags=["nightly"], notes="baseline check")
    b = run_create(kind="demo", params={**demo_params, "seed": 9}, owner=analyst)
    Run.objects.filter(pk=b.pk).update(status=RunStatus.FAILED, is_favourite=True)
    return a, b


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", "/api/runs/"),
        ("post", "/api/runs/"),
        ("get", "/api/runs/run_x/"),
        ("get", "/api/runs/run_x/logs/"),
        ("post", "/api/runs/run_x/cancel/"),
        ("get", "/api/kinds/"),
        ("get", "/api/schema/"),
        ("get", "/api/docs/"),
    ],
)
def test_anonymous_calls_are_refused(method, url):
    response = getattr(api(), method)(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"


def test_a_viewer_lists_and_reads_runs(viewer, runs):
    response = api(viewer).get("/api/runs/")
    assert response.status_code == 200
    assert response.json()["count"] == 2
    detail = api(viewer).get(f"/api/runs/{runs[0].run_id}/")
    assert detail.status_code == 200 and detail.json()["params"]["seed"] == 7


def test_a_viewer_cannot_launch(viewer, demo_params):
    response = api(viewer).post("/api/runs/", {"kind": "demo", "params": demo_params}, format="json")
    assert response.status_code == 403
    assert not Run.objects.exists()


def test_a_viewer_cannot_cancel(viewer, runs):
    response = api(viewer).post(f"/api/runs/{runs[0].run_id}/cancel/")
    assert response.status_code == 403
    assert Run.objects.get(pk=runs[0].pk).status == RunStatus.PENDING


def test_a_user_with_no_role_sees_no_runs(make_user, runs):
    response = api(make_user()).get("/api/runs/")
    assert response.status_code == 200 and response.json()["count"] == 0
    assert api(make_user()).get(f"/api/runs/{runs[0].run_id}/").status_code == 404


def test_an_analyst_launches_a_run(analyst, demo_params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(analyst).post(
            "/api/runs/", {"kind": "demo", "params": demo_params, "tags": ["api"]}, format="json"
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["trigger"] == "API" and body["owner"] == analyst.username and body["tags"] == ["api"]
    run = Run.objects.get(run_id=body["run_id"])
    assert run.status == RunStatus.SUCCEEDED


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"kind": "nope", "params": {}}, "kind"),
        ({"kind": "demo", "params": {"steps": -1}}, "steps"),
        ({"kind": "demo", "params": {"steps": "many"}}, "steps"),
        ({"kind": "demo", "params": {"unknown": 1}}, "params"),
        ({"kind": "demo", "params": [1, 2]}, "params"),
    ],
)
def test_bad_launch_input_is_a_400_naming_the_field(analyst, payload, field):
    response = api(analyst).post("/api/runs/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Run.objects.exists()


def test_malformed_json_is_a_400(analyst):
    response = api(analyst).post("/api/runs/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_the_list_filters(viewer, runs):
    RunFavourite.objects.create(user=viewer, run=runs[1])  # favourites are per user
    client = api(viewer)
    assert [r["run_id"] for r in client.get("/api/runs/?status=FAILED").json()["results"]] == [runs[1].run_id]
    assert [r["run_id"] for r in client.get("/api/runs/?favourite=true").json()["results"]] == [runs[1].run_id]
    assert [r["run_id"] for r in client.get("/api/runs/?tag=nightly").json()["results"]] == [runs[0].run_id]
    assert [r["run_id"] for r in client.get("/api/runs/?q=baseline").json()["results"]] == [runs[0].run_id]
    assert [r["run_id"] for r in client.get("/api/runs/?q=nightl").json()["results"]] == [runs[0].run_id]
    assert client.get("/api/runs/?kind=demo&trigger=MANUAL").json()["count"] == 2
    assert client.get("/api/runs/?created_after=2999-01-01T00:00:00Z").json()["count"] == 0
    ordered = client.get("/api/runs/?ordering=run_id").json()["results"]
    assert [r["run_id"] for r in ordered] == sorted(r.run_id for r in runs)


def test_a_bad_filter_value_is_a_400(viewer, runs):
    response = api(viewer).get("/api/runs/?status=EXPLODED")
    assert response.status_code == 400
    assert "status" in response.json()


def test_page_size_is_capped(viewer, runs):
    response = api(viewer).get("/api/runs/?page_size=1")
    assert len(response.json()["results"]) == 1 and response.json()["next"]


def test_logs_follow_a_run(viewer, runs):
    run = runs[0]
    logs = api(viewer).get(f"/api/runs/{run.run_id}/logs/").json()["results"]
    assert logs[0]["message"].startswith("Created by")
    after = api(viewer).get(f"/api/runs/{run.run_id}/logs/?after={logs[-1]['id']}").json()
    assert after["results"] == []
    assert api(viewer).get(f"/api/runs/{run.run_id}/logs/?level=LOUD").status_code == 400
    assert api(viewer).get(f"/api/runs/{run.run_id}/logs/?after=x").status_code == 400


def test_the_owner_cancels_a_pending_run(analyst, runs):
    response = api(analyst).post(f"/api/runs/{runs[0].run_id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "CANCELLED"
    again = api(analyst).post(f"/api/runs/{runs[0].run_id}/cancel/")
    assert again.status_code == 409


def test_kinds_lists_what_the_caller_may_launch(analyst, viewer):
    kinds = {k["name"]: k for k in api(analyst).get("/api/kinds/").json()}
    assert "demo" in kinds and kinds["demo"]["is_demo"] and kinds["demo"]["params"]["steps"]["min"] == 1
    assert api(viewer).get("/api/kinds/").json() == []


def test_an_api_key_authenticates_until_revoked(analyst, runs):
    key, secret = api_key_create(owner=analyst, name="ci")
    client = APIClient()
    assert client.get("/api/runs/", HTTP_AUTHORIZATION=f"Api-Key {secret}").status_code == 200
    assert client.get("/api/runs/", HTTP_AUTHORIZATION="Api-Key wrong").status_code == 401
    api_key_revoke(key=key, actor=analyst)
    response = client.get("/api/runs/", HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_the_schema_and_docs_work_offline(viewer):
    schema = api(viewer).get("/api/schema/")
    assert schema.status_code == 200 and b"/api/runs/" in schema.content
    docs = api(viewer).get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


def test_tags_are_shared_objects(analyst, demo_params):
    run_create(kind="demo", params=demo_params, owner=analyst, tags=["x", "x ", "y"])
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["x", "y"]
