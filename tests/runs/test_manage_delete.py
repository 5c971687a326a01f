"""Deleting runs: rows, logs and artifact files go; shared files and other people's runs stay."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import AuditEvent
from runs.admin import RunAdmin
from runs.admin_actions import delete_runs_with_artifacts, recompute_checksums
from runs.models import Run, RunArtifact, RunLog, RunStatus
from runs.services.manage import RunsDeleteRefused, run_delete, runs_delete
from tests.runs.test_manage_support import artifact_store, launch  # noqa: F401

pytestmark = pytest.mark.django_db


def _file(store, run):
    return store / RunArtifact.objects.get(run=run).path


@pytest.fixture
def other_analyst(make_user):
    return make_user("analyst", username="other")


# ---------------------------------------------------------------------------
# Service
# ---------------------------------------------------------------------------
def test_it_removes_the_run_its_logs_its_artifact_rows_and_files(launch, analyst, artifact_store, django_capture_on_commit_callbacks):
    run = launch(analyst, seed=1)
    path = _file(artifact_store, run)
    assert path.exists() and RunLog.objects.filter(run=run).exists()
    with django_capture_on_commit_callbacks(execute=True):
        run_delete(run=run, actor=analyst)
    assert not Run.objects.filter(pk=run.pk).exists()
    assert not RunLog.objects.filter(run_id=run.pk).exists()
    assert not RunArtifact.objects.filter(run_id=run.pk).exists()
    assert not path.exists()
    assert AuditEvent.objects.filter(action="run.delete", target=run.run_id, actor=analyst).exists()


def test_a_file_another_run_still_uses_stays(launch, analyst, artifact_store, django_capture_on_commit_callbacks):
    first = launch(analyst, seed=5)
    twin = launch(analyst, seed=5)  # same parameters, same bytes: one content-addressed file
    path = _file(artifact_store, first)
    assert path == _file(artifact_store, twin)
    with django_capture_on_commit_callbacks(execute=True):
        run_delete(run=first, actor=analyst)
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        run_delete(run=twin, actor=analyst)
    assert not path.exists()


def test_a_file_a_registered_holder_uses_stays(launch, analyst, artifact_store, django_capture_on_commit_callbacks, monkeypatch):
    from runs import artifacts

    run = launch(analyst, seed=6)
    path = _file(artifact_store, run)
    held = RunArtifact.objects.get(run=run).path
    monkeypatch.setattr(artifacts, "_PATH_HOLDERS", [lambda paths: {p for p in paths if p == held}])
    with django_capture_on_commit_callbacks(execute=True):
        run_delete(run=run, actor=analyst)
    assert path.exists() and not Run.objects.filter(pk=run.pk).exists()


def test_a_rolled_back_delete_leaves_rows_and_files(launch, analyst, artifact_store, django_capture_on_commit_callbacks):
    run = launch(analyst, seed=2)
    path = _file(artifact_store, run)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                run_delete(run=run, actor=analyst)
                raise RuntimeError("something after the delete failed")
    assert callbacks == []
    assert path.exists() and Run.objects.filter(pk=run.pk).exists()


def test_files_go_only_after_the_commit(launch, analyst, artifact_store, django_capture_on_commit_callbacks):
    run = launch(analyst, seed=3)
    path = _file(artifact_store, run)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run_delete(run=run, actor=analyst)
    assert path.exists() and callbacks  # the file removal (and the list totals' invalidation)
    for callback in callbacks:
        callback()
    assert not path.exists()


def test_an_analyst_deletes_own_runs_only(launch, analyst, other_analyst):
    theirs = launch(other_analyst, seed=1)
    with pytest.raises(RunsDeleteRefused) as caught:
        run_delete(run=theirs, actor=analyst)
    assert caught.value.refused == [theirs.run_id]
    assert Run.objects.filter(pk=theirs.pk).exists()


def test_a_bulk_delete_mixing_own_and_others_runs_changes_none(launch, analyst, other_analyst, artifact_store):
    mine = [launch(analyst, seed=s) for s in (1, 2)]
    theirs = launch(other_analyst, seed=3)
    with pytest.raises(RunsDeleteRefused) as caught:
        runs_delete(runs=[*mine, theirs], actor=analyst)
    assert caught.value.refused == [theirs.run_id]
    assert Run.objects.filter(pk__in=[r.pk for r in (*mine, theirs)]).count() == 3
    assert all(_file(artifact_store, r).exists() for r in mine)
    assert runs_delete(runs=mine, actor=analyst) == sorted(r.run_id for r in mine)


def test_a_viewer_cannot_delete(launch, viewer, analyst):
    run = launch(analyst, seed=1)
    with pytest.raises(RunsDeleteRefused):
        run_delete(run=run, actor=viewer)
    assert Run.objects.filter(pk=run.pk).exists()


def test_an_ml_admin_deletes_anyones_runs(launch, ml_admin, analyst):
    run = launch(analyst, seed=1)
    run_delete(run=run, actor=ml_admin)
    assert not Run.objects.filter(pk=run.pk).exists()


def test_an_active_run_is_not_deleted(launch, analyst):
    done = launch(analyst, seed=1)
    running = launch(analyst, seed=2)
    Run.objects.filter(pk=running.pk).update(status=RunStatus.RUNNING)
    running.refresh_from_db()
    with pytest.raises(ValidationError, match="Cancel"):
        runs_delete(runs=[done, running], actor=analyst)
    assert Run.objects.filter(pk__in=[done.pk, running.pk]).count() == 2


def test_children_stay_and_lose_their_parent(launch, analyst):
    parent = launch(analyst, seed=1)
    child = launch(analyst, seed=2, parent=parent)
    run_delete(run=parent, actor=analyst)
    child.refresh_from_db()
    assert child.parent_id is None


# ---------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------
def test_the_confirmation_page_shows_what_goes_and_what_stays(launch, analyst, client_for):
    run = launch(analyst, seed=4)
    launch(analyst, seed=4)  # shares the result file
    response = client_for(analyst).get(f"/runs/{run.run_id}/delete/")
    assert response.status_code == 200
    preview = response.context["preview"]
    artifact = RunArtifact.objects.get(run=run)
    assert preview.log_count == RunLog.objects.filter(run=run).count() > 0
    assert [(a.name, a.size_bytes, a.file_kept) for a in preview.artifacts] == [("result.json", artifact.size_bytes, True)]
    html = response.content.decode()
    assert f"its {preview.log_count} log lines" in html
    assert "result.json" in html and "file kept" in html
    assert Run.objects.filter(pk=run.pk).exists()  # GET deletes nothing


def test_the_confirmation_page_says_an_unshared_file_is_deleted(launch, analyst, client_for):
    run = launch(analyst, seed=8)
    preview = client_for(analyst).get(f"/runs/{run.run_id}/delete/").context["preview"]
    assert [a.file_kept for a in preview.artifacts] == [False]
    assert preview.freed_bytes == preview.artifact_bytes > 0


def test_posting_the_confirmation_deletes(launch, analyst, client_for):
    run = launch(analyst, seed=4)
    response = client_for(analyst).post(f"/runs/{run.run_id}/delete/")
    assert response.status_code == 302 and response["Location"] == "/runs/"
    assert not Run.objects.filter(pk=run.pk).exists()


def test_the_page_refuses_a_viewer_and_another_analyst(launch, analyst, viewer, other_analyst, client_for):
    run = launch(analyst, seed=4)
    for user in (viewer, other_analyst):
        client = client_for(user)
        assert client.get(f"/runs/{run.run_id}/delete/").status_code == 403
        assert client.post(f"/runs/{run.run_id}/delete/").status_code == 403
    assert Run.objects.filter(pk=run.pk).exists()


def test_the_page_refuses_an_active_run_with_a_message(launch, analyst, client_for):
    run = launch(analyst, seed=4)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    response = client_for(analyst).post(f"/runs/{run.run_id}/delete/")
    assert response.status_code == 400 and b"Cancel these runs" in response.content
    assert Run.objects.filter(pk=run.pk).exists()


def test_the_page_sends_anonymous_visitors_to_login(launch, analyst, client):
    run = launch(analyst, seed=4)
    response = client.get(f"/runs/{run.run_id}/delete/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_page_is_404_for_an_unknown_run(client_for, ml_admin):
    assert client_for(ml_admin).get("/runs/run_19990101_001/delete/").status_code == 404


# ---------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------
def _bulk(client, run_ids):
    return client.post("/api/runs/bulk-delete/", {"runs": run_ids}, content_type="application/json")


def test_the_api_bulk_deletes_own_runs(launch, analyst, client_for):
    runs = [launch(analyst, seed=s) for s in (1, 2)]
    response = _bulk(client_for(analyst), [r.run_id for r in runs])
    assert response.status_code == 200
    assert response.json() == {"deleted": sorted(r.run_id for r in runs), "count": 2}
    assert not Run.objects.filter(pk__in=[r.pk for r in runs]).exists()


def test_the_api_refuses_a_mixed_bulk_delete_listing_the_refused_runs(launch, analyst, other_analyst, client_for):
    mine = launch(analyst, seed=1)
    theirs = launch(other_analyst, seed=2)
    response = _bulk(client_for(analyst), [mine.run_id, theirs.run_id])
    assert response.status_code == 403
    assert response.json()["refused"] == [theirs.run_id]
    assert Run.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2


def test_the_api_refuses_a_viewer(launch, analyst, viewer, client_for):
    run = launch(analyst, seed=1)
    assert _bulk(client_for(viewer), [run.run_id]).status_code == 403
    assert Run.objects.filter(pk=run.pk).exists()


def test_the_api_answers_404_for_unknown_runs_and_deletes_nothing(launch, analyst, client_for):
    run = launch(analyst, seed=1)
    response = _bulk(client_for(analyst), [run.run_id, "run_19990101_001"])
    assert response.status_code == 404 and "run_19990101_001" in response.json()["detail"]
    assert Run.objects.filter(pk=run.pk).exists()


def test_the_api_answers_400_to_an_empty_list_and_401_to_anonymous(client_for, analyst, client):
    assert _bulk(client_for(analyst), []).status_code == 400
    assert _bulk(client, ["run_19990101_001"]).status_code == 401


# ---------------------------------------------------------------------------
# Admin actions
# ---------------------------------------------------------------------------
@pytest.fixture
def admin_actions(monkeypatch):
    # The lead wires these into RunAdmin; the tests wire them the same way.
    monkeypatch.setattr(RunAdmin, "actions", [*RunAdmin.actions, delete_runs_with_artifacts, recompute_checksums])


def _admin_post(client, action, runs, **extra):
    return client.post(
        "/admin/runs/run/", {"action": action, "_selected_action": [str(r.pk) for r in runs], **extra}, follow=True
    )


def test_the_admin_delete_action_deletes_with_artifacts(admin_actions, launch, make_user, client_for, artifact_store, django_capture_on_commit_callbacks):
    staff = make_user("ml_admin", username="mlstaff", is_staff=True)
    runs = [launch(None, seed=s) for s in (1, 2)]
    paths = [_file(artifact_store, r) for r in runs]
    confirm = _admin_post(client_for(staff), "delete_runs_with_artifacts", runs)
    assert b"Delete 2 runs" in confirm.content and Run.objects.filter(pk__in=[r.pk for r in runs]).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = _admin_post(client_for(staff), "delete_runs_with_artifacts", runs, confirm="1")
    assert b"Deleted 2 run(s)" in response.content
    assert not Run.objects.filter(pk__in=[r.pk for r in runs]).exists()
    assert not any(p.exists() for p in paths)


def test_the_admin_delete_action_changes_nothing_if_one_run_is_refused(admin_actions, launch, make_user, client_for, other_analyst):
    staff_analyst = make_user("analyst", username="sa", is_staff=True)
    mine = launch(staff_analyst, seed=1)
    theirs = launch(other_analyst, seed=2)
    response = _admin_post(client_for(staff_analyst), "delete_runs_with_artifacts", [mine, theirs])
    assert f"You may not delete {theirs.run_id}".encode() in response.content
    assert Run.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2


def test_a_staff_viewer_cannot_use_the_admin_actions(admin_actions, launch, make_user, client_for):
    staff_viewer = make_user("viewer", username="sv", is_staff=True)
    run = launch(None, seed=1)
    Run.objects.filter(pk=run.pk).update(checksum="")
    client = client_for(staff_viewer)
    assert f"You may not delete {run.run_id}".encode() in _admin_post(client, "delete_runs_with_artifacts", [run]).content
    assert b"You may not recompute checksums" in _admin_post(client, "recompute_checksums", [run]).content
    run.refresh_from_db()
    assert run.checksum == ""  # still there, unchanged
