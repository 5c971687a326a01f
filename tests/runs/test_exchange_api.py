"""The export and import API: who may do what, status codes, streaming."""
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from rest_framework.test import APIClient

from runs.models import Run, RunStatus, RunTrigger
from tests.runs.test_exchange_support import (  # noqa: F401  (fixtures)
    artifact_bytes,
    artifact_root,
    export_bytes,
    finished_run,
    forget,
    parquet_bytes,
    parquet_run,
    snapshot,
)

pytestmark = pytest.mark.django_db

IMPORT_URL = "/api/runs/import/"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def export_url(run, fmt="json", **extra):
    query = "&".join(f"{k}={v}" for k, v in {"format": fmt, **extra}.items())
    return f"/api/runs/{run.run_id}/export/?{query}"


def upload(data: bytes, name: str = "run.json", **fields):
    return {"file": SimpleUploadedFile(name, data), **fields}


def streamed(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------
def test_anonymous_calls_are_refused(finished_run):
    assert api().get(export_url(finished_run)).status_code == 401
    assert api().post(IMPORT_URL, upload(b"{}"), format="multipart").status_code == 401
    assert Run.objects.count() == 1


@pytest.mark.parametrize("fmt,content_type,ext", [("json", "application/json", "json"), ("bundle", "application/zip", "zip")])
def test_a_viewer_downloads_a_streamed_export(viewer, finished_run, fmt, content_type, ext):
    response = api(viewer).get(export_url(finished_run, fmt))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="{finished_run.run_id}.{ext}"'
    assert streamed(response) == export_bytes(finished_run, fmt)


def test_the_json_export_is_a_streaming_response_by_default(viewer, finished_run):
    response = api(viewer).get(f"/api/runs/{finished_run.run_id}/export/")
    assert isinstance(response, StreamingHttpResponse)
    assert json.loads(streamed(response))["run"]["run_id"] == finished_run.run_id


def test_the_parquet_export_is_the_result_file_as_is(viewer, parquet_run):
    response = api(viewer).get(export_url(parquet_run, "parquet"))
    assert response.status_code == 200 and response["Content-Type"] == "application/vnd.apache.parquet"
    assert streamed(response) == artifact_bytes(parquet_run)["positions.parquet"]


def test_a_run_without_parquet_results_cannot_be_exported_as_parquet(viewer, finished_run):
    response = api(viewer).get(export_url(finished_run, "parquet"))
    assert response.status_code == 400
    assert "has no Parquet results" in response.json()["detail"]


def test_an_unknown_export_format_is_a_400(viewer, finished_run):
    response = api(viewer).get(export_url(finished_run, "pickle"))
    assert response.status_code == 400 and "Unknown export format" in response.json()["detail"]


def test_an_active_run_cannot_be_exported_yet(viewer, analyst, demo_params):
    from runs.services.lifecycle import run_create

    run = run_create(kind="demo", params=demo_params, owner=analyst, enqueue=False)
    response = api(viewer).get(export_url(run))
    assert response.status_code == 409 and "still pending" in response.json()["detail"]


def test_a_run_the_caller_cannot_see_is_a_404(finops_admin, finished_run):
    assert api(finops_admin).get(export_url(finished_run)).status_code == 404


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------
def test_a_viewer_cannot_import(viewer, finished_run, artifact_root):
    data = export_bytes(finished_run, "json")
    forget(finished_run, artifact_root)
    response = api(viewer).post(IMPORT_URL, upload(data), format="multipart")
    assert response.status_code == 403
    assert not Run.objects.exists()


def test_an_analyst_imports_a_bundle_and_gets_the_run(analyst, parquet_run, artifact_root):
    checksum, pk = parquet_run.checksum, str(parquet_run.pk)
    data = export_bytes(parquet_run, "bundle")
    forget(parquet_run, artifact_root)
    response = api(analyst).post(IMPORT_URL, upload(data, "x.zip"), format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] == pk and body["checksum"] == checksum and body["owner"] == "analyst"


def test_importing_a_run_that_exists_is_a_409_naming_it(analyst, finished_run, artifact_root):
    data = export_bytes(finished_run, "json")
    before = snapshot(artifact_root)
    response = api(analyst).post(IMPORT_URL, upload(data), format="multipart")
    assert response.status_code == 409
    assert response.json()["run_id"] == finished_run.run_id
    assert "already exists" in response.json()["detail"]
    assert snapshot(artifact_root) == before


def test_as_new_imports_a_copy(analyst, finished_run):
    data = export_bytes(finished_run, "json")
    response = api(analyst).post(IMPORT_URL, upload(data, as_new="true"), format="multipart")
    assert response.status_code == 201
    copy = Run.objects.get(pk=response.json()["id"])
    assert copy.trigger == RunTrigger.IMPORT and copy.parent == finished_run


def test_a_parquet_upload_needs_a_kind(analyst, artifact_root):
    data = parquet_bytes()
    refused = api(analyst).post(IMPORT_URL, upload(data, "p.parquet"), format="multipart")
    assert refused.status_code == 400 and "kind" in refused.json()["detail"]
    created = api(analyst).post(IMPORT_URL, upload(data, "p.parquet", kind="demo"), format="multipart")
    assert created.status_code == 201
    assert created.json()["trigger"] == RunTrigger.IMPORT and created.json()["status"] == RunStatus.SUCCEEDED


@pytest.mark.parametrize(
    "data,match",
    [(b"{not json", "Malformed JSON"), (b"\x80\x04K\x01.", "pickle"), (b"a,b\n1,2\n", "Unknown file format")],
)
def test_bad_files_are_a_400_that_says_why(analyst, artifact_root, data, match):
    before = snapshot(artifact_root)
    response = api(analyst).post(IMPORT_URL, upload(data), format="multipart")
    assert response.status_code == 400 and match in response.json()["detail"]
    assert snapshot(artifact_root) == before


def test_a_missing_file_is_a_400(analyst):
    response = api(analyst).post(IMPORT_URL, {"as_new": "true"}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()


def test_a_file_over_the_limit_is_a_413(analyst, finished_run, artifact_root, settings):
    data = export_bytes(finished_run, "json")
    forget(finished_run, artifact_root)
    settings.RUN_IMPORT_MAX_BYTES = 1024
    response = api(analyst).post(IMPORT_URL, upload(data), format="multipart")
    assert response.status_code == 413 and "limited to 1,024 bytes" in response.json()["detail"]
    assert not Run.objects.exists()


def test_an_upload_declared_far_over_the_limit_is_refused_before_parsing(analyst, settings):
    settings.RUN_IMPORT_MAX_BYTES = 1024
    body = io.BytesIO(b"x" * (200 * 1024))
    response = api(analyst).generic(
        "POST", IMPORT_URL, body.getvalue(), content_type="multipart/form-data; boundary=zzz"
    )
    assert response.status_code == 413
