"""The Batch Runs API: list with the page's filters, detail, logs, launch, reprocess (preview), roles, schema."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.roles import Role
from finops_admin.models import CostReading
from runs.models import Run, RunStatus
from runs.services import run_create
from tests.finops.conftest import PERIODS

BASE = "/api/finops/admin/runs/"


@pytest.fixture
def api(finops_admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(finops_admin_user)
    return client


@pytest.fixture
def launch(finops_admin_user, django_capture_on_commit_callbacks):
    def _launch(**params) -> Run:
        params.setdefault("periods", ",".join(PERIODS))
        with django_capture_on_commit_callbacks(execute=True):
            run = run_create(kind="finops_batch", params=params, owner=finops_admin_user)
        run.refresh_from_db()
        return run

    return _launch


def test_list_with_filters(sources, launch, api):
    ok = launch(periods="2026-10", domains="open")
    (sources / "public" / "focus_2026-11.csv").write_text("")
    failed = launch()
    body = api.get(BASE).json()
    assert [r["run_id"] for r in body["results"]] == [failed.run_id, ok.run_id]  # start, newest first
    row = {r["run_id"]: r for r in body["results"]}[failed.run_id]
    assert row["status"] == "FAILED" and row["short_error"].startswith("Failed block(s): Public")
    assert {"code": "public", "name": "Public", "status": "FAILED"} in row["domains"]
    assert row["views_refreshed"] == 5 and row["error_count"] >= 1 and row["periods"] == PERIODS
    assert [r["run_id"] for r in api.get(BASE, {"status": "FAILED"}).json()["results"]] == [failed.run_id]
    assert [r["run_id"] for r in api.get(BASE, {"domain": "public"}).json()["results"]] == [failed.run_id]
    assert [r["run_id"] for r in api.get(BASE, {"period": "2026-11"}).json()["results"]] == [failed.run_id]
    assert [r["run_id"] for r in api.get(BASE, {"ordering": "started_at"}).json()["results"]] == [ok.run_id, failed.run_id]
    assert api.get(BASE, {"anomalies": "true"}).json()["count"] == 0
    bad = api.get(BASE, {"period": "2026-13"})
    assert bad.status_code == 400 and "period" in bad.json()


def test_detail_and_logs(sources, launch, api):
    run = launch(periods="2026-11", domains="open,native")
    body = api.get(f"{BASE}{run.run_id}/").json()
    assert body["run_id"] == run.run_id and body["status"] == "SUCCEEDED" and body["code_version"] == run.code_version
    assert [b["domain"] for b in body["blocks"]] == ["open", "native"]
    assert all(b["status"] == "SUCCEEDED" and b["rows_inserted"] > 0 for b in body["blocks"])
    assert len(body["refreshes"]) == 5 and body["log_count"] > 0 and body["log_tail"]
    assert [line["period"] for line in body["period_lines"]] == ["2026-11"]
    logs = api.get(f"{BASE}{run.run_id}/logs/")
    assert logs.status_code == 200 and logs["Content-Type"].startswith("text/plain")
    assert run.run_id in b"".join(logs.streaming_content).decode()
    assert api.get(f"{BASE}run_19990101_001/").status_code == 404
    assert api.get(f"{BASE}run_19990101_001/logs/").status_code == 404


def test_a_run_of_another_kind_is_not_a_batch_run(finops_admin_user, admin_user, demo_params):
    demo = run_create(kind="demo", params=demo_params, owner=admin_user, enqueue=False)
    client = APIClient()
    client.force_authenticate(admin_user)
    assert client.get(f"{BASE}{demo.run_id}/").status_code == 404
    assert client.post(f"{BASE}reprocess/", {"run_id": demo.run_id}, format="json").status_code == 404


def test_launch(sources, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(BASE, {"periods": ["2026-11"], "domains": "open"}, format="json")
    assert response.status_code == 201, response.content
    run = Run.objects.get(run_id=response.json()["run_id"])
    assert run.trigger == "API" and run.params["periods"] == ["2026-11"]
    bad = api.post(BASE, {"periods": "2026-1x", "domains": "mars"}, format="json")
    assert bad.status_code == 400 and "periods" in bad.json() and "domains" in bad.json()
    unknown = api.post(BASE, {"months": "2026-11"}, format="json")
    assert unknown.status_code == 400 and "months" in unknown.json()["detail"]
    assert api.post(BASE, ["2026-11"], format="json").status_code == 400
    assert Run.objects.count() == 1


def test_reprocess_preview_then_launch_replaces_exactly_the_previewed_rows(sources, launch, api,
                                                                           django_capture_on_commit_callbacks):
    first = launch(periods="2026-10,2026-11", domains="open,public")
    preview = api.post(f"{BASE}reprocess/", {"run_id": first.run_id, "preview": True}, format="json")
    assert preview.status_code == 200, preview.content
    plan = preview.json()
    assert plan["preview"] is True and plan["run_id"] is None and plan["source_run"] == first.run_id
    held = {(f"{r.period:%Y-%m}", r.domain.code) for r in CostReading.objects.select_related("domain")}
    assert {(r["period"], r["domain"]) for r in plan["replaced"]} == held
    assert plan["total"] == CostReading.objects.count() == first.finops_batch.rows_inserted
    assert Run.objects.count() == 1  # a preview launches nothing
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{BASE}reprocess/", {"run_id": first.run_id}, format="json")
    assert response.status_code == 201, response.content
    new = Run.objects.get(run_id=response.json()["run_id"])
    assert new.trigger == "REPROCESS" and new.parent_id == first.pk and new.status == RunStatus.SUCCEEDED
    assert new.params["periods"] == first.params["periods"] and new.params["domains"] == first.params["domains"]
    assert new.finops_batch.rows_deleted == plan["total"]  # exactly the previewed rows were replaced
    assert api.get(f"{BASE}{new.run_id}/").json()["parent"] == first.run_id


def test_reprocess_of_an_active_run_is_a_409(sources, api, finops_admin_user):
    pending = run_create(kind="finops_batch", params={"periods": "2026-11"}, owner=finops_admin_user, enqueue=False)
    response = api.post(f"{BASE}reprocess/", {"run_id": pending.run_id}, format="json")
    assert response.status_code == 409 and "still pending" in response.json()["detail"]
    assert api.post(f"{BASE}reprocess/", {}, format="json").status_code == 400
    assert api.post(f"{BASE}reprocess/", {"run_id": "nope"}, format="json").status_code == 404


@pytest.mark.parametrize("role", [Role.FINOPS_USER, Role.VIEWER, Role.ANALYST, Role.ML_ADMIN, Role.GOVERNANCE_ADMIN])
def test_other_roles_cannot_reach_the_api(make_user, sources, launch, role):
    run = launch(periods="2026-11", domains="open")
    client = APIClient()
    client.force_authenticate(make_user(role))
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}{run.run_id}/").status_code == 403
    assert client.get(f"{BASE}{run.run_id}/logs/").status_code == 403
    assert client.post(BASE, {}, format="json").status_code == 403
    assert client.post(f"{BASE}reprocess/", {"run_id": run.run_id, "preview": True}, format="json").status_code == 403
    assert Run.objects.count() == 1


def test_anonymous_gets_401():
    client = APIClient()
    assert client.get(BASE).status_code == 401
    assert client.post(f"{BASE}reprocess/", {}, format="json").status_code == 401


def test_openapi_documents_the_endpoints_and_their_errors(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert set(paths["/api/finops/admin/runs/"]) >= {"get", "post"}
    assert "get" in paths["/api/finops/admin/runs/{run_id}/"] and "get" in paths["/api/finops/admin/runs/{run_id}/logs/"]
    reprocess = paths["/api/finops/admin/runs/reprocess/"]["post"]["responses"]
    assert {"200", "201", "400", "401", "403", "404", "409"} <= set(reprocess)
    listing = paths["/api/finops/admin/runs/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"status", "period", "domain", "trigger", "q", "anomalies",
                                                          "started_after", "started_before", "ordering"}
    assert {"401", "403"} <= set(listing["responses"])
