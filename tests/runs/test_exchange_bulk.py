"""Bulk import: many runs from one file (JSON lines or a zip of bundles), checked as a single
import checks one, written in batches that are each all or nothing, never twice."""
from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from runs.hashing import params_hash
from runs.models import Run, RunLog, RunOrigin, RunTrigger
from runs.services.exchange import run_export_bundle_stream
from runs.services.exchange_bulk import BulkImportRefused, runs_import_bulk
from runs.services.exchange import ImportRefused

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def document(i: int, **run: Any) -> dict[str, Any]:
    params = {"steps": 1 + i % 5, "step_seconds": 0, "fail_at_step": 0, "seed": i}
    body = {
        "id": str(uuid.uuid4()), "run_id": f"run_20250101_{i:06d}", "kind": "demo", "status": "SUCCEEDED",
        "trigger": "MANUAL", "owner": "alice", "params": params, "params_hash": params_hash(params), "seed": i,
        "metrics": {"lcr": 1 + (i % 100) / 50, "rwa_total": 1e9 + i}, "checksum": "", "tags": ["bulk", f"t{i % 3}"],
        "created_at": (T0 + timedelta(minutes=i)).isoformat(),
        "finished_at": (T0 + timedelta(minutes=i, seconds=5)).isoformat(), "duration_seconds": 5.0,
    }
    body.update(run)
    return {"format": "runsight.run", "version": 1, "run": body,
            "logs": [{"created_at": (T0 + timedelta(minutes=i)).isoformat(), "level": "INFO", "message": f"step {i}"}],
            "artifacts": []}


def jsonl(docs: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(d).encode() + b"\n" for d in docs)


def test_it_imports_every_line_with_its_times_tags_logs_and_provenance(analyst: Any) -> None:
    docs = [document(i) for i in range(25)]
    result = runs_import_bulk(file=jsonl(docs), actor=analyst, filename="many.jsonl", batch_size=10)
    assert (result.imported, result.skipped, result.batches) == (25, 0, 3)
    assert Run.objects.count() == 25
    run = Run.objects.get(pk=docs[7]["run"]["id"])
    assert run.run_id == "run_20250101_000007"
    assert run.created_at == T0 + timedelta(minutes=7)
    assert run.origin == RunOrigin.IMPORT and run.imported_at is not None and run.import_format == "json"
    assert "many.jsonl, line 8" in run.imported_from
    assert run.trigger == RunTrigger.MANUAL and run.owner == analyst
    assert run.metrics == docs[7]["run"]["metrics"]
    assert sorted(run.tags.values_list("name", flat=True)) == ["bulk", "t1"]
    messages = list(RunLog.objects.filter(run=run).order_by("id").values_list("message", flat=True))
    assert messages[0] == "step 7" and "bulk import of many.jsonl (line 8)" in messages[-1]
    assert RunLog.objects.get(run=run, message="step 7").created_at == T0 + timedelta(minutes=7)
    assert AuditEvent.objects.filter(action="run.bulk_import").count() == 3


def test_importing_again_duplicates_nothing(analyst: Any) -> None:
    data = jsonl([document(i) for i in range(6)])
    runs_import_bulk(file=data, actor=analyst, batch_size=4)
    again = runs_import_bulk(file=data, actor=analyst, batch_size=4)
    assert (again.imported, again.skipped) == (0, 6)
    assert Run.objects.count() == 6


def test_a_bad_line_refuses_its_batch_and_keeps_the_batches_before(analyst: Any) -> None:
    docs = [document(i) for i in range(10)]
    docs[6]["run"]["params_hash"] = "0" * 64
    with pytest.raises(BulkImportRefused) as refused:
        runs_import_bulk(file=jsonl(docs), actor=analyst, batch_size=5)
    assert "Line 7" in refused.value.message and "params_hash does not match" in refused.value.message
    assert refused.value.result.imported == 5
    assert set(Run.objects.values_list("run_id", flat=True)) == {f"run_20250101_{i:06d}" for i in range(5)}
    # Fixed, the file imports the rest and skips what is here.
    docs[6]["run"]["params_hash"] = params_hash(docs[6]["run"]["params"])
    result = runs_import_bulk(file=jsonl(docs), actor=analyst, batch_size=5)
    assert (result.imported, result.skipped) == (5, 5)


def test_malformed_json_names_its_line(analyst: Any) -> None:
    data = jsonl([document(0)]) + b'{"format": "runsight.run", \n'
    with pytest.raises(BulkImportRefused) as refused:
        runs_import_bulk(file=data, actor=analyst)
    assert "Line 2: malformed JSON" in refused.value.message
    assert not Run.objects.exists()


def test_a_run_id_taken_here_gets_a_local_one(analyst: Any) -> None:
    first = document(1)
    runs_import_bulk(file=jsonl([first]), actor=analyst)
    clash = document(1)  # another run (another UUID) with the same run id
    result = runs_import_bulk(file=jsonl([clash]), actor=analyst)
    assert result.renamed == 1
    assert Run.objects.get(pk=clash["run"]["id"]).run_id != first["run"]["run_id"]


def test_a_parent_later_in_the_file_is_linked(analyst: Any) -> None:
    parent, child = document(1), document(2)
    child["run"]["parent_id"] = parent["run"]["id"]
    runs_import_bulk(file=jsonl([child, parent]), actor=analyst, batch_size=1)
    assert Run.objects.get(pk=child["run"]["id"]).parent_id == uuid.UUID(parent["run"]["id"])


def test_imported_metrics_never_claim_to_be_computed_here(analyst: Any) -> None:
    runs_import_bulk(file=jsonl([document(1, origin="ENGINE")]), actor=analyst)
    run = Run.objects.get()
    assert run.origin == RunOrigin.IMPORT and not run.is_engine_result


def test_a_viewer_may_not_bulk_import(viewer: Any) -> None:
    with pytest.raises(Exception) as refused:
        runs_import_bulk(file=jsonl([document(1)]), actor=viewer)
    assert type(refused.value).__name__ == "PermissionDenied"
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    ("data", "words"),
    [(b"", "empty"), (b"PAR1....", "Unknown file format"), (b"\x80\x04pickle", "Unknown file format")],
)
def test_what_is_not_a_bulk_file_is_refused(analyst: Any, data: bytes, words: str) -> None:
    with pytest.raises(ImportRefused) as refused:
        runs_import_bulk(file=data, actor=analyst)
    assert words in refused.value.message


def _finished_demo_runs(analyst: Any, demo_params: dict[str, Any], capture: Any, count: int) -> list[Run]:
    from runs.services.lifecycle import run_create

    with capture(execute=True):
        runs = [run_create(kind="demo", params=dict(demo_params, seed=s), owner=analyst) for s in range(count)]
    return runs


def test_a_zip_of_bundles_imports_every_bundle(
    analyst: Any, demo_params: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    sources = _finished_demo_runs(analyst, demo_params, django_capture_on_commit_callbacks, 2)
    bundles = {run.run_id: b"".join(run_export_bundle_stream(run=Run.objects.get(pk=run.pk))) for run in sources}
    checksums = {run.pk: Run.objects.get(pk=run.pk).checksum for run in sources}
    Run.objects.all().delete()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as outer:
        for name, data in bundles.items():
            outer.writestr(f"{name}.zip", data)
    result = runs_import_bulk(file=buffer.getvalue(), actor=analyst, filename="bundles.zip")
    assert result.imported == 2
    for pk, checksum in checksums.items():
        run = Run.objects.get(pk=pk)
        assert run.checksum == checksum and run.origin == RunOrigin.IMPORT and run.import_format == "bundle"
        assert run.artifacts.exists()


def test_an_altered_result_in_a_bundle_refuses_the_batch(
    analyst: Any, demo_params: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    run = _finished_demo_runs(analyst, demo_params, django_capture_on_commit_callbacks, 1)[0]
    bundle = b"".join(run_export_bundle_stream(run=Run.objects.get(pk=run.pk)))
    Run.objects.all().delete()
    inner_in, inner_out = zipfile.ZipFile(io.BytesIO(bundle)), io.BytesIO()
    with zipfile.ZipFile(inner_out, "w") as rewritten:
        for info in inner_in.infolist():
            data = inner_in.read(info)
            if info.filename.startswith("results/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            rewritten.writestr(info, data)
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as bundles:
        bundles.writestr("a.zip", inner_out.getvalue())
    with pytest.raises(BulkImportRefused) as refused:
        runs_import_bulk(file=outer.getvalue(), actor=analyst)
    assert "SHA-256" in refused.value.message
    assert not Run.objects.exists()


def test_the_command_imports_in_bulk(tmp_path: Any, capsys: Any) -> None:
    path = tmp_path / "runs.jsonl"
    path.write_bytes(jsonl([document(i) for i in range(3)]))
    call_command("import_run", str(path), "--bulk")
    assert "Imported 3 run(s)" in capsys.readouterr().out
    assert Run.objects.filter(owner__isnull=True).count() == 3
    path.write_bytes(b"nonsense")
    with pytest.raises(CommandError, match="Unknown file format"):
        call_command("import_run", str(path), "--bulk")
