"""API: computing an uploaded book, launching simulations, the report and result files, the schema."""
from __future__ import annotations

import io

import openpyxl
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from runs.models import Run, RunArtifact
from simulations.engine import SimulationConfig, frame_to_parquet_bytes, generate_portfolio
from simulations.models import CachedResult, ParameterSet
from simulations.report import SHEETS

pytestmark = pytest.mark.usefixtures("sim_env")

COMPUTE = "/api/simulations/compute/"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def book_parquet() -> bytes:
    return frame_to_parquet_bytes(generate_portfolio(5, 1_200, SimulationConfig(include_derivatives=True)))


def _stored() -> tuple[int, ...]:
    return Run.objects.count(), RunArtifact.objects.count(), CachedResult.objects.count(), ParameterSet.objects.count()


def test_a_viewer_computes_an_uploaded_book(viewer, book_parquet):
    before = _stored()
    upload = {"positions": SimpleUploadedFile("b.parquet", book_parquet)}
    response = api(viewer).post(COMPUTE, upload, format="multipart")
    assert response.status_code == 200
    body = response.json()
    assert body["positions"] == 1_200 and body["format"] == "parquet"
    assert set(body) >= {
        "summary", "checks", "rwa_by_class", "stats_by_product", "lcr", "nsfr", "capital", "capital_stack",
    }
    assert body["summary"]["n_positions"] == 1_200 and body["nsfr"]["ratio"] > 0
    assert _stored() == before


def test_the_api_returns_the_explain_parquet_on_request(viewer, book_parquet):
    response = api(viewer).post(
        f"{COMPUTE}?explain=1",
        {"positions": SimpleUploadedFile("b.parquet", book_parquet),
         "capital": SimpleUploadedFile("c.json", b'{"cet1": 1e9, "at1": 0, "tier2": 0}')},
        format="multipart",
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/vnd.apache.parquet"
    assert pq.read_table(io.BytesIO(response.content)).num_rows == 1_200


def test_anonymous_callers_get_401(book_parquet):
    response = api().post(COMPUTE, {"positions": SimpleUploadedFile("b.parquet", book_parquet)}, format="multipart")
    assert response.status_code == 401


def test_callers_who_may_not_see_runs_get_403(finops_admin, book_parquet):
    response = api(finops_admin).post(
        COMPUTE, {"positions": SimpleUploadedFile("b.parquet", book_parquet)}, format="multipart"
    )
    assert response.status_code == 403


def test_a_bad_file_is_a_400_naming_row_and_column(viewer):
    csv = b"position_id,product,notional\nA,cash,100\nB,cash,oops\n"
    before = _stored()
    response = api(viewer).post(COMPUTE, {"positions": SimpleUploadedFile("b.csv", csv)}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "positions" and body["row"] == 2 and body["column"] == "notional"
    assert body["detail"].startswith("row 2, column 'notional'")
    assert _stored() == before


def test_a_missing_column_is_a_400_without_a_row(viewer):
    response = api(viewer).post(
        COMPUTE, {"positions": SimpleUploadedFile("b.csv", b"position_id,notional\nA,100\n")}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["row"] is None and response.json()["column"] == "product"


def test_a_bad_capital_file_is_a_400_naming_the_field(viewer, book_parquet):
    response = api(viewer).post(
        COMPUTE,
        {
            "positions": SimpleUploadedFile("b.parquet", book_parquet),
            "capital": SimpleUploadedFile("c.json", b'{"cet1": "x"}'),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "capital" and response.json()["column"] == "cet1"


def test_a_missing_positions_file_is_a_400(viewer):
    response = api(viewer).post(COMPUTE, {}, format="multipart")
    assert response.status_code == 400 and "positions" in response.json()


# ---------------------------------------------------------------------------
# Launching and downloads
# ---------------------------------------------------------------------------
def test_an_analyst_launches_a_simulation_with_force_recompute(analyst, django_capture_on_commit_callbacks):
    client = api(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(
            "/api/runs/", {"kind": "simulation", "params": {"seed": 4, "n_positions": 1_000}}, format="json"
        )
    with django_capture_on_commit_callbacks(execute=True):
        forced = client.post(
            "/api/runs/", {"kind": "simulation", "params": {"seed": 4, "n_positions": 1_000, "use_cache": False}},
            format="json",
        )
    assert first.status_code == forced.status_code == 201
    runs = {r.run_id: r for r in Run.objects.all()}
    done_first, done_forced = runs[first.json()["run_id"]], runs[forced.json()["run_id"]]
    assert done_first.metrics["cache"]["hit"] is False and done_forced.metrics["cache"]["use_cache"] is False
    assert done_forced.metrics["cache"]["hit"] is False and done_forced.checksum == done_first.checksum


def test_a_bad_launch_names_the_field(analyst):
    response = api(analyst).post("/api/runs/", {"kind": "simulation", "params": {"n_positions": 5}}, format="json")
    assert response.status_code == 400 and "n_positions" in response.json()


def test_the_kinds_endpoint_lists_the_simulation(analyst):
    kinds = {k["name"]: k for k in api(analyst).get("/api/kinds/").json()}
    assert "simulation" in kinds


def test_the_report_downloads_from_the_api(viewer, analyst, launch):
    run = launch(analyst)
    client = api(viewer)
    first = client.get(f"/api/simulations/runs/{run.run_id}/report/", HTTP_ACCEPT="application/json")
    assert first.status_code == 200 and first["X-Cache"] == "miss"
    assert openpyxl.load_workbook(io.BytesIO(first.content)).sheetnames == list(SHEETS)
    assert client.get(f"/api/simulations/runs/{run.run_id}/report/")["X-Cache"] == "hit"


def test_the_report_is_refused_without_permission(finops_admin, analyst, launch):
    run = launch(analyst)
    url = f"/api/simulations/runs/{run.run_id}/report/"
    assert api().get(url).status_code == 401
    assert api(finops_admin).get(url).status_code == 404  # runs one may not see do not exist


def test_a_result_file_downloads_from_the_api(viewer, analyst, launch):
    run = launch(analyst)
    response = api(viewer).get(f"/api/simulations/runs/{run.run_id}/files/summary.json/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert b'"n_positions":2000' in b"".join(response.streaming_content)
    assert api(viewer).get(f"/api/simulations/runs/{run.run_id}/files/nope/").status_code == 404


# ---------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------
def test_the_schema_describes_the_endpoints_without_warnings(settings):
    from drf_spectacular.checks import schema_check
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    problems = [str(message.msg) for message in schema_check(None)]
    assert not [p for p in problems if "simulations" in p.lower()], problems
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert "/api/simulations/compute/" in paths
    assert "/api/simulations/runs/{run_id}/report/" in paths
    assert "multipart/form-data" in paths["/api/simulations/compute/"]["post"]["requestBody"]["content"]
