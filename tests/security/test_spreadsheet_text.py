"""Text a user typed or imported never becomes a formula in a CSV file or workbook we produce."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from runs.models import Run
from runs.services import run_create
from runs.textsafe import csv_row, csv_text, workbook_text_as_text

RISKY = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("text", RISKY)
def test_csv_text_prefixes_what_a_spreadsheet_would_evaluate(text):
    assert csv_text(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "run_20261130_001", "", 5, -5, 1.5, None, True])
def test_csv_text_leaves_plain_text_and_numbers_alone(value):
    assert csv_text(value) == value


def test_a_workbook_never_holds_a_formula():
    workbook = openpyxl.Workbook()
    for row, text in enumerate(RISKY + ["plain"], start=1):
        workbook.active.cell(row=row, column=1, value=text)
        workbook.active.cell(row=row, column=2, value=-row)
    assert workbook.active["A1"].data_type == "f"  # what openpyxl does on its own
    workbook_text_as_text(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    loaded = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    assert [loaded.cell(row=r, column=1).data_type for r in range(1, 8)] == ["s"] * 7
    assert loaded["A1"].value == RISKY[0] and loaded["B3"].value == -3


@pytest.fixture
def risky_run(analyst, demo_params, django_capture_on_commit_callbacks) -> Run:
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="demo", params=demo_params, owner=analyst, tags=["@SUM(A1)"], notes=RISKY[0])
    Run.objects.filter(pk=run.pk).update(worker="-worker+1", error_message="\tx")
    run.refresh_from_db()
    return run


def _rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:200]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(content.decode())))


def _assert_safe(row: dict) -> None:
    assert row["notes"] == "'" + RISKY[0]
    assert row["tags"] == "'@SUM(A1)"
    assert row["worker"] == "'-worker+1"
    assert row["error_message"] == "'\tx"
    for name, value in row.items():
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (name, value)


def test_the_run_list_csv_page_writes_text_as_text(client_for, viewer, risky_run):
    (row,) = _rows(client_for(viewer).get("/runs/export.csv?status=SUCCEEDED"))
    _assert_safe(row)


def test_the_run_list_csv_api_writes_text_as_text(viewer, risky_run):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(viewer)
    (row,) = _rows(client.get("/api/runs/csv/?status=SUCCEEDED"))
    _assert_safe(row)


def test_the_bulk_export_of_selected_runs_writes_text_as_text(client_for, analyst, risky_run):
    response = client_for(analyst).post("/runs/bulk/", {"action": "export", "runs": [risky_run.run_id]})
    (row,) = _rows(response)
    _assert_safe(row)


def test_csv_row_guards_every_cell():
    assert csv_row(["=1", 2, "ok", "-x"]) == ["'=1", 2, "ok", "'-x"]
