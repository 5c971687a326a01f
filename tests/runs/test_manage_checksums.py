"""Checksums: recompute a run's SHA-256 over its stored bytes, and detect altered bytes."""
from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.test import override_settings

from runs.admin import RunAdmin
from runs.admin_actions import recompute_checksums
from runs.artifacts import artifact_read, artifact_write, artifacts_checksum
from runs.models import Run, RunArtifact, RunStatus
from runs.selectors.checksums import (
    PROBLEM_ARTIFACT_ALTERED,
    PROBLEM_ARTIFACT_MISSING,
    PROBLEM_RUN_CHECKSUM_MISMATCH,
    PROBLEM_RUN_CHECKSUM_MISSING,
    runs_verify_checksums,
)
from runs.services.manage import (
    run_checksum_recompute,
)
from tests.runs.test_manage_support import artifact_store, launch  # noqa: F401

pytestmark = pytest.mark.django_db


def _alter(store, run, data=b'{"values": [1.0]}'):
    (store / RunArtifact.objects.get(run=run).path).write_bytes(data)


def _verify(*args):
    out = StringIO()
    call_command("verify_checksums", *args, stdout=out)
    return out.getvalue()


# ---------------------------------------------------------------------------
# Recompute
# ---------------------------------------------------------------------------
def test_recompute_records_the_sha256_of_the_stored_bytes(launch, ml_admin):
    run = launch(None, seed=1)
    expected = hashlib.sha256(artifact_read(run.artifacts.get())).hexdigest()
    Run.objects.filter(pk=run.pk).update(checksum="0" * 64)
    run.refresh_from_db()
    old, new = run_checksum_recompute(run=run, actor=ml_admin)
    assert (old, new) == ("0" * 64, expected)
    assert Run.objects.get(pk=run.pk).checksum == expected
    assert run.logs.filter(message__startswith=f"Checksum recomputed by {ml_admin.username}").exists()


def test_recompute_of_an_intact_run_changes_nothing(launch, ml_admin):
    run = launch(None, seed=1)
    old, new = run_checksum_recompute(run=run, actor=ml_admin)
    assert old == new == run.checksum != ""


def test_recompute_covers_every_artifact_in_name_order(launch, ml_admin):
    run = launch(None, seed=1)
    artifact_write(run=run, name="a_first.txt", data=b"first", content_type="text/plain")
    _old, new = run_checksum_recompute(run=run, actor=ml_admin)
    assert new == hashlib.sha256(b"first" + artifact_read(run.artifacts.get(name="result.json"))).hexdigest()


def test_recompute_is_refused_to_those_who_may_not_maintain_runs(launch, analyst, viewer):
    run = launch(analyst, seed=1)
    Run.objects.filter(pk=run.pk).update(checksum="")
    for user in (analyst, viewer):
        with pytest.raises(PermissionDenied):
            run_checksum_recompute(run=run, actor=user)
    assert Run.objects.get(pk=run.pk).checksum == ""


def test_recompute_refuses_an_active_run(launch, ml_admin):
    run = launch(None, seed=1)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    run.refresh_from_db()
    with pytest.raises(ValidationError):
        run_checksum_recompute(run=run, actor=ml_admin)


def test_the_api_recomputes_and_says_whether_it_changed(launch, ml_admin, client_for):
    run = launch(None, seed=1)
    good = run.checksum
    Run.objects.filter(pk=run.pk).update(checksum="")
    client = client_for(ml_admin)
    response = client.post(f"/api/runs/{run.run_id}/checksum/")
    assert response.status_code == 200
    assert response.json() == {"run_id": run.run_id, "old": "", "new": good, "changed": True}
    assert client.post(f"/api/runs/{run.run_id}/checksum/").json()["changed"] is False


def test_the_api_refuses_a_viewer_and_anonymous(launch, viewer, client_for, client):
    run = launch(None, seed=1)
    Run.objects.filter(pk=run.pk).update(checksum="")
    assert client_for(viewer).post(f"/api/runs/{run.run_id}/checksum/").status_code == 403
    assert client.post(f"/api/runs/{run.run_id}/checksum/").status_code == 401
    assert client_for(viewer).post("/api/runs/run_19990101_001/checksum/").status_code == 404
    assert Run.objects.get(pk=run.pk).checksum == ""


def test_the_admin_action_recomputes_checksums(monkeypatch, launch, make_user, client_for):
    monkeypatch.setattr(RunAdmin, "actions", [*RunAdmin.actions, recompute_checksums])
    staff = make_user("ml_admin", username="mlstaff", is_staff=True)
    run = launch(None, seed=1)
    good = run.checksum
    Run.objects.filter(pk=run.pk).update(checksum="")
    response = client_for(staff).post(
        "/admin/runs/run/", {"action": "recompute_checksums", "_selected_action": [str(run.pk)]}, follow=True
    )
    assert f"changed: {run.run_id}".encode() in response.content
    assert Run.objects.get(pk=run.pk).checksum == good


# ---------------------------------------------------------------------------
# Verify
# ---------------------------------------------------------------------------
def test_verify_passes_on_intact_runs(launch):
    runs = [launch(None, seed=s) for s in (1, 2, 3)]
    report = runs_verify_checksums()
    assert report.mismatches == [] and report.runs_checked == 3 and report.artifacts_checked == 3
    assert "Checked 3 run(s), 3 artifact(s): 0 mismatch(es)." in _verify()
    assert all(r.checksum for r in runs)


def test_verify_detects_altered_bytes_and_names_the_artifact(launch, artifact_store):
    intact = launch(None, seed=1)
    altered = launch(None, seed=2)
    artifact = RunArtifact.objects.get(run=altered)
    _alter(artifact_store, altered)
    report = runs_verify_checksums()
    problems = {(m.run_id, m.artifact, m.problem) for m in report.mismatches}
    assert problems == {
        (altered.run_id, "result.json", PROBLEM_ARTIFACT_ALTERED),
        (altered.run_id, "", PROBLEM_RUN_CHECKSUM_MISMATCH),
    }
    assert intact.run_id not in {m.run_id for m in report.mismatches}
    with pytest.raises(CommandError, match=r"2 mismatch\(es\)"):
        out = StringIO()
        try:
            call_command("verify_checksums", stdout=out)
        finally:
            text = out.getvalue()
    assert f"MISMATCH  {altered.run_id} result.json: stored bytes hash to" in text
    assert f"the artifact recorded {artifact.sha256}" in text


def test_verify_detects_altered_bytes_in_a_multi_artifact_run(launch, artifact_store):
    run = launch(None, seed=1)
    extra = artifact_write(run=run, name="extra.txt", data=b"extra bytes", content_type="text/plain")
    Run.objects.filter(pk=run.pk).update(checksum=artifacts_checksum(list(run.artifacts.all())))
    assert runs_verify_checksums().mismatches == []
    (artifact_store / extra.path).write_bytes(b"other bytes")
    problems = {(m.artifact, m.problem) for m in runs_verify_checksums().mismatches}
    assert problems == {("extra.txt", PROBLEM_ARTIFACT_ALTERED), ("", PROBLEM_RUN_CHECKSUM_MISMATCH)}


def test_verify_reports_a_missing_file(launch, artifact_store):
    run = launch(None, seed=1)
    (artifact_store / RunArtifact.objects.get(run=run).path).unlink()
    [mismatch] = runs_verify_checksums().mismatches
    assert (mismatch.run_id, mismatch.artifact, mismatch.problem) == (run.run_id, "result.json", PROBLEM_ARTIFACT_MISSING)


def test_verify_detects_a_tampered_run_checksum(launch):
    run = launch(None, seed=1)
    Run.objects.filter(pk=run.pk).update(checksum="f" * 64)
    [mismatch] = runs_verify_checksums().mismatches
    assert mismatch.problem == PROBLEM_RUN_CHECKSUM_MISMATCH and mismatch.expected == "f" * 64


@override_settings(ARTIFACT_STORE="db")
def test_verify_detects_an_altered_database_blob(launch):
    run = launch(None, seed=1)
    RunArtifact.objects.filter(run=run).update(blob=b"tampered")
    problems = {(m.artifact, m.problem) for m in runs_verify_checksums().mismatches}
    assert ("result.json", PROBLEM_ARTIFACT_ALTERED) in problems


def test_fix_records_missing_checksums_but_never_hides_an_alteration(launch, artifact_store):
    missing = launch(None, seed=1)
    altered = launch(None, seed=2)
    good = missing.checksum
    Run.objects.filter(pk__in=[missing.pk, altered.pk]).update(checksum="")
    _alter(artifact_store, altered)
    out = StringIO()
    # The altered run stays flagged twice: its artifact changed, and it has no checksum.
    with pytest.raises(CommandError, match=r"2 mismatch\(es\), 1 missing checksum\(s\) recorded"):
        call_command("verify_checksums", "--fix", stdout=out)
    assert f"FIXED     {missing.run_id}" in out.getvalue()
    assert Run.objects.get(pk=missing.pk).checksum == good
    assert Run.objects.get(pk=altered.pk).checksum == ""
    remaining = {(m.run_id, m.problem) for m in runs_verify_checksums().mismatches}
    assert remaining == {(altered.run_id, PROBLEM_ARTIFACT_ALTERED), (altered.run_id, PROBLEM_RUN_CHECKSUM_MISSING)}


def test_a_missing_checksum_fails_without_fix_and_passes_after(launch):
    run = launch(None, seed=1)
    Run.objects.filter(pk=run.pk).update(checksum="")
    assert [m.problem for m in runs_verify_checksums().mismatches] == [PROBLEM_RUN_CHECKSUM_MISSING]
    with pytest.raises(CommandError):
        _verify()
    assert "1 missing checksum(s) recorded" in _verify("--fix")
    assert "0 mismatch(es)" in _verify()


def test_verify_skips_active_runs(launch):
    run = launch(None, seed=1)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, checksum="")
    assert runs_verify_checksums().runs_checked == 0


def test_verify_can_check_named_runs_and_refuses_unknown_ones(launch, artifact_store):
    intact = launch(None, seed=1)
    altered = launch(None, seed=2)
    _alter(artifact_store, altered)
    assert "Checked 1 run(s)" in _verify(intact.run_id)
    with pytest.raises(CommandError, match="No such run: run_19990101_001"):
        _verify("run_19990101_001")
