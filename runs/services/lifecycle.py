"""Writes of the run core: creating runs and moving them through their lifecycle.

Every surface (pages, API, admin, commands, tasks) goes through these functions,
so the rules (validation, permissions, state transitions) hold everywhere.
"""
from __future__ import annotations

import logging
import traceback
from datetime import timedelta
from typing import Any, Iterable

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts import roles
from accounts.services import audit_record
from runs.artifacts import artifacts_checksum
from runs.context import RunCancelled, RunContext
from runs.hashing import canonicalize, params_hash
from runs.kinds import RunKind, get_kind
from runs.models import LogLevel, Run, RunDaySequence, RunLog, RunStatus, RunTrigger, Tag

logger = logging.getLogger(__name__)

MAX_LOG_MESSAGE = 10_000


# ---------------------------------------------------------------------------
# Creation
# ---------------------------------------------------------------------------
def run_validate_params(*, kind: RunKind, params: dict[str, Any]) -> dict[str, Any]:
    """Validate raw parameters with the kind's form; return the cleaned, canonical dict.

    Raises ValidationError whose message_dict maps each bad field to its errors.
    """
    if not isinstance(params, dict):
        raise ValidationError({"params": ["must be an object of parameter names to values"]})
    form_fields = kind.params_form.base_fields
    unknown = sorted(set(params) - set(form_fields))
    if unknown:
        raise ValidationError({"params": [f"unknown parameter(s) for {kind.name}: {', '.join(unknown)}"]})
    # Fields left out take their declared initial value, as a blank page form would.
    data = {name: (params[name] if name in params else field.initial) for name, field in form_fields.items()}
    form = kind.params_form(data=data)
    if not form.is_valid():
        raise ValidationError({name: [e["message"] for e in errs] for name, errs in form.errors.get_json_data().items()})
    return canonicalize(form.cleaned_data)


def _next_run_id() -> str:
    day = timezone.localdate()
    RunDaySequence.objects.get_or_create(day=day)
    while True:
        # The update takes a row lock (PostgreSQL) so concurrent launches get distinct numbers.
        RunDaySequence.objects.filter(day=day).update(last=F("last") + 1)
        number = RunDaySequence.objects.get(day=day).last
        candidate = f"run_{day:%Y%m%d}_{number:03d}"
        # An imported run may already hold this id; take the next one.
        if not Run.objects.filter(run_id=candidate).exists():
            return candidate


@transaction.atomic
def run_create(
    *,
    kind: str,
    params: dict[str, Any],
    trigger: str = RunTrigger.MANUAL,
    owner: Any = None,
    parent: Run | None = None,
    tags: Iterable[str] = (),
    notes: str = "",
    enqueue: bool = True,
) -> Run:
    """Validate and store a PENDING run, then enqueue it once the transaction commits.

    `owner` is the person launching (None for system triggers such as CRON); when
    given, they must hold the kind's launch permission.
    """
    run_kind = get_kind(kind)
    if owner is not None and not (
        owner.has_perm(run_kind.view_permission) and roles.can_launch_run(owner, run_kind.launch_permission)
    ):
        raise PermissionDenied(f"You may not launch {run_kind.label} runs.")
    if trigger not in RunTrigger.values:
        raise ValidationError({"trigger": [f"unknown trigger {trigger!r}"]})
    cleaned = run_validate_params(kind=run_kind, params=params)
    seed = cleaned.get(run_kind.seed_param) if run_kind.seed_param else None
    run = Run.objects.create(
        run_id=_next_run_id(),
        kind=run_kind.name,
        trigger=trigger,
        owner=owner,
        params=cleaned,
        params_hash=params_hash(cleaned),
        seed=seed if isinstance(seed, int) else None,
        parent=parent,
        notes=notes,
        code_version=settings.CODE_VERSION,
    )
    tag_objs = [Tag.objects.get_or_create(name=name.strip())[0] for name in tags if name.strip()]
    if tag_objs:
        run.tags.set(tag_objs)
    who = getattr(owner, "username", None) or trigger.lower()
    run_log(run=run, message=f"Created by {who} ({trigger}); parameters hash {run.params_hash[:12]}")
    if owner is not None:
        audit_record(actor=owner, action="run.create", target=run.run_id, detail={"kind": kind})
    if enqueue:
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_pk: Any) -> None:
    from runs.tasks import execute_run

    try:
        execute_run.delay(str(run_pk))
    except Exception as exc:  # the broker is down: say so on the run instead of leaving it PENDING
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        logger.exception("could not enqueue run %s", run_pk)
        run = Run.objects.get(pk=run_pk)
        run_fail(run=run, error=f"Could not reach the task queue: {exc}", from_status=RunStatus.PENDING)


# ---------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------
def run_log(*, run: Run, message: str, level: str = LogLevel.INFO) -> RunLog:
    if level not in LogLevel.values:
        raise ValueError(f"unknown log level {level!r}")
    return RunLog.objects.create(run=run, level=level, message=message[:MAX_LOG_MESSAGE])


def run_start(*, run_pk: Any, worker: str = "") -> Run | None:
    """Claim a PENDING run for execution. Returns None if it is not PENDING any more.

    The conditional update makes a redelivered task message harmless: only one
    execution ever moves a run out of PENDING.
    """
    now = timezone.now()
    claimed = Run.objects.filter(pk=run_pk, status=RunStatus.PENDING).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker[:200], progress=0
    )
    if not claimed:
        return None
    run = Run.objects.get(pk=run_pk)
    run_log(run=run, message=f"Started on {worker or 'an in-process executor'}")
    return run


def _end(run: Run, *, status: str, from_status: str = RunStatus.RUNNING, **fields: Any) -> bool:
    now = timezone.now()
    started = run.started_at or now
    updated = Run.objects.filter(pk=run.pk, status=from_status).update(
        status=status,
        finished_at=now,
        duration_seconds=round((now - started).total_seconds(), 3),
        heartbeat_at=now,
        **fields,
    )
    run.refresh_from_db()
    return bool(updated)


def run_finish(*, run: Run) -> Run:
    """Mark a RUNNING run SUCCEEDED, with the checksum of its stored result bytes."""
    artifacts = list(run.artifacts.all())
    checksum = artifacts_checksum(artifacts) if artifacts else ""
    if _end(run, status=RunStatus.SUCCEEDED, progress=100, checksum=checksum):
        run_log(run=run, message=f"Succeeded in {run.duration_seconds:.2f} s")
    else:
        run_log(run=run, level=LogLevel.WARNING, message=f"Finished, but the run was already {run.status}; left as is")
    return run


def run_fail(*, run: Run, error: str, trace: str = "", from_status: str = RunStatus.RUNNING) -> Run:
    if _end(run, status=RunStatus.FAILED, from_status=from_status, error_message=error[:2000]):
        run_log(run=run, level=LogLevel.ERROR, message=f"Failed: {error}")
        if trace:
            run_log(run=run, level=LogLevel.ERROR, message=trace)
    return run


def run_cancel(*, run: Run, actor: Any) -> Run:
    """Cancel a PENDING run at once, or ask a RUNNING one to stop at its next heartbeat."""
    if not roles.can_cancel_run(actor, run):
        raise PermissionDenied("You may not cancel this run.")
    if run.status == RunStatus.PENDING:
        if _end(run, status=RunStatus.CANCELLED, from_status=RunStatus.PENDING):
            run_log(run=run, level=LogLevel.WARNING, message=f"Cancelled by {actor.username} before it started")
    elif run.status == RunStatus.RUNNING:
        Run.objects.filter(pk=run.pk).update(cancel_requested=True)
        run.cancel_requested = True
        run_log(run=run, level=LogLevel.WARNING, message=f"Cancel requested by {actor.username}")
    else:
        raise ValidationError(f"{run.run_id} is already {run.get_status_display().lower()}.")
    audit_record(actor=actor, action="run.cancel", target=run.run_id)
    return run


def run_execute(*, run_pk: Any, worker: str = "") -> Run | None:
    """Execute a run: claim it, call its kind's executor, record how it ended."""
    run = run_start(run_pk=run_pk, worker=worker)
    if run is None:
        logger.info("run %s is not pending; nothing to execute", run_pk)
        return None
    kind = get_kind(run.kind)
    context = RunContext(run)
    try:
        kind.execute(run, context)
    except RunCancelled:
        if _end(run, status=RunStatus.CANCELLED):
            run_log(run=run, level=LogLevel.WARNING, message="Stopped: cancelled on request")
    except SoftTimeLimitExceeded:
        run_fail(run=run, error=f"Time limit of {settings.CELERY_TASK_SOFT_TIME_LIMIT} s exceeded")
    except Exception as exc:  # an executor failure ends the run, never the worker
        run_fail(run=run, error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc())
    else:
        run_finish(run=run)
    return run


def runs_reap_stale(*, now: Any = None) -> list[Run]:
    """Fail RUNNING runs whose heartbeat is older than RUN_HEARTBEAT_TIMEOUT."""
    now = now or timezone.now()
    timeout = settings.RUN_HEARTBEAT_TIMEOUT
    stale = Run.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=now - timedelta(seconds=timeout))
    reaped = []
    for run in stale:
        silent = (now - run.heartbeat_at).total_seconds()
        error = (
            f"No heartbeat for {silent:.0f} s (limit {timeout} s): "
            f"the worker {run.worker or ''} is presumed dead".replace("  ", " ")
        )
        if _end(run, status=RunStatus.FAILED, error_message=error):
            run_log(run=run, level=LogLevel.ERROR, message=f"Reaped: {error}")
            reaped.append(run)
    return reaped
