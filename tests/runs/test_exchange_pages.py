"""The export downloads and the import page."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse

from runs.models import Run, RunTrigger
from tests.runs.test_exchange_support import (  # noqa: F401  (fixtures)
    artifact_root,
    export_bytes,
    finished_run,
    forget,
    parquet_bytes,
    snapshot,
)

pytestmark = pytest.mark.django_db

IMPORT_URL = "/runs/import/"


def test_anonymous_visitors_go_to_login(client, finished_run):
    for url in (IMPORT_URL, f"/runs/{finished_run.run_id}/export/json/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_viewer_downloads_a_streamed_json_export(client_for, viewer, finished_run):
    response = client_for(viewer).get(f"/runs/{finished_run.run_id}/export/json/")
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"] == f'attachment; filename="{finished_run.run_id}.json"'
    assert b"".join(response.streaming_content) == export_bytes(finished_run, "json")


def test_the_bundle_download_is_a_zip(client_for, viewer, finished_run):
    response = client_for(viewer).get(f"/runs/{finished_run.run_id}/export/bundle/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert b"".join(response.streaming_content)[:4] == b"PK\x03\x04"


def test_a_refused_export_goes_back_to_the_run_with_the_reason(client_for, viewer, finished_run):
    client = client_for(viewer)
    response = client.get(f"/runs/{finished_run.run_id}/export/parquet/", follow=True)
    assert response.redirect_chain[-1][0] == f"/runs/{finished_run.run_id}/"
    assert "has no Parquet results" in response.content.decode()


def test_an_unknown_export_format_is_a_404(client_for, viewer, finished_run):
    assert client_for(viewer).get(f"/runs/{finished_run.run_id}/export/pickle/").status_code == 404


def test_a_viewer_cannot_open_or_post_the_import_page(client_for, viewer, finished_run, artifact_root):
    data = export_bytes(finished_run, "json")
    forget(finished_run, artifact_root)
    client = client_for(viewer)
    assert client.get(IMPORT_URL).status_code == 403
    response = client.post(IMPORT_URL, {"file": SimpleUploadedFile("run.json", data)})
    assert response.status_code == 403
    assert not Run.objects.exists()


def test_an_analyst_sees_the_form(client_for, analyst):
    response = client_for(analyst).get(IMPORT_URL)
    content = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in content and 'name="as_new"' in content and 'name="kind"' in content


def test_an_import_leads_to_the_imported_run(client_for, analyst, finished_run, artifact_root):
    data = export_bytes(finished_run, "bundle")
    run_id, checksum = finished_run.run_id, finished_run.checksum
    forget(finished_run, artifact_root)
    response = client_for(analyst).post(IMPORT_URL, {"file": SimpleUploadedFile("r.zip", data)}, follow=True)
    assert response.redirect_chain[-1][0] == f"/runs/{run_id}/"
    assert f"Imported {run_id}" in response.content.decode()
    assert Run.objects.get(run_id=run_id).checksum == checksum


def test_an_import_as_new_run(client_for, analyst, finished_run):
    data = export_bytes(finished_run, "json")
    response = client_for(analyst).post(IMPORT_URL, {"file": SimpleUploadedFile("r.json", data), "as_new": "on"})
    assert response.status_code == 302
    copy = Run.objects.exclude(pk=finished_run.pk).get()
    assert copy.trigger == RunTrigger.IMPORT and copy.parent == finished_run


def test_a_run_that_exists_is_shown_with_a_link(client_for, analyst, finished_run, artifact_root):
    data = export_bytes(finished_run, "json")
    before = snapshot(artifact_root)
    response = client_for(analyst).post(IMPORT_URL, {"file": SimpleUploadedFile("r.json", data)})
    content = response.content.decode()
    assert response.status_code == 400
    assert "already exists" in content and f'href="/runs/{finished_run.run_id}/"' in content
    assert snapshot(artifact_root) == before


def test_a_bad_file_shows_the_reason_and_writes_nothing(client_for, analyst, artifact_root):
    before = snapshot(artifact_root)
    response = client_for(analyst).post(IMPORT_URL, {"file": SimpleUploadedFile("r.csv", b"a,b\n1,2\n")})
    assert response.status_code == 400 and "Unknown file format" in response.content.decode()
    assert snapshot(artifact_root) == before


def test_a_parquet_file_with_its_kind(client_for, analyst, artifact_root):
    upload = SimpleUploadedFile("positions.parquet", parquet_bytes())
    response = client_for(analyst).post(IMPORT_URL, {"file": upload, "kind": "demo"})
    assert response.status_code == 302
    run = Run.objects.get()
    assert run.trigger == RunTrigger.IMPORT and run.artifacts.get().name == "positions.parquet"


def test_an_upload_declared_far_over_the_limit_is_refused_before_parsing(client_for, analyst, settings):
    settings.RUN_IMPORT_MAX_BYTES = 1024
    response = client_for(analyst).generic(
        "POST", IMPORT_URL, b"x" * (200 * 1024), content_type="multipart/form-data; boundary=zzz"
    )
    assert response.status_code == 413 and "imports are limited to 1,024 bytes" in response.content.decode()
    assert not Run.objects.exists()


def test_a_file_over_the_limit_shows_the_limit(client_for, analyst, finished_run, artifact_root, settings):
    data = export_bytes(finished_run, "json")
    forget(finished_run, artifact_root)
    settings.RUN_IMPORT_MAX_BYTES = 1024
    response = client_for(analyst).post(IMPORT_URL, {"file": SimpleUploadedFile("r.json", data)})
    assert response.status_code == 400 and "limited to 1,024 bytes" in response.content.decode()
    assert not Run.objects.exists()
