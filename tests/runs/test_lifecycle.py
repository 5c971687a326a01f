"""The run lifecycle through the services, with tasks executed eagerly."""
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import timezone

from runs.artifacts import artifact_read
from runs.models import LogLevel, Run, RunStatus, RunTrigger
from runs.services import run_cancel, run_create, run_execute, runs_reap_stale

pytestmark = pytest.mark.django_db


def _launch(user, params, **kwargs):
    return run_create(kind="demo", params=params, owner=user, **kwargs)


def test_it_stores_a_pending_run_with_a_first_log_line(analyst, demo_params):
    run = _launch(analyst, demo_params)
    run.refresh_from_db()
    assert run.status == RunStatus.PENDING
    assert run.run_id.startswith("run_") and len(run.params_hash) == 64
    assert run.seed == 7
    first = run.logs.first()
    assert first.level == LogLevel.INFO and "Created by" in first.message


def test_it_executes_the_run_once_the_transaction_commits(analyst, demo_params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = _launch(analyst, demo_params)
        assert Run.objects.get(pk=run.pk).status == RunStatus.PENDING  # nothing ran before the commit
    assert len([c for c in callbacks if c.__qualname__.startswith("run_create.")]) == 1  # one enqueue
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.progress == 100
    assert run.started_at and run.finished_at and run.duration_seconds is not None
    assert run.metrics["steps"] == 3


def test_its_checksum_is_the_sha256_of_the_stored_result_bytes(analyst, demo_params, django_capture_on_commit_callbacks):
    import hashlib

    with django_capture_on_commit_callbacks(execute=True):
        run = _launch(analyst, demo_params)
    run.refresh_from_db()
    artifact = run.artifacts.get(name="result.json")
    data = artifact_read(artifact)
    assert run.checksum == hashlib.sha256(data).hexdigest() == artifact.sha256


def test_the_same_seed_gives_the_same_checksum(analyst, demo_params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        a = _launch(analyst, demo_params)
        b = _launch(analyst, demo_params)
        c = _launch(analyst, {**demo_params, "seed": 8})
    a.refresh_from_db(), b.refresh_from_db(), c.refresh_from_db()
    assert a.checksum == b.checksum != c.checksum


@override_settings(ARTIFACT_STORE="db")
def test_it_can_keep_artifacts_in_the_database(analyst, demo_params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = _launch(analyst, demo_params)
    artifact = Run.objects.get(pk=run.pk).artifacts.get()
    assert artifact.storage == "db" and artifact.path == "" and len(bytes(artifact.blob)) == artifact.size_bytes


def test_a_failing_run_ends_failed_with_its_traceback(analyst, demo_params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = _launch(analyst, {**demo_params, "fail_at_step": 2})
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "failed at step 2" in run.error_message
    errors = list(run.logs.filter(level=LogLevel.ERROR).values_list("message", flat=True))
    assert any("Traceback" in message for message in errors)


def test_it_refuses_bad_parameters_and_stores_nothing(analyst):
    with pytest.raises(ValidationError) as excinfo:
        _launch(analyst, {"steps": 0, "step_seconds": 1, "fail_at_step": 0, "seed": 1})
    assert "steps" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        _launch(analyst, {"steps": 2, "bogus": 1})
    assert "bogus" in str(excinfo.value)
    assert not Run.objects.exists()


def test_it_fills_left_out_parameters_with_their_defaults(analyst):
    run = _launch(analyst, {"steps": 2})
    assert run.params == {"steps": 2, "step_seconds": 1, "fail_at_step": 0, "seed": 42}


def test_it_refuses_a_launch_without_the_launch_permission(viewer, demo_params):
    with pytest.raises(PermissionDenied):
        _launch(viewer, demo_params)
    assert not Run.objects.exists()


def test_system_triggers_need_no_owner(demo_params):
    run = run_create(kind="demo", params=demo_params, trigger=RunTrigger.CRON, owner=None)
    assert run.owner is None and run.trigger == RunTrigger.CRON


def test_run_ids_follow_each_other_within_a_day(analyst, demo_params):
    first = _launch(analyst, demo_params)
    second = _launch(analyst, demo_params)
    assert int(second.run_id.rsplit("_", 1)[1]) == int(first.run_id.rsplit("_", 1)[1]) + 1


def test_a_new_run_id_skips_one_taken_by_an_imported_run(analyst, demo_params):
    first = _launch(analyst, demo_params)
    prefix, number = first.run_id.rsplit("_", 1)
    taken = f"{prefix}_{int(number) + 1:03d}"
    Run.objects.create(run_id=taken, kind="demo", params_hash="x" * 64, trigger=RunTrigger.IMPORT)
    assert _launch(analyst, demo_params).run_id == f"{prefix}_{int(number) + 2:03d}"


def test_executing_a_run_that_is_not_pending_does_nothing(analyst, demo_params):
    run = _launch(analyst, demo_params)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    assert run_execute(run_pk=run.pk) is None
    assert Run.objects.get(pk=run.pk).logs.count() == 1


def test_a_pending_run_can_be_cancelled_by_its_owner(analyst, demo_params):
    run = _launch(analyst, demo_params)
    run_cancel(run=run, actor=analyst)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert run_execute(run_pk=run.pk) is None  # a late task message does not revive it


def test_a_running_run_stops_at_its_next_heartbeat_when_cancelled(analyst, demo_params):
    run = _launch(analyst, {**demo_params, "steps": 5})
    Run.objects.filter(pk=run.pk).update(cancel_requested=True)
    run_execute(run_pk=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert run.progress < 100


def test_others_may_not_cancel_a_run(analyst, make_user, demo_params):
    run = _launch(analyst, demo_params)
    other = make_user("analyst")
    with pytest.raises(PermissionDenied):
        run_cancel(run=run, actor=other)
    assert Run.objects.get(pk=run.pk).status == RunStatus.PENDING


def test_a_finished_run_cannot_be_cancelled(analyst, demo_params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = _launch(analyst, demo_params)
    run.refresh_from_db()
    with pytest.raises(ValidationError):
        run_cancel(run=run, actor=analyst)


@override_settings(RUN_HEARTBEAT_TIMEOUT=60)
def test_the_reaper_fails_runs_whose_heartbeat_stopped(analyst, demo_params):
    stale = _launch(analyst, demo_params)
    fresh = _launch(analyst, demo_params)
    now = timezone.now()
    Run.objects.filter(pk=stale.pk).update(
        status=RunStatus.RUNNING, started_at=now - timedelta(minutes=5), heartbeat_at=now - timedelta(seconds=61)
    )
    Run.objects.filter(pk=fresh.pk).update(
        status=RunStatus.RUNNING, started_at=now - timedelta(minutes=5), heartbeat_at=now - timedelta(seconds=30)
    )
    reaped = runs_reap_stale()
    assert [r.pk for r in reaped] == [stale.pk]
    stale.refresh_from_db(), fresh.refresh_from_db()
    assert stale.status == RunStatus.FAILED and "No heartbeat" in stale.error_message
    assert stale.logs.filter(level=LogLevel.ERROR, message__startswith="Reaped").exists()
    assert fresh.status == RunStatus.RUNNING
