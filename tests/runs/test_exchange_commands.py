"""The export_run and import_run commands: clear errors, a summary line."""
import io
import json

import pytest
from django.core.management import CommandError, call_command

from runs.models import Run, RunTrigger
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


def run_command(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_export_run_writes_the_file_and_a_summary(finished_run, tmp_path):
    target = tmp_path / "out.json"
    out, _ = run_command("export_run", finished_run.run_id, "--format", "json", "--output", str(target))
    assert target.read_bytes() == export_bytes(finished_run, "json")
    assert f"Exported {finished_run.run_id} as json to {target}" in out and finished_run.checksum in out
    assert not list(tmp_path.glob("*.part"))


def test_export_run_by_uuid_into_a_directory(parquet_run, tmp_path):
    out, _ = run_command("export_run", str(parquet_run.pk), "--format", "parquet", "-o", str(tmp_path))
    written = tmp_path / f"{parquet_run.run_id}_positions.parquet"
    assert written.read_bytes() == artifact_bytes(parquet_run)["positions.parquet"]
    assert "1 artifact" not in out and "2 artifact(s)" in out


def test_export_run_to_stdout(finished_run):
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw)
    err = io.StringIO()
    call_command("export_run", finished_run.run_id, "--output", "-", stdout=out, stderr=err)
    out.flush()
    assert json.loads(raw.getvalue())["run"]["id"] == str(finished_run.pk)
    assert "to stdout" in err.getvalue()


@pytest.mark.parametrize(
    "args,match",
    [
        (["run_nope"], "No run 'run_nope'"),
        (["{run}", "--format", "parquet"], "has no Parquet results"),
        (["{run}", "--output", "/nonexistent-dir/x.json"], "does not exist"),
    ],
)
def test_export_run_errors_are_command_errors(finished_run, args, match):
    args = [a.replace("{run}", finished_run.run_id) for a in args]
    with pytest.raises(CommandError, match=match):
        run_command("export_run", *args)


def test_export_run_does_not_overwrite_without_force(finished_run, tmp_path):
    target = tmp_path / "keep.json"
    target.write_text("precious")
    with pytest.raises(CommandError, match="--force"):
        run_command("export_run", finished_run.run_id, "-o", str(target))
    assert target.read_text() == "precious"
    run_command("export_run", finished_run.run_id, "-o", str(target), "--force")
    assert json.loads(target.read_bytes())["format"] == "runsight.run"


def test_import_run_imports_and_says_what_it_did(parquet_run, artifact_root, tmp_path):
    path = tmp_path / "run.zip"
    path.write_bytes(export_bytes(parquet_run, "bundle"))
    run_id, checksum = parquet_run.run_id, parquet_run.checksum
    forget(parquet_run, artifact_root)
    out, _ = run_command("import_run", str(path))
    run = Run.objects.get(run_id=run_id)
    assert run.checksum == checksum and run.owner is None
    assert out.startswith(f"Imported {run_id} ({run.pk}) from bundle: 2 artifact(s)") and checksum in out


def test_import_run_twice_says_the_run_exists(finished_run, artifact_root, tmp_path):
    path = tmp_path / "run.json"
    path.write_bytes(export_bytes(finished_run, "json"))
    before = snapshot(artifact_root)
    with pytest.raises(CommandError, match=f"already exists here as {finished_run.run_id}.*--as-new"):
        run_command("import_run", str(path))
    assert snapshot(artifact_root) == before
    out, _ = run_command("import_run", str(path), "--as-new")
    assert Run.objects.filter(trigger=RunTrigger.IMPORT, parent=finished_run).count() == 1 and "Imported" in out


def test_import_run_parquet_with_kind(artifact_root, tmp_path):
    path = tmp_path / "positions.parquet"
    path.write_bytes(parquet_bytes())
    with pytest.raises(CommandError, match="say which kind"):
        run_command("import_run", str(path))
    out, _ = run_command("import_run", str(path), "--kind", "demo")
    assert Run.objects.get().artifacts.get().name == "positions.parquet" and "from parquet" in out


@pytest.mark.parametrize(
    "content,match", [(b"\x80\x05K\x01.", "Import refused: The file is a Python pickle"), (b"{oops", "Malformed JSON")]
)
def test_import_run_refusals_are_command_errors(artifact_root, tmp_path, content, match):
    path = tmp_path / "bad"
    path.write_bytes(content)
    before = snapshot(artifact_root)
    with pytest.raises(CommandError, match=match):
        run_command("import_run", str(path))
    assert snapshot(artifact_root) == before


def test_import_run_with_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="No file"):
        run_command("import_run", str(tmp_path / "absent.json"))
