"""Pages: the upload page, the simulation panel of the run page, the report and file downloads."""
from __future__ import annotations

import io

import openpyxl
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from runs.artifacts import artifact_read
from runs.models import Run, RunArtifact, RunStatus
from simulations.engine import EXPLAIN_COLUMNS, SimulationConfig, generate_portfolio
from simulations.models import CachedResult, ParameterSet
from simulations.report import SHEETS

pytestmark = pytest.mark.usefixtures("sim_env")

COMPUTE = "/simulations/compute/"


@pytest.fixture
def book_csv() -> bytes:
    buffer = io.StringIO()
    generate_portfolio(3, 1_000, SimulationConfig()).to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def _stored() -> tuple[int, ...]:
    return Run.objects.count(), RunArtifact.objects.count(), CachedResult.objects.count(), ParameterSet.objects.count()


# ---------------------------------------------------------------------------
# Upload page
# ---------------------------------------------------------------------------
def test_the_compute_page_is_at_its_url():
    assert reverse("simulations:compute") == COMPUTE


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(COMPUTE)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_someone_who_may_not_see_runs_is_refused(client_for, finops_admin):
    assert client_for(finops_admin).get(COMPUTE).status_code == 403


def test_a_viewer_computes_the_metrics_of_a_file_and_nothing_is_stored(client_for, viewer, book_csv):
    client = client_for(viewer)
    assert client.get(COMPUTE).status_code == 200
    before = _stored()
    response = client.post(COMPUTE, {"positions": SimpleUploadedFile("mybank.csv", book_csv), "action": "show"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Results for mybank.csv" in page and "1,000 positions (CSV)" in page
    assert "Regulatory ratios" in page and "LCR composition" in page and "NSFR composition" in page
    assert 'id="sim-charts"' in page and "chart.umd.min.js" in page
    assert _stored() == before


def test_the_page_returns_the_explain_parquet(client_for, viewer, book_csv):
    capital = SimpleUploadedFile("capital.json", b'{"cet1": 600000000}')
    response = client_for(viewer).post(
        COMPUTE, {"positions": SimpleUploadedFile("mybank.csv", book_csv), "capital": capital, "action": "explain"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/vnd.apache.parquet"
    assert 'filename="mybank-explain.parquet"' in response["Content-Disposition"]
    table = pq.read_table(io.BytesIO(response.content))
    assert table.num_rows == 1_000 and tuple(table.column_names) == EXPLAIN_COLUMNS


def test_a_bad_file_is_a_form_error_naming_row_and_column(client_for, viewer, book_csv):
    lines = book_csv.decode().splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")
    row[header.index("product")] = "crypto"
    lines[3] = ",".join(row)
    before = _stored()
    response = client_for(viewer).post(COMPUTE, {"positions": SimpleUploadedFile("bad.csv", "\n".join(lines).encode())})
    assert response.status_code == 400
    page = response.content.decode()
    assert "row 3, column &#x27;product&#x27;" in page and "crypto" in page
    assert "Results for" not in page
    assert _stored() == before


def test_a_bad_capital_file_is_a_form_error(client_for, viewer, book_csv):
    response = client_for(viewer).post(
        COMPUTE,
        {"positions": SimpleUploadedFile("b.csv", book_csv), "capital": SimpleUploadedFile("c.json", b'{"tier1": 5}')},
    )
    assert response.status_code == 400
    assert "capital field &#x27;tier1&#x27;: unknown field" in response.content.decode()


# ---------------------------------------------------------------------------
# The run page
# ---------------------------------------------------------------------------
def test_the_run_page_shows_the_simulation_panel(client_for, viewer, analyst, launch):
    launch(analyst)
    served = launch(analyst)
    page = client_for(viewer).get(f"/runs/{served.run_id}/").content.decode()
    assert 'id="simulation-panel"' in page and "served from cache" in page
    assert "Regulatory ratios" in page and "RWA by exposure class" in page and "Stats by product" in page
    assert "LCR composition" in page and "NSFR composition" in page and "HQLA by level" in page
    assert f"/simulations/runs/{served.run_id}/report.xlsx" in page
    assert f"/simulations/runs/{served.run_id}/files/positions.parquet" in page
    assert "sim-chart-rwa" in page and "js/simulations.js" in page
    assert ">pass<" in page


def test_the_panel_of_a_computed_run_says_so(client_for, analyst, launch):
    run = launch(analyst, use_cache=False)
    page = client_for(analyst).get(f"/runs/{run.run_id}/").content.decode()
    assert "Cache bypassed on request (force recompute)" in page


def test_the_panel_of_a_pending_run_waits_for_results(client_for, analyst):
    from runs.services import run_create

    run = run_create(kind="simulation", params={"seed": 1, "n_positions": 500}, owner=analyst, enqueue=False)
    page = client_for(analyst).get(f"/runs/{run.run_id}/").content.decode()
    assert "Results appear here when the run succeeds" in page


# ---------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------
def test_the_report_downloads_with_its_sheets_and_is_cached(client_for, viewer, analyst, launch):
    run = launch(analyst)
    client = client_for(viewer)
    response = client.get(f"/simulations/runs/{run.run_id}/report.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f'filename="{run.run_id}-report.xlsx"' in response["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == list(SHEETS)
    assert {"Summary", "RWA by class", "LCR", "NSFR", "Capital"} <= set(workbook.sheetnames)
    summary_values = [cell.value for row in workbook["Summary"].iter_rows() for cell in row]
    assert "CET1 ratio" in summary_values and run.metrics["cache"]["params_hash"] in summary_values

    entry = CachedResult.objects.get(kind="report")
    assert entry.format == "xlsx" and entry.hit_count == 0
    again = client.get(f"/simulations/runs/{run.run_id}/report.xlsx")
    assert again.content == response.content
    entry.refresh_from_db()
    assert entry.hit_count == 1


def test_the_report_is_refused_without_permission(client, client_for, finops_admin, analyst, launch):
    run = launch(analyst)
    url = f"/simulations/runs/{run.run_id}/report.xlsx"
    assert client.get(url).status_code == 302
    assert client_for(finops_admin).get(url).status_code == 403


def test_a_run_that_is_not_a_simulation_has_no_report(
    client_for, analyst, demo_params, django_capture_on_commit_callbacks
):
    from runs.services import run_create

    with django_capture_on_commit_callbacks(execute=True):
        demo = run_create(kind="demo", params=demo_params, owner=analyst)
    assert client_for(analyst).get(f"/simulations/runs/{demo.run_id}/report.xlsx").status_code == 404


def test_a_result_file_downloads_as_stored(client_for, viewer, analyst, launch):
    run = launch(analyst)
    artifact = run.artifacts.get(name="positions.parquet")
    response = client_for(viewer).get(f"/simulations/runs/{run.run_id}/files/positions.parquet")
    assert response.status_code == 200 and response["Content-Type"] == "application/vnd.apache.parquet"
    assert b"".join(response.streaming_content) == artifact_read(artifact)
    assert client_for(viewer).get(f"/simulations/runs/{run.run_id}/files/nope.parquet").status_code == 404


def test_a_failed_run_has_no_report(client_for, analyst):
    from runs.services import run_create

    run = run_create(kind="simulation", params={"seed": 1, "n_positions": 500}, owner=analyst, enqueue=False)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    assert client_for(analyst).get(f"/simulations/runs/{run.run_id}/report.xlsx").status_code == 404


# ---------------------------------------------------------------------------
# The launch form (the run core's page, with the simulation's parameters)
# ---------------------------------------------------------------------------
def test_the_launch_form_has_the_force_recompute_checkbox(
    client_for, analyst, launch, django_capture_on_commit_callbacks
):
    client = client_for(analyst)
    page = client.get("/runs/launch/simulation/").content.decode()
    assert 'name="p-n_positions"' in page and 'name="p-use_cache"' in page and "checked" in page
    launch(analyst)
    form = {
        "p-seed": "7", "p-n_positions": "2000", "p-total_assets_eur": "10000000000", "p-off_balance_ratio": "0.12",
        "p-derivative_ratio": "0.02", "p-include_off_balance": "on", "p-countercyclical_buffer": "0",
    }
    with django_capture_on_commit_callbacks(execute=True):
        recomputed = client.post("/runs/launch/simulation/", form)  # use_cache left unticked
    with django_capture_on_commit_callbacks(execute=True):
        served = client.post("/runs/launch/simulation/", {**form, "p-use_cache": "on"})
    assert recomputed.status_code == served.status_code == 302
    runs = list(Run.objects.order_by("created_at"))
    assert [r.metrics["cache"]["hit"] for r in runs] == [False, False, True]
    assert runs[1].metrics["cache"]["use_cache"] is False


def test_a_viewer_cannot_open_the_launch_form(client_for, viewer):
    assert client_for(viewer).get("/runs/launch/simulation/").status_code == 403
