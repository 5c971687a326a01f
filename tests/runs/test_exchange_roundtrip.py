"""Export then import through the services: identity, lineage, checksums, copies."""
import base64
import hashlib
import io
import json
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.test import override_settings

from accounts.models import AuditEvent
from runs.artifacts import artifact_write
from runs.models import Run, RunArtifact, RunStatus, RunTrigger
from runs.services.exchange import ExportRefused, ImportConflict, run_export, run_import
from runs.services.lifecycle import run_create
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


def _original(run):
    return {
        "id": run.pk,
        "run_id": run.run_id,
        "checksum": run.checksum,
        "artifacts": artifact_bytes(run),
        "logs": list(run.logs.values_list("created_at", "level", "message")),
        "created_at": run.created_at,
        "params": run.params,
        "metrics": run.metrics,
        "tags": sorted(run.tags.values_list("name", flat=True)),
    }


@pytest.mark.parametrize("fmt", ["json", "bundle"])
def test_it_brings_back_the_run_with_an_identical_checksum(fmt, parquet_run, artifact_root, ml_admin):
    before = _original(parquet_run)
    data = export_bytes(parquet_run, fmt)
    forget(parquet_run, artifact_root)

    result = run_import(file=data, actor=ml_admin)

    run = Run.objects.get(pk=before["id"])
    assert result.run == run and result.format == fmt
    assert run.run_id == before["run_id"] and run.trigger == RunTrigger.MANUAL and run.status == RunStatus.SUCCEEDED
    assert run.checksum == before["checksum"]
    assert artifact_bytes(run) == before["artifacts"]
    assert result.artifacts == 2 and result.bytes == sum(len(b) for b in before["artifacts"].values())
    assert run.created_at == before["created_at"]
    assert (run.params, run.metrics) == (before["params"], before["metrics"])
    assert sorted(run.tags.values_list("name", flat=True)) == before["tags"]
    logs = list(run.logs.values_list("created_at", "level", "message"))
    assert logs[:-1] == before["logs"]  # same lines, same times, then one line saying who imported it
    assert logs[-1][2].startswith(f"Imported by {ml_admin.username}")
    assert run.owner == ml_admin
    assert AuditEvent.objects.filter(action="run.import", target=run.run_id, actor=ml_admin).exists()


@override_settings(ARTIFACT_STORE="db")
def test_it_round_trips_a_bundle_with_the_database_artifact_store(analyst, demo_params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="demo", params=demo_params, owner=analyst)
    run.refresh_from_db()
    checksum, results = run.checksum, artifact_bytes(run)
    data = export_bytes(run, "bundle")
    run.delete()
    imported = run_import(file=data, actor=analyst).run
    assert imported.checksum == checksum and artifact_bytes(imported) == results
    assert imported.artifacts.get().storage == RunArtifact.Storage.DB


def test_importing_a_run_that_is_here_says_it_exists_and_creates_nothing(finished_run, artifact_root, analyst):
    data = export_bytes(finished_run, "bundle")
    before = snapshot(artifact_root)
    with pytest.raises(ImportConflict) as info:
        run_import(file=data, actor=analyst)
    assert info.value.existing == finished_run
    assert f"already exists here as {finished_run.run_id}" in info.value.message
    assert snapshot(artifact_root) == before


@pytest.mark.parametrize("fmt", ["json", "bundle"])
def test_importing_the_same_file_twice_does_not_duplicate(fmt, finished_run, artifact_root, analyst):
    data = export_bytes(finished_run, fmt)
    forget(finished_run, artifact_root)
    run_import(file=data, actor=analyst)
    after_first = snapshot(artifact_root)
    with pytest.raises(ImportConflict, match="already exists"):
        run_import(file=data, actor=analyst)
    assert snapshot(artifact_root) == after_first
    assert Run.objects.count() == 1


@pytest.mark.parametrize("fmt", ["json", "bundle"])
def test_as_new_gives_a_fresh_identity_linked_to_the_original(fmt, parquet_run, analyst):
    data = export_bytes(parquet_run, fmt)
    copy = run_import(file=data, actor=analyst, as_new=True).run
    assert copy.pk != parquet_run.pk and copy.run_id != parquet_run.run_id
    assert copy.trigger == RunTrigger.IMPORT
    assert copy.parent == parquet_run
    assert copy.checksum == parquet_run.checksum
    assert artifact_bytes(copy) == artifact_bytes(parquet_run)
    assert any(f"copy of {parquet_run.run_id}" in m for m in copy.logs.values_list("message", flat=True))


def test_as_new_without_the_original_here_names_it_in_the_notes(finished_run, artifact_root, analyst):
    original_id, original_pk = finished_run.run_id, finished_run.pk
    data = export_bytes(finished_run, "json")
    forget(finished_run, artifact_root)
    copy = run_import(file=data, actor=analyst, as_new=True).run
    assert copy.parent is None and copy.pk != original_pk
    assert copy.notes.startswith("baseline") and f"copy of {original_id} ({original_pk})" in copy.notes


def test_a_run_id_taken_by_another_run_gets_a_fresh_id_but_keeps_its_uuid(finished_run, artifact_root, analyst, demo_params):
    data = export_bytes(finished_run, "json")
    original_id, original_pk = finished_run.run_id, finished_run.pk
    forget(finished_run, artifact_root)
    squatter = run_create(kind="demo", params=demo_params, owner=analyst, enqueue=False)
    Run.objects.filter(pk=squatter.pk).update(run_id=original_id)

    result = run_import(file=data, actor=analyst)

    assert result.run.pk == original_pk and result.run.run_id not in (original_id, "")
    assert result.run.trigger == RunTrigger.MANUAL
    assert original_id in result.summary and "taken" in result.summary


def test_an_imported_child_finds_its_parent_when_the_parent_is_here(finished_run, artifact_root, analyst, demo_params):
    child = run_create(kind="demo", params=demo_params, owner=analyst, parent=finished_run, enqueue=False)
    Run.objects.filter(pk=child.pk).update(status=RunStatus.FAILED)
    child.refresh_from_db()
    data = export_bytes(child, "json")
    assert json.loads(data)["run"]["parent_id"] == str(finished_run.pk)
    child.delete()
    assert run_import(file=data, actor=analyst).run.parent == finished_run


def test_an_imported_child_without_its_parent_says_so_in_its_logs(finished_run, artifact_root, analyst, demo_params):
    child = run_create(kind="demo", params=demo_params, owner=analyst, parent=finished_run, enqueue=False)
    Run.objects.filter(pk=child.pk).update(status=RunStatus.CANCELLED)
    child.refresh_from_db()
    data = export_bytes(child, "bundle")
    parent_id = finished_run.run_id
    child.delete()
    forget(finished_run, artifact_root)
    imported = run_import(file=data, actor=analyst).run
    assert imported.parent is None and imported.status == RunStatus.CANCELLED
    assert any(f"parent {parent_id}" in m for m in imported.logs.values_list("message", flat=True))


def test_a_parquet_file_becomes_a_new_imported_run_of_the_given_kind(artifact_root, analyst):
    data = parquet_bytes(rows=1234)
    result = run_import(file=data, actor=analyst, kind="demo", filename="positions.parquet")
    run = result.run
    assert (run.kind, run.trigger, run.status, run.progress) == ("demo", RunTrigger.IMPORT, RunStatus.SUCCEEDED, 100)
    assert artifact_bytes(run) == {"positions.parquet": data}
    assert run.checksum == hashlib.sha256(data).hexdigest()
    assert "1,234 rows" in run.logs.first().message
    assert export_bytes(run, "parquet") == data  # the Parquet export is the file as is


def test_a_parquet_file_imported_twice_makes_two_runs(artifact_root, analyst):
    data = parquet_bytes()
    first = run_import(file=data, actor=analyst, kind="demo").run
    second = run_import(file=data, actor=analyst, kind="demo").run
    assert first.pk != second.pk and first.artifacts.get().name == "results.parquet"


def test_an_operator_import_has_no_owner_and_is_audited(finished_run, artifact_root):
    data = export_bytes(finished_run, "json")
    forget(finished_run, artifact_root)
    run = run_import(file=data, actor=None).run
    assert run.owner is None
    assert "owner in the export: analyst" in run.logs.last().message
    assert AuditEvent.objects.filter(action="run.import", target=run.run_id, actor=None).exists()


# ---------------------------------------------------------------------------
# The exported files themselves
# ---------------------------------------------------------------------------
def test_the_json_export_holds_metadata_logs_and_exact_results(parquet_run):
    document = json.loads(export_bytes(parquet_run, "json"))
    assert (document["format"], document["version"]) == ("runsight.run", 1)
    run = document["run"]
    assert run["id"] == str(parquet_run.pk) and run["run_id"] == parquet_run.run_id
    assert run["owner"] == "analyst" and run["tags"] == ["eu", "nightly"] and run["checksum"] == parquet_run.checksum
    assert len(document["logs"]) == parquet_run.logs.count()
    assert {a["name"]: base64.b64decode(a["data"]) for a in document["artifacts"]} == artifact_bytes(parquet_run)


def test_the_bundle_holds_a_manifest_run_json_and_the_results(parquet_run):
    with zipfile.ZipFile(io.BytesIO(export_bytes(parquet_run, "bundle"))) as bundle:
        names = set(bundle.namelist())
        manifest = json.loads(bundle.read("manifest.json"))
        run_doc = json.loads(bundle.read("run.json"))
        parquet = bundle.read("results/positions.parquet")
        stored = bundle.getinfo("results/positions.parquet").compress_type
    assert names == {"manifest.json", "run.json", "results/result.json", "results/positions.parquet"}
    assert manifest["format"] == "runsight.bundle" and manifest["checksum"] == parquet_run.checksum
    assert {m["name"] for m in manifest["members"]} == names - {"manifest.json"}
    assert all("data" not in a for a in run_doc["artifacts"])
    assert parquet == artifact_bytes(parquet_run)["positions.parquet"]
    assert stored == zipfile.ZIP_STORED  # Parquet is compressed already


def test_exporting_the_same_run_twice_gives_the_same_bytes(parquet_run):
    assert export_bytes(parquet_run, "bundle") == export_bytes(parquet_run, "bundle")
    assert export_bytes(parquet_run, "json") == export_bytes(parquet_run, "json")


def test_the_json_export_is_streamed_in_bounded_chunks(finished_run):
    big = bytes(range(256)) * (5 * 4096)  # 5 MiB of result
    artifact_write(run=finished_run, name="big.bin", data=big, content_type="application/octet-stream")
    chunks = list(run_export(run=finished_run, fmt="json").chunks)
    assert len(chunks) > 5
    assert max(len(c) for c in chunks) <= 2 * 1024 * 1024
    document = json.loads(b"".join(chunks))
    assert base64.b64decode(next(a for a in document["artifacts"] if a["name"] == "big.bin")["data"]) == big


def test_parquet_export_picks_the_named_parquet_result(parquet_run):
    other = parquet_bytes(rows=10, seed=9)
    artifact_write(run=parquet_run, name="a_first.parquet", data=other, content_type="application/vnd.apache.parquet")
    assert export_bytes(parquet_run, "parquet") == other  # the first by name
    assert export_bytes(parquet_run, "parquet", artifact="positions.parquet") == artifact_bytes(parquet_run)["positions.parquet"]


def _parts(run, table, frames):
    for number, frame in enumerate(frames, start=1):
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
        name = f"{table}-{number:05d}-of-{len(frames):05d}.parquet"
        artifact_write(run=run, name=name, data=sink.getvalue(), content_type="application/vnd.apache.parquet")


def _frame(start, rows):
    return pd.DataFrame({"position_id": [f"P{i:05d}" for i in range(start, start + rows)], "notional": [float(i) for i in range(rows)]})


def test_a_table_in_parts_is_exported_as_one_parquet_file(finished_run):
    frames = [_frame(0, 300), _frame(300, 200), _frame(500, 50)]
    _parts(finished_run, "positions", frames)
    export = run_export(run=finished_run, fmt="parquet", artifact="positions")
    assert export.filename == f"{finished_run.run_id}_positions.parquet"
    table = pq.read_table(io.BytesIO(b"".join(export.chunks))).to_pandas()
    pd.testing.assert_frame_equal(table, pd.concat(frames, ignore_index=True))


def test_one_part_can_be_exported_alone(finished_run):
    _parts(finished_run, "positions", [_frame(0, 10), _frame(10, 5)])
    data = export_bytes(finished_run, "parquet", artifact="positions-00002-of-00002.parquet")
    assert data == artifact_bytes(finished_run)["positions-00002-of-00002.parquet"]


def test_a_table_with_a_missing_part_is_refused(finished_run):
    _parts(finished_run, "positions", [_frame(0, 10), _frame(10, 5), _frame(15, 5)])
    finished_run.artifacts.filter(name="positions-00002-of-00003.parquet").delete()
    with pytest.raises(ExportRefused, match="incomplete"):
        run_export(run=finished_run, fmt="parquet")


def test_the_kind_may_name_the_table_exported_by_default(finished_run, monkeypatch):
    from runs.demo_kind import DEMO

    _parts(finished_run, "explain", [_frame(0, 4)])
    _parts(finished_run, "positions", [_frame(0, 7)])
    first = pq.read_table(io.BytesIO(export_bytes(finished_run, "parquet")))
    assert first.num_rows == 4  # explain: the first by name
    monkeypatch.setitem(DEMO.extra, "parquet_table", "positions")
    assert pq.read_table(io.BytesIO(export_bytes(finished_run, "parquet"))).num_rows == 7
