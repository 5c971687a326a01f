"""Imported simulation runs: checked against what the kind needs, served safely, data-only Parquet imports."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import pyarrow.parquet as pq
import pytest
from rest_framework.test import APIClient

from runs.artifacts import artifact_read, artifact_write, artifacts_checksum
from runs.models import Run, RunArtifact, RunStatus, RunTrigger
from runs.services import run_create
from runs.services.exchange import run_import
from simulations.models import CachedResult
from tests.runs.test_exchange_support import (  # noqa: F401  (fixtures)
    artifact_root,
    assert_refused,
    edit_json,
    export_bytes,
    forget,
)

pytestmark = pytest.mark.django_db

SMALL = {"seed": 7, "n_positions": 2_000}


@pytest.fixture
def simulation(analyst, django_capture_on_commit_callbacks, artifact_root) -> Run:
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="simulation", params=dict(SMALL), trigger=RunTrigger.MANUAL, owner=analyst)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    return run


def _forget(run: Run, root) -> None:
    """As if the run (and the cache it filled) had only ever lived in another installation."""
    CachedResult.objects.all().delete()
    forget(run, root)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _replace_documents(data: bytes, replacement: bytes, names: set[str] | None = None) -> bytes:
    """A JSON export whose result documents (all aggregates, or `names`) hold `replacement`,
    with every digest and the run checksum recomputed: what a careful forger would send."""
    document = json.loads(data)
    files: dict[str, bytes] = {}
    for entry in document["artifacts"]:
        blob = base64.b64decode(entry["data"])
        if entry["name"].endswith(".json") and (names is None or entry["name"] in names):
            blob = replacement
            entry["data"] = base64.b64encode(blob).decode()
            entry["sha256"], entry["size_bytes"] = hashlib.sha256(blob).hexdigest(), len(blob)
        files[entry["name"]] = blob
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(files[name])
    document["run"]["checksum"] = digest.hexdigest()
    return json.dumps(document).encode()


@pytest.mark.parametrize("names", [None, {"capital.json"}, {"lcr.json"}], ids=["all", "capital", "lcr"])
def test_a_simulation_import_whose_documents_are_empty_is_refused_with_the_reason(
    names, simulation, artifact_root, analyst
):
    data = _replace_documents(export_bytes(simulation, "json"), b"{}", names)
    _forget(simulation, artifact_root)
    error = assert_refused(artifact_root, data, "not a simulation run this installation can show", actor=analyst)
    assert "lack what a simulation's page and report read" in error.message


def test_a_simulation_import_with_parameters_the_form_refuses_is_refused(simulation, artifact_root, analyst):
    data = export_bytes(simulation, "json")
    _forget(simulation, artifact_root)

    def change(document):
        from runs.hashing import params_hash

        document["run"]["params"]["n_positions"] = -5
        document["run"]["params_hash"] = params_hash(document["run"]["params"])

    assert_refused(artifact_root, edit_json(data, change), "params.n_positions", actor=analyst)


def test_an_imported_run_with_unusable_documents_from_before_still_renders(simulation, client_for, analyst):
    """Runs imported before the check: the page says what is wrong, the report is a 404, never a 500."""
    copy = run_import(file=export_bytes(simulation, "json"), actor=analyst, as_new=True).run
    for name in ("capital.json", "lcr.json"):
        artifact_write(run=copy, name=name, data=b"{}", content_type="application/json")
    Run.objects.filter(pk=copy.pk).update(checksum=artifacts_checksum(list(copy.artifacts.all())))
    client = client_for(analyst)
    page = client.get(f"/runs/{copy.run_id}/")
    assert page.status_code == 200 and 'id="sim-invalid"' in page.content.decode()
    assert client.get(f"/simulations/runs/{copy.run_id}/report.xlsx").status_code == 404
    assert _api(analyst).get(f"/api/simulations/runs/{copy.run_id}/report/").status_code == 404


def test_downloads_use_our_content_type_and_an_encoded_file_name(simulation, client_for, analyst):
    copy = run_import(file=export_bytes(simulation, "json"), actor=analyst, as_new=True).run
    # A stored content type as an older import could have left it: never sent.
    RunArtifact.objects.filter(run=copy, name="summary.json").update(content_type="text/html")
    artifact = copy.artifacts.get(name="summary.json")
    RunArtifact.objects.filter(pk=artifact.pk).update(name='sum"mary é.json')
    for response in (
        client_for(analyst).get(f"/simulations/runs/{copy.run_id}/files/sum%22mary%20%C3%A9.json"),
        _api(analyst).get(f"/api/simulations/runs/{copy.run_id}/files/sum%22mary%20%C3%A9.json/"),
    ):
        assert response.status_code == 200, response
        assert response["Content-Type"] == "application/json"
        assert response["Content-Disposition"] == (
            f"attachment; filename*=utf-8''{copy.run_id}-sum%22mary%20%C3%A9.json"
        )
    positions = copy.artifacts.get(name="positions.parquet")
    RunArtifact.objects.filter(pk=positions.pk).update(content_type="text/html; charset=utf-8")
    response = client_for(analyst).get(f"/simulations/runs/{copy.run_id}/files/positions.parquet")
    assert response["Content-Type"] == "application/vnd.apache.parquet"


# --- A Parquet table imported as a simulation run: data only --------------------------------
@pytest.fixture
def data_only(simulation, analyst) -> Run:
    table = artifact_read(simulation.artifacts.get(name="positions.parquet"))
    run = run_import(file=table, actor=analyst, kind="simulation", filename="book.parquet").run
    run.refresh_from_db()
    return run


def test_a_parquet_import_is_a_data_only_run(data_only, analyst):
    assert data_only.is_imported and data_only.is_data_only and data_only.import_format == "parquet"
    assert data_only.metrics == {} and data_only.params == {}
    body = _api(analyst).get(f"/api/runs/{data_only.run_id}/").json()
    assert body["is_data_only"] is True and body["origin"] == "IMPORT"
    assert not CachedResult.objects.filter(source_run=data_only).exists()


def test_the_page_of_a_data_only_run_does_not_contradict_itself(data_only, client_for, analyst):
    client = client_for(analyst)
    page = client.get(f"/runs/{data_only.run_id}/").content.decode()
    assert "data only" in page and "book.parquet" in page
    assert "are gone from the store" not in page
    assert "report.xlsx" not in page  # no link to a report it cannot have
    assert client.get(f"/simulations/runs/{data_only.run_id}/report.xlsx").status_code == 404
    panel = client.get(f"/runs/{data_only.run_id}/validation/").content.decode()
    assert "Some checks fail" not in panel and "n_positions" not in panel
    assert "Data only" in panel and "2,000 rows" in panel
    # The file itself is there, and exports as Parquet.
    export = client.get(f"/runs/{data_only.run_id}/export/parquet/")
    assert export.status_code == 200
    assert pq.read_table(io.BytesIO(b"".join(export.streaming_content))).num_rows == 2_000


def test_a_data_only_run_is_reported_as_imported_by_verify_checksums(data_only):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("verify_checksums", stdout=out)
    assert f"IMPORTED  {data_only.run_id}" in out.getvalue()


def test_a_simulation_import_missing_one_of_its_result_files_is_refused(simulation, artifact_root, analyst):
    data = export_bytes(simulation, "json")
    _forget(simulation, artifact_root)

    def drop_explain(document):
        document["artifacts"] = [a for a in document["artifacts"] if a["name"] != "explain.parquet"]
        digest = hashlib.sha256()
        for entry in sorted(document["artifacts"], key=lambda a: a["name"]):
            digest.update(base64.b64decode(entry["data"]))
        document["run"]["checksum"] = digest.hexdigest()

    assert_refused(artifact_root, edit_json(data, drop_explain), "explain.parquet are missing", actor=analyst)


def test_a_data_only_run_cannot_be_cloned(data_only, client_for, analyst):
    page = client_for(analyst).get(f"/runs/{data_only.run_id}/").content.decode()
    assert 'id="clone-link"' not in page
    before = Run.objects.count()
    response = _api(analyst).post(f"/api/runs/{data_only.run_id}/clone/", {}, format="json")
    assert response.status_code == 400 and "no parameters to run again" in str(response.json())
    assert Run.objects.count() == before
