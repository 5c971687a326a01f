"""Reprocess: preview of what is replaced, a new run with trigger REPROCESS and a parent link; the command."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from accounts.roles import Role
from finops_admin.models import CostReading
from finops_admin.services.reprocess import batch_reprocess
from runs.models import Run, RunStatus
from runs.services import run_create


@pytest.fixture
def launch(finops_admin_user, django_capture_on_commit_callbacks):
    def _launch(**params) -> Run:
        with django_capture_on_commit_callbacks(execute=True):
            run = run_create(kind="finops_batch", params=params, owner=finops_admin_user)
        run.refresh_from_db()
        return run

    return _launch


def test_preview_counts_rows_per_period_and_domain(sources, launch, finops_admin_user):
    run = launch(periods="2026-10,2026-11", domains="open,native")
    plan = batch_reprocess(run=run, actor=finops_admin_user, preview=True)
    assert plan.run is None and plan.periods == ["2026-10", "2026-11"] and plan.domains == ["open", "native"]
    for line in plan.replaced:
        assert line.rows == CostReading.objects.filter(period=f"{line.period}-01", domain__code=line.domain).count() > 0
    assert Run.objects.count() == 1


def test_reprocess_replaces_exactly_the_previewed_rows(sources, launch, finops_admin_user,
                                                        django_capture_on_commit_callbacks):
    run = launch(periods="2026-10,2026-11", domains="open,public")
    # A later batch over one of those months only: the preview reads what is held now.
    launch(periods="2026-11", domains="public")
    plan = batch_reprocess(run=run, actor=finops_admin_user, preview=True)
    before = CostReading.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        launched = batch_reprocess(run=run, actor=finops_admin_user)
    new = Run.objects.get(pk=launched.run.pk)
    assert new.status == RunStatus.SUCCEEDED and new.trigger == "REPROCESS" and new.parent_id == run.pk
    blocks = {b.domain.code: b for b in new.finops_batch.blocks.select_related("domain")}
    for line in plan.replaced:
        assert blocks[line.domain].per_period[line.period]["deleted"] == line.rows
    assert new.finops_batch.rows_deleted == plan.total
    assert CostReading.objects.count() == before  # same sources: same rows, no duplicates
    assert AuditEvent.objects.filter(action="finops.reprocess", target=new.run_id).exists()
    assert any(f"Reprocess of {run.run_id}; replaces {plan.total}" in m
               for m in new.logs.values_list("message", flat=True))


def test_refused_reprocesses(sources, launch, make_user, finops_admin_user, demo_params, admin_user):
    run = launch(periods="2026-11", domains="open")
    for role in (Role.FINOPS_USER, Role.ANALYST, Role.VIEWER):
        with pytest.raises(PermissionDenied):
            batch_reprocess(run=run, actor=make_user(role), preview=True)
    pending = run_create(kind="finops_batch", params={"periods": "2026-11"}, owner=finops_admin_user, enqueue=False)
    with pytest.raises(ValidationError, match="still pending"):
        batch_reprocess(run=pending, actor=finops_admin_user)
    demo = run_create(kind="demo", params=demo_params, owner=admin_user, enqueue=False)
    with pytest.raises(ValidationError, match="not a FinOps batch run"):
        batch_reprocess(run=demo, actor=admin_user, preview=True)
    assert Run.objects.filter(trigger="REPROCESS").count() == 0


def test_command_preview_and_in_process(sources, launch, capsys):
    run = launch(periods="2026-11", domains="open")
    held = CostReading.objects.count()
    call_command("finops_reprocess", run.run_id, "--preview")
    out = capsys.readouterr().out
    assert f"Would replace {held} reading(s) of {run.run_id}" in out and "2026-11  open" in out
    assert Run.objects.count() == 1
    call_command("finops_reprocess", run.run_id, "--in-process")
    out = capsys.readouterr().out
    new = Run.objects.get(parent=run)
    assert new.status == RunStatus.SUCCEEDED and f"{new.run_id} succeeded (reprocess of {run.run_id})" in out
    with pytest.raises(CommandError, match="No such run"):
        call_command("finops_reprocess", "run_19990101_001")


def test_scheduled_task_launches_a_cron_batch(sources, django_capture_on_commit_callbacks):
    from django_celery_beat.models import PeriodicTask

    from finops_admin.tasks import scheduled_batch

    task = PeriodicTask.objects.get(name="FinOps monthly batch")
    assert task.task == "finops_admin.scheduled_batch" and task.enabled
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_month) == ("0", "3", "1")
    with django_capture_on_commit_callbacks(execute=True):
        run_id = scheduled_batch()
    run = Run.objects.get(run_id=run_id)
    assert run.trigger == "CRON" and run.owner is None and run.kind == "finops_batch"
    assert len(run.params["periods"]) == 2 and run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)
