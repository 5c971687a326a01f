"""NUL bytes, huge numbers and broken files are refused with a 400 or a CommandError, never a 500."""
from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from runs.services import run_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(analyst, demo_params):
    return run_create(kind="demo", params=demo_params, owner=analyst, tags=["alpha"])


@pytest.mark.parametrize("url", [
    "/api/tags/?q=a%00b",
    "/api/compare/?runs=a%00b,c",
    "/api/runs/?q=%00",
    "/api/runs/?owner=x%00",
    "/api/runs/?tag=a%00",
    "/runs/?q=%00",
    "/api/runs/abc%00def/",
    "/runs/abc%00def/",
    "/simulations/runs/abc%00/files/x%00y/",
    "/api/simulations/runs/abc%00/files/x%00y/",
])
def test_a_nul_byte_anywhere_in_the_url_is_a_400(client_for, analyst, run, url):
    response = client_for(analyst).get(url)
    assert response.status_code == 400, (url, response.status_code)
    if url.startswith("/api/"):
        assert "NUL" in response.json()["detail"]


def test_a_nul_byte_is_refused_before_authentication_too(client_for):
    assert client_for(None).get("/api/tags/?q=%00").status_code == 400


@pytest.mark.parametrize("after", ["9" * 5000, "99999999999999999999999999", str(2**63), "-1", "1e5", "１２"])
def test_logs_after_a_huge_or_odd_number_is_a_400(client_for, analyst, run, after):
    response = client_for(analyst).get(f"/api/runs/{run.run_id}/logs/?after={after}")
    assert response.status_code == 400
    assert "after" in response.json()


def test_logs_after_the_largest_id_is_an_empty_page(client_for, analyst, run):
    response = client_for(analyst).get(f"/api/runs/{run.run_id}/logs/?after={2**63 - 1}")
    assert response.status_code == 200 and response.json()["results"] == []


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("positions.csv", "position_id,product\n" * 50)
    return buffer.getvalue()


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", _zip_bytes()[:-25], b"\x1f\x8b broken gzip"])
@pytest.mark.parametrize("suffix", [".zip", ".gz", ".csv"])
def test_compute_metrics_on_a_broken_compressed_file_is_a_command_error(tmp_path, content, suffix):
    path = tmp_path / f"positions{suffix}"
    path.write_bytes(content)
    with pytest.raises(CommandError, match="positions"):
        call_command("compute_metrics", "--positions", str(path))


def test_the_compute_api_refuses_a_broken_zip_with_a_400(client_for, analyst):
    upload = io.BytesIO(b"PK\x03\x04 not really a zip")
    upload.name = "book.zip"
    response = client_for(analyst).post("/api/simulations/compute/", {"positions": upload})
    assert response.status_code == 400 and response.json()["field"] == "positions"


# ---------------------------------------------------------------------------
# Imported JSON: a NUL character (which PostgreSQL cannot store) is refused
# ---------------------------------------------------------------------------
from tests.runs.test_exchange_support import (  # noqa: E402,F401  (fixtures)
    artifact_root,
    assert_refused,
    edit_json,
    export_bytes,
    finished_run,
    forget,
)


@pytest.mark.parametrize("change", [
    lambda d: d["run"].__setitem__("notes", "hello\x00world"),
    lambda d: d["run"].__setitem__("tags", ["ok", "bad\x00tag"]),
    lambda d: d["run"]["params"].__setitem__("extra\x00key", 1),
])
def test_an_imported_json_holding_a_nul_character_is_refused(finished_run, artifact_root, change):
    data = edit_json(export_bytes(finished_run, "json"), change)
    forget(finished_run, artifact_root)
    assert_refused(artifact_root, data, "NUL")


def test_an_imported_bundle_holding_a_nul_character_is_refused(finished_run, artifact_root):
    from tests.runs.test_exchange_support import rezip

    bundle = export_bytes(finished_run, "bundle")
    forget(finished_run, artifact_root)

    def change(name, data):
        if name == "manifest.json":  # read before anything else, and not covered by a hash
            import json

            manifest = json.loads(data)
            manifest["members"][0]["name"] += "\x00"
            return json.dumps(manifest).encode()
        return data

    assert_refused(artifact_root, rezip(bundle, change), "NUL")
