"""CSV export of the filtered list, logs as text, the validation panel."""
import csv
import io

import pytest
from django.core.files.storage import storages
from rest_framework.test import APIClient

from runs.models import Run
from runs.selectors.listing import CSV_COLUMNS
from runs.services import run_create, run_log

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(analyst, demo_params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        done = run_create(kind="demo", params=demo_params, owner=analyst, tags=["b", "a"], notes="line, with comma")
    pending = run_create(kind="demo", params=demo_params, owner=analyst)
    done.refresh_from_db()
    return done, pending


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_has_every_column_and_exactly_the_filtered_runs(client_for, viewer, runs):
    done, pending = runs
    rows = _csv(client_for(viewer).get("/runs/export.csv?status=SUCCEEDED"))
    assert [r["run_id"] for r in rows] == [done.run_id]
    row = rows[0]
    assert list(row) == CSV_COLUMNS
    assert row["tags"] == "a;b" and row["notes"] == "line, with comma"
    assert row["started_at"] and row["finished_at"] and float(row["duration_seconds"]) >= 0
    assert row["checksum"] == done.checksum


def test_the_api_csv_uses_the_same_filters(viewer, runs):
    client = APIClient()
    client.force_authenticate(viewer)
    rows = _csv(client.get("/api/runs/csv/?status=PENDING"))
    assert [r["run_id"] for r in rows] == [runs[1].run_id]


def test_a_bad_filter_in_the_csv_export_is_a_400(client_for, viewer, runs):
    assert client_for(viewer).get("/runs/export.csv?status=NOPE").status_code == 400


def test_the_csv_is_refused_without_run_roles(client_for, finops_admin, runs):
    assert client_for(finops_admin).get("/runs/export.csv").status_code == 403


def test_logs_download_as_text_filtered_by_level(client_for, viewer, runs):
    done, _ = runs
    text = b"".join(client_for(viewer).get(f"/runs/{done.run_id}/logs.txt").streaming_content).decode()
    assert "Created by" in text and "Succeeded" in text and "WARNING" in text
    warnings = b"".join(client_for(viewer).get(f"/runs/{done.run_id}/logs.txt?level=WARNING").streaming_content).decode()
    assert "Half-way" in warnings and "Created by" not in warnings
    assert client_for(viewer).get(f"/runs/{done.run_id}/logs.txt?level=LOUD").status_code == 400


def test_the_detail_page_paginates_and_filters_logs(client_for, viewer, runs):
    _, pending = runs
    for i in range(450):
        run_log(run=pending, message=f"line {i}")
    client = client_for(viewer)
    last = client.get(f"/runs/{pending.run_id}/")
    assert last.context["log_page"].number == 3 and "line 449" in last.content.decode()
    first = client.get(f"/runs/{pending.run_id}/?log_page=1")
    assert "line 0<" in first.content.decode() and "line 449" not in first.content.decode()
    errors = client.get(f"/runs/{pending.run_id}/?log_level=ERROR")
    assert errors.context["log_page"].paginator.count == 0


def test_the_validation_panel_passes_on_an_intact_run(client_for, viewer, runs):
    response = client_for(viewer).get(f"/runs/{runs[0].run_id}/validation/")
    assert response.status_code == 200 and response.context["all_ok"]


def test_the_validation_panel_detects_altered_result_bytes(client_for, viewer, runs):
    done, _ = runs
    artifact = done.artifacts.get()
    storage = storages["artifacts"]
    with storage.open(artifact.path, "wb") as fh:
        fh.write(b'{"values": [0]}')
    response = client_for(viewer).get(f"/runs/{done.run_id}/validation/")
    assert not response.context["all_ok"]
    failed = [c.label for c in response.context["checks"] if not c.ok]
    assert failed == ["result.json intact", "Run checksum"]


def test_the_validation_panel_flags_nan_metrics(client_for, viewer, runs):
    done, _ = runs
    Run.objects.filter(pk=done.pk).update(metrics={"mean": None, "steps": 3})
    response = client_for(viewer).get(f"/runs/{done.run_id}/validation/")
    check = next(c for c in response.context["checks"] if c.label.startswith("Metrics"))
    assert not check.ok and "mean" in check.detail
