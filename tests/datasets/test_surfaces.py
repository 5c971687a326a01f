"""Pages, API and commands of datasets: upload, versions, preview with filters, export, used-by,
bad input with a clear message and nothing stored, refusals by role."""
from __future__ import annotations

import io
import pickle

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from runs.models import Run, RunTrigger
from runs.services import run_create
from simulations.training.models import Dataset
from tests.datasets.conftest import CSV, JSON_RECORDS, two_sheets, uploaded, with_formula, workbook

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------
def test_an_analyst_uploads_on_the_page_and_lands_on_the_dataset(client_for, analyst):
    client = client_for(analyst)
    response = client.post("/datasets/upload/", {"file": uploaded(CSV, "sales.csv"), "name": "sales"})
    dataset = Dataset.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/datasets/{dataset.pk}/"
    page = client.get(f"/datasets/{dataset.pk}/").content.decode()
    assert "dataset-columns" in page and dataset.sha256 in page and "Rows 1–5 of 5" in page


def test_the_page_names_the_problem_of_a_bad_file_and_stores_nothing(client_for, analyst):
    client = client_for(analyst)
    cases = [
        (b"a,b\n1,2\n3,4,5\n", "bad.csv", "Line 3 of the CSV file has 3 fields"),
        (pickle.dumps([1, 2]), "innocent.csv", "Python pickle"),
        (workbook(with_formula), "f.xlsx", "Cell C4"),
        (workbook(two_sheets), "two.xlsx", "2 sheets (Data, Notes)"),
        (b'{"a": [1, 2]}', "cols.json", "not records"),
        (b"a,a\n1,2\n", "dup.csv", "appears twice"),
        (b"a,b\n1,caf\xe9\n", "latin1.csv", "not UTF-8"),
    ]
    for data, name, message in cases:
        response = client.post("/datasets/upload/", {"file": uploaded(data, name)})
        assert response.status_code == 400, name
        assert message in response.content.decode(), name
    assert not Dataset.objects.exists()


def test_the_page_refuses_an_upload_over_the_limit_with_413(client_for, analyst, settings):
    settings.DATASET_MAX_UPLOAD_BYTES = 2048
    response = client_for(analyst).post("/datasets/upload/", {"file": uploaded(b"a\n" + b"1\n" * 5000, "big.csv")})
    assert response.status_code == 413 and not Dataset.objects.exists()


def test_the_preview_filters_sorts_and_pages_on_the_server(client_for, viewer, upload):
    dataset = upload(CSV)
    page = client_for(viewer).get(
        f"/datasets/{dataset.pk}/", {"col": ["region", "amount"], "op": ["eq", "gt"], "val": ["north", "0"],
                                     "sort": "-amount", "limit": "1"}
    ).content.decode()
    assert "Rows 1–1 of 2" in page and "10.5" in page and "preview-next" in page


def test_a_bad_filter_is_a_400_with_its_reason(client_for, viewer, upload):
    dataset = upload(CSV)
    response = client_for(viewer).get(f"/datasets/{dataset.pk}/", {"col": "amount", "op": "gt", "val": "lots"})
    assert response.status_code == 400 and "is not a number" in response.content.decode()


def test_viewers_read_but_may_not_upload_or_edit(client_for, viewer, upload):
    dataset = upload(CSV)
    client = client_for(viewer)
    assert client.get("/datasets/").status_code == 200
    assert client.get("/datasets/upload/").status_code == 403
    assert client.post(f"/datasets/{dataset.pk}/edit/", {"description": "x"}).status_code == 403
    assert client.post(f"/datasets/{dataset.pk}/delete/").status_code == 403


def test_exports_of_the_filtered_view(client_for, viewer, upload):
    dataset = upload(CSV)
    client = client_for(viewer)
    query = {"col": "region", "op": "eq", "val": "north"}
    csv_text = b"".join(client.get(f"/datasets/{dataset.pk}/export/", {**query, "format": "csv"}).streaming_content)
    assert csv_text.decode().splitlines() == ["id,region,amount,flag", '1,"north",10.5,true', '3,"north",7,true']
    parquet = b"".join(client.get(f"/datasets/{dataset.pk}/export/", {**query, "format": "parquet"}).streaming_content)
    assert pq.read_table(io.BytesIO(parquet)).column("id").to_pylist() == [1, 3]
    xlsx = b"".join(client.get(f"/datasets/{dataset.pk}/export/", {"format": "xlsx"}).streaming_content)
    sheet = load_workbook(io.BytesIO(xlsx)).active
    cell = sheet["B6"]
    assert cell.value == "=cmd" and cell.data_type == "s"  # text stays text, never a formula


def test_the_dataset_page_lists_the_runs_that_used_it(client_for, analyst, upload, django_capture_on_commit_callbacks):
    rows = b"x1,x2,y\n" + b"".join(f"{i},{i % 7},{i % 2}\n".encode() for i in range(300))
    dataset = upload(rows, name="toy")
    run = run_create(kind="training", params={"model_type": "pd_logistic", "dataset": dataset.pk, "target": "y",
                                             "features": ["x1", "x2"], "seed": 1},
                     trigger=RunTrigger.MANUAL, owner=analyst, enqueue=False)
    assert run.params["dataset_version"] == 1 and run.params["dataset_sha256"] == dataset.sha256
    page = client_for(analyst).get(f"/datasets/{dataset.pk}/").content.decode()
    assert run.run_id in page
    api = client_for(analyst).get(f"/api/datasets/{dataset.pk}/runs/").json()
    assert api == [{**api[0], "run_id": run.run_id, "dataset_version": 1, "dataset_sha256": dataset.sha256}]


# ---------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------
def test_the_api_uploads_versions_and_previews(client_for, ml_admin):
    client = client_for(ml_admin)
    first = client.post("/api/datasets/", {"file": uploaded(CSV, "s.csv"), "name": "s"})
    second = client.post("/api/datasets/", {"file": uploaded(JSON_RECORDS, "s.json"), "name": "s"})
    assert first.status_code == 201 and second.status_code == 201 and second.json()["version"] == 2
    versions = client.get(f"/api/datasets/{first.json()['id']}/versions/").json()
    assert [v["version"] for v in versions] == [2, 1]
    preview = client.get(f"/api/datasets/{first.json()['id']}/preview/",
                         {"col": "flag", "op": "eq", "val": "true", "sort": "amount"}).json()
    assert preview["total"] == 3 and [r[0] for r in preview["rows"]] == [5, 3, 1]
    assert preview["row_numbers"] == [5, 3, 1]
    listed = client.get("/api/datasets/", {"latest": "true"}).json()
    assert [d["version"] for d in listed["results"]] == [2]


def test_the_api_answers_bad_files_with_row_and_column(client_for, analyst):
    response = client_for(analyst).post("/api/datasets/", {"file": uploaded(b"a,b\n1,2\n3\n", "r.csv")})
    assert response.status_code == 400
    assert response.json() == {"detail": "Line 3 of the CSV file has 1 fields where the header has 2.", "row": 2,
                               "column": None}
    response = client_for(analyst).post("/api/datasets/", {"file": uploaded(workbook(with_formula), "f.xlsx")})
    assert response.json()["column"] == "score" and response.json()["row"] == 3
    assert not Dataset.objects.exists()


def test_the_api_refuses_a_declared_length_over_the_limit_before_reading(client_for, analyst, settings):
    settings.DATASET_MAX_UPLOAD_BYTES = 2048
    client = client_for(analyst)
    response = client.generic("POST", "/api/datasets/", b"x" * 10, content_type="multipart/form-data; boundary=b",
                              CONTENT_LENGTH=str(2 * 1024**3))
    assert response.status_code == 413 and "limit" in response.json()["detail"]


def test_the_api_refuses_viewers_writes(client_for, viewer, upload):
    dataset = upload(CSV)
    client = client_for(viewer)
    assert client.post("/api/datasets/", {"file": uploaded(CSV, "s.csv")}).status_code == 403
    assert client.patch(f"/api/datasets/{dataset.pk}/", {"description": "x"},
                        content_type="application/json").status_code == 403
    assert client.delete(f"/api/datasets/{dataset.pk}/").status_code == 403


def test_the_api_exports_parquet(client_for, viewer, upload):
    dataset = upload(CSV)
    response = client_for(viewer).get(f"/api/datasets/{dataset.pk}/export/", {"format": "parquet", "sort": "-id"})
    table = pq.read_table(io.BytesIO(b"".join(response.streaming_content)))
    assert table.column("id").to_pylist() == [5, 4, 3, 2, 1]


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------
def test_dataset_load_and_export(tmp_path):
    source = tmp_path / "book.csv"
    source.write_bytes(CSV)
    out = io.StringIO()
    call_command("dataset_load", str(source), "--name", "book", stdout=out)
    dataset = Dataset.objects.get(name="book")
    assert f"sha256 {dataset.sha256}" in out.getvalue() and dataset.source_filename == "book.csv"
    target = tmp_path / "north.parquet"
    call_command("dataset_export", "book", "--output", str(target), "--filter", "region:eq:north", stdout=io.StringIO())
    assert pq.read_table(target).num_rows == 2


def test_dataset_load_names_the_problem_and_stores_nothing(tmp_path):
    bad = tmp_path / "model.csv"
    bad.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(CommandError, match="pickle.*Nothing was stored"):
        call_command("dataset_load", str(bad), "--name", "m")
    ragged = tmp_path / "r.csv"
    ragged.write_bytes(b"a,b\n1,2\n3\n")
    with pytest.raises(CommandError, match=r"Line 3.*\(row 2\)"):
        call_command("dataset_load", str(ragged), "--name", "r")
    assert not Dataset.objects.exists()


def test_dataset_load_checks_the_roles_of_a_named_user(tmp_path, viewer):
    source = tmp_path / "a.csv"
    source.write_bytes(CSV)
    with pytest.raises(CommandError, match="may not upload"):
        call_command("dataset_load", str(source), "--user", viewer.username)
