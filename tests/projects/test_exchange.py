"""Project bundles: export, import into an empty installation, idempotence, refusals."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError

from projects import services
from projects.exchange import (
    MANIFEST,
    ProjectImportConflict,
    ProjectImportRefused,
    project_checksum,
    project_export,
    project_import,
)
from projects.models import Experiment, Project, ProjectDataset, ProjectLock, RunPlacement
from runs.models import Run
from tests.runs.test_exchange_support import artifact_root, files_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def full_project(owner: Any, member: Any, demo_params: dict[str, Any], django_capture_on_commit_callbacks: Any,
                 artifact_root: Path) -> Project:
    """A project with two experiments, a dataset in two versions and two finished runs, one per experiment."""
    from runs.services import run_create
    from simulations.training.datasets import dataset_generate_credit

    project = services.project_create(actor=owner, name="Credit models", description="PD models", members=[member])
    sweep = services.experiment_create(actor=owner, project=project, name="sweep", purpose="seeds",
                                       parameters={"seeds": [1, 2]}, tags={"team": "risk"})
    services.experiment_create(actor=owner, project=project, name="baseline")
    dataset_generate_credit(rows=300, seed=1, user=owner, name="credit-book")
    dataset_generate_credit(rows=300, seed=2, user=owner, name="credit-book")
    services.project_dataset_attach(actor=owner, project=project, dataset_name="credit-book")
    for seed, experiment in ((1, sweep), (2, None)):
        with django_capture_on_commit_callbacks(execute=True):
            run = run_create(kind="demo", params={**demo_params, "seed": seed}, owner=owner)
        services.run_place(actor=owner, run=run, project=project, experiment=experiment)
    services.project_lock_release(actor=owner, project=project)
    return project


def bundle_of(project: Project, actor: Any = None) -> bytes:
    return b"".join(project_export(project=project, actor=actor).chunks)


def forget_everything(root: Path) -> None:
    """Empty this installation of projects, runs, datasets and stored files."""
    from simulations.models import Dataset

    Project.objects.all().delete()
    Run.objects.all().delete()
    Dataset.objects.all().delete()
    for path in files_in(root):
        path.unlink()


def manifest_of(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        return json.loads(bundle.read(MANIFEST))


def rezip(data: bytes, change: Callable[[str, bytes], bytes | None], extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            changed = change(info.filename, src.read(info))
            if changed is not None:
                dst.writestr(info.filename, changed)
        for name, raw in (extra or {}).items():
            dst.writestr(name, raw)
    return out.getvalue()


def test_the_bundle_lists_every_member_with_its_checksum(full_project: Project) -> None:
    data = bundle_of(full_project)
    manifest = manifest_of(data)
    names = sorted(m["name"] for m in manifest["members"])
    assert names[0] == "datasets/credit-book-" + names[0].split("-")[2].split("/")[0] + "/v1.parquet"
    assert sum(n.startswith("datasets/") for n in names) == 2 and sum(n.startswith("runs/") for n in names) == 2
    assert "project.json" in names and manifest["checksum"] == project_checksum(full_project)
    import hashlib

    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        for member in manifest["members"]:
            assert hashlib.sha256(bundle.read(member["name"])).hexdigest() == member["sha256"]


def test_it_round_trips_with_identical_checksums_and_a_second_import_adds_nothing(
    full_project: Project, artifact_root: Path, owner: Any, member: Any
) -> None:
    from simulations.models import Dataset

    checksum = project_checksum(full_project)
    runs = {r.run_id: r.checksum for r in Run.objects.all()}
    datasets = sorted(Dataset.objects.values_list("name", "version", "sha256"))
    uid = full_project.uid
    data = bundle_of(full_project)
    forget_everything(artifact_root)

    first = project_import(file=data, actor=None)
    assert first.created and first.runs_added == 2 and first.datasets_added == 2 and first.experiments_added == 2
    project = Project.objects.get()
    assert project.uid == uid and project.name == "Credit models" and project.owner == owner
    assert project.has_member(member)
    assert project_checksum(project) == checksum == first.checksum
    assert {r.run_id: r.checksum for r in Run.objects.all()} == runs
    assert sorted(Dataset.objects.values_list("name", "version", "sha256")) == datasets
    assert RunPlacement.objects.filter(project=project, experiment__name="sweep").count() == 1
    # Re-exporting what was imported gives the same dataset files and the same project checksum (run
    # bundles differ only in their provenance: the runs are now marked imported).
    again = manifest_of(bundle_of(project))
    assert again["checksum"] == checksum
    assert {m["name"]: m["sha256"] for m in again["members"] if m["name"].startswith("datasets/")} == {
        m["name"]: m["sha256"] for m in manifest_of(data)["members"] if m["name"].startswith("datasets/")
    }

    counts = (Project.objects.count(), Experiment.objects.count(), Run.objects.count(), Dataset.objects.count(),
              RunPlacement.objects.count(), ProjectDataset.objects.count())
    second = project_import(file=data, actor=owner)
    assert not second.added_anything and "nothing was added" in second.summary
    assert counts == (Project.objects.count(), Experiment.objects.count(), Run.objects.count(),
                      Dataset.objects.count(), RunPlacement.objects.count(), ProjectDataset.objects.count())


def test_it_round_trips_into_a_fresh_database_through_the_commands(full_project: Project, tmp_path: Path) -> None:
    """Export here; migrate an empty SQLite database in another process and import there twice."""
    bundle = tmp_path / "project.zip"
    call_command("project_export", "Credit models", "--output", str(bundle), stdout=io.StringIO())
    checksum = project_checksum(full_project)
    env = {**os.environ, "DEBUG": "1", "RUNSIGHT_ENV_FILE": "", "REDIS_URL": "",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}", "ARTIFACT_ROOT": str(tmp_path / "fresh-artifacts"),
           "RUNSIGHT_VAR_DIR": str(tmp_path / "var"), "LOG_DIR": ""}

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    count = ("from projects.models import *; from runs.models import Run; from simulations.models import Dataset; "
             "print([m.objects.count() for m in (Project, Experiment, ProjectDataset, RunPlacement, Run, Dataset)])")
    manage("migrate", "--noinput", "-v", "0")
    first = manage("project_import", str(bundle))
    counts = manage("shell", "-c", count).strip().splitlines()[-1]  # the last line: shell may say what it imported
    second = manage("project_import", str(bundle))
    assert f"Imported Credit models: 2 experiment(s), 2 dataset version(s), 2 run(s) added" in first
    assert f"(checksum {checksum})" in first
    assert "nothing was added" in second and f"(checksum {checksum})" in second
    # The second import duplicated nothing, and the fresh database holds the same project: exported there,
    # it has the same project checksum and the same dataset files, byte for byte.
    assert counts == "[1, 2, 1, 2, 2, 2]" and manage("shell", "-c", count).strip().splitlines()[-1] == counts
    again = tmp_path / "again.zip"
    exported = manage("project_export", "Credit models", "--output", str(again))
    assert f"project checksum {checksum}" in exported
    original, fresh = manifest_of(bundle.read_bytes()), manifest_of(again.read_bytes())
    assert fresh["checksum"] == original["checksum"] == checksum
    assert {m["name"]: m["sha256"] for m in fresh["members"] if m["name"].startswith("datasets/")} == {
        m["name"]: m["sha256"] for m in original["members"] if m["name"].startswith("datasets/")
    }


def test_a_tampered_member_is_refused_and_nothing_is_written(full_project: Project, artifact_root: Path) -> None:
    data = bundle_of(full_project)
    forget_everything(artifact_root)
    tampered = rezip(data, lambda name, raw: raw[:-8] + b"XXXXPAR1" if name.startswith("datasets/") else raw)
    with pytest.raises(ProjectImportRefused, match="does not match its checksum"):
        project_import(file=tampered, actor=None)
    assert not Project.objects.exists() and not Run.objects.exists() and not files_in(artifact_root)


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "datasets/../../x.parquet"])
def test_zip_slip_names_are_refused(full_project: Project, name: str) -> None:
    data = rezip(bundle_of(full_project), lambda n, raw: raw, extra={name: b"x"})
    with pytest.raises(ProjectImportRefused, match="unsafe name"):
        project_import(file=data, actor=None)


def test_an_unlisted_member_is_refused(full_project: Project) -> None:
    data = rezip(bundle_of(full_project), lambda n, raw: raw, extra={"runs/extra.zip": b"PK"})
    with pytest.raises(ProjectImportRefused, match="not listed"):
        project_import(file=data, actor=None)


def test_a_zip_bomb_is_refused_before_inflating(full_project: Project) -> None:
    data = rezip(bundle_of(full_project), lambda n, raw: raw, extra={"datasets/bomb/v1.parquet": b"\0" * (8 << 20)})
    with pytest.raises(ProjectImportRefused, match="zip bomb"):
        project_import(file=data, actor=None)


def test_a_pickle_is_refused(db: Any) -> None:
    import pickle

    with pytest.raises(ProjectImportRefused, match="pickle"):
        project_import(file=pickle.dumps({"a": 1}), actor=None)


def test_an_oversize_upload_is_refused(db: Any, settings: Any) -> None:
    settings.PROJECT_IMPORT_MAX_BYTES = 2048
    with pytest.raises(ProjectImportRefused, match="PROJECT_IMPORT_MAX_BYTES"):
        project_import(file=b"PK\x03\x04" + b"\0" * 4096, actor=None)


def test_a_run_bundle_refused_by_run_import_refuses_the_project(full_project: Project, artifact_root: Path) -> None:
    import hashlib

    data = bundle_of(full_project)
    forget_everything(artifact_root)
    manifest = manifest_of(data)
    run_member = next(m for m in manifest["members"] if m["name"].startswith("runs/"))
    evil = b"\x80\x04" + b"pickle" * 10
    run_member.update(sha256=hashlib.sha256(evil).hexdigest(), size_bytes=len(evil))
    forged = rezip(data, lambda n, raw: evil if n == run_member["name"] else
                   json.dumps(manifest).encode() if n == MANIFEST else raw)
    with pytest.raises(ProjectImportRefused, match="pickle"):
        project_import(file=forged, actor=None)
    assert not Project.objects.exists() and not Run.objects.exists() and not files_in(artifact_root)


def test_another_project_with_the_name_is_a_conflict(full_project: Project, artifact_root: Path, owner: Any) -> None:
    data = bundle_of(full_project)
    forget_everything(artifact_root)
    services.project_create(actor=owner, name="credit MODELS")
    with pytest.raises(ProjectImportConflict, match="already named"):
        project_import(file=data, actor=None)


def test_import_into_a_project_locked_by_another_member_is_refused(
    full_project: Project, member: Any, owner: Any
) -> None:
    data = bundle_of(full_project)
    experiment = full_project.experiments.get(name="baseline")
    services.experiment_delete(actor=owner, experiment=experiment)  # the import would bring it back
    services.project_lock_release(actor=owner, project=full_project)
    services.project_lock_take(actor=member, project=full_project)
    with pytest.raises(services.ProjectLocked):
        project_import(file=data, actor=owner)
    with pytest.raises(CommandError, match="being edited by max"):
        bundle = Path(os.environ.get("TMPDIR", "/tmp")) / f"p-{full_project.pk}.zip"
        bundle.write_bytes(data)
        try:
            call_command("project_import", str(bundle), stdout=io.StringIO())
        finally:
            bundle.unlink()
    assert not full_project.experiments.filter(name="baseline").exists()
    assert ProjectLock.objects.get(project=full_project).holder == member


def test_viewers_cannot_import(full_project: Project, viewer: Any) -> None:
    with pytest.raises(PermissionDenied):
        project_import(file=bundle_of(full_project), actor=viewer)


def test_the_export_command_names_an_unknown_project(db: Any) -> None:
    with pytest.raises(CommandError, match="No project named"):
        call_command("project_export", "nope", stdout=io.StringIO())
