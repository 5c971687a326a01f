"""Writes of the run core: creating runs and moving them through their lifecycle.

Every surface (pages, API, admin, commands, tasks) goes through these functions,
so the rules (validation, permissions, state transitions) hold everywhere.
"""
from __future__ import annotations

import logging
import traceback
from datetime import timedelta
from typing import Any, Callable, Iterable

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts import roles
from accounts.services import audit_record
from runs.artifacts import artifacts_checksum
from runs.context import MAX_LOG_MESSAGE, RunCancelled, RunContext, RunFenced, db_retry
from runs.hashing import canonicalize, params_hash
from runs.kinds import RunKind, all_kinds, get_kind
from runs.models import LogLevel, Run, RunArtifact, RunDaySequence, RunLog, RunStatus, RunTrigger, Tag

logger = logging.getLogger(__name__)



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
    if enqueue and not run_kind.launchable:
        raise ValidationError({"kind": [f"{run_kind.label} runs are created by their own client, not launched."]})
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
        queued_at=timezone.now() if enqueue else None,
    )
    tag_objs = [Tag.objects.get_or_create(name=name.strip())[0] for name in tags if name.strip()]
    if tag_objs:
        run.tags.set(tag_objs)
    who = getattr(owner, "username", None) or trigger.lower()
    run_log(run=run, message=f"Created by {who} ({trigger}); parameters hash {run.params_hash[:12]}")
    if owner is not None:
        audit_record(actor=owner, action="run.create", target=run.run_id,
                     detail={"kind": kind, "trigger": str(trigger), "parent": parent.run_id if parent else None})
    run.queue_unreachable = False
    if enqueue:
        transaction.on_commit(lambda: _enqueue(run))
    return run


def _enqueue(run: Run) -> None:
    """Send the run's task message. The run row is the outbox: if the broker is
    unreachable the run stays PENDING and the recovery pass sends it again."""
    from runs.tasks import execute_run

    try:
        execute_run.delay(str(run.pk))
    except Exception as exc:  # the broker is down: the run waits, stored, for the broker to return
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        logger.warning("run %s: task queue unreachable; will be queued when it returns (%s)", run.run_id, exc)
        run.queue_unreachable = True
        try:
            run_log(
                run=run, level=LogLevel.WARNING,
                message="Task queue unreachable; the run will be queued when it returns",
            )
        except Exception:  # the log line is a courtesy; the run itself is stored
            logger.exception("could not log the deferred enqueue of %s", run.run_id)
        return
    run.queue_unreachable = False
    try:
        Run.objects.filter(pk=run.pk, status=RunStatus.PENDING).update(enqueue_count=F("enqueue_count") + 1)
    except DatabaseError:  # the message is sent; the count is bookkeeping and must not fail the launch
        logger.warning("run %s queued, but its message count could not be stored", run.run_id, exc_info=True)


# ---------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------
def run_log(*, run: Run, message: str, level: str = LogLevel.INFO) -> RunLog:
    if level not in LogLevel.values:
        raise ValueError(f"unknown log level {level!r}")
    return RunLog.objects.create(run=run, level=level, message=message[:MAX_LOG_MESSAGE])


def run_start(*, run_pk: Any, worker: str = "") -> Run | None:
    """Claim a PENDING run for execution. Returns None if it is not PENDING any more.

    The conditional update makes a redelivered or resent task message harmless:
    only one execution ever moves a run out of PENDING. It increments the run's
    `attempt`: the returned run's `attempt` is the token that fences every
    write of this execution (see runs.context).
    """
    now = timezone.now()
    claimed = Run.objects.filter(pk=run_pk, status=RunStatus.PENDING).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker[:200], progress=0,
        attempt=F("attempt") + 1,
    )
    if not claimed:
        return None
    # Claimed: from here a transient error must not leave a RUNNING run with nobody executing it.
    run = db_retry(lambda: Run.objects.get(pk=run_pk), what="reading a claimed run")
    db_retry(
        lambda: run_log(run=run, message=f"Started on {worker or 'an in-process executor'} (attempt {run.attempt})"),
        what="logging a start",
    )
    return run


def _end(
    run: Run,
    *,
    status: str,
    from_status: str = RunStatus.RUNNING,
    attempt: int | None = None,
    when: dict[str, Any] | None = None,
    logs: Iterable[tuple[str, str]] = (),
    **fields: Any,
) -> bool:
    """Move the run to a final `status`, conditional on it still being `from_status`
    (and, when given, on the attempt's token and the extra conditions `when`),
    writing the `(level, message)` log lines in the same transaction: whoever sees
    the final state sees why.

    A run that ends FAILED or CANCELLED loses its results: whatever artifacts and
    metrics it wrote are partial and must never be served as results.
    """
    now = timezone.now()
    started = run.started_at or now
    conditions: dict[str, Any] = {"pk": run.pk, "status": from_status, **(when or {})}
    if attempt is not None:
        conditions["attempt"] = attempt
    if status in (RunStatus.FAILED, RunStatus.CANCELLED):
        fields.setdefault("metrics", {})
        fields.setdefault("checksum", "")

    lines = list(logs)

    def write() -> bool:
        with transaction.atomic():
            updated = Run.objects.filter(**conditions).update(
                status=status,
                finished_at=now,
                duration_seconds=round((now - started).total_seconds(), 3),
                heartbeat_at=now,
                **fields,
            )
            if not updated:
                return False
            for level, message in lines:
                run_log(run=run, level=level, message=message)
            if status in (RunStatus.FAILED, RunStatus.CANCELLED):
                _discard_results(run)
            return True

    updated = db_retry(write, what=f"ending a run {status}")
    db_retry(run.refresh_from_db, what="reading a run")
    return updated


def _discard_results(run: Run) -> None:
    """Remove the artifacts of a run that did not succeed; shared files stay while used."""
    from runs.services.manage import artifact_files_delete_unused

    artifacts = RunArtifact.objects.filter(run=run)
    paths = set(artifacts.filter(storage=RunArtifact.Storage.FILE).exclude(path="").values_list("path", flat=True))
    removed, _ = artifacts.delete()
    if paths:
        transaction.on_commit(lambda: artifact_files_delete_unused(paths))
    if removed:
        run_log(run=run, level=LogLevel.WARNING, message=f"Partial results removed ({removed} files): never served")


def run_finish(
    *, run: Run, attempt: int | None = None, on_success: Callable[[], None] | None = None
) -> Run:
    """Mark a RUNNING run SUCCEEDED, with the checksum of its stored result bytes.

    With `attempt`, only if that attempt still holds the run; otherwise raises RunFenced.
    `on_success` (feeding a cache) runs in the same transaction as the SUCCEEDED
    update: whoever sees the run SUCCEEDED sees what it fed, and nothing is fed
    by a run that did not end SUCCEEDED.
    """
    artifacts = list(run.artifacts.all())
    checksum = artifacts_checksum(artifacts) if artifacts else ""

    def finish() -> bool:
        with transaction.atomic():
            if not _end(run, status=RunStatus.SUCCEEDED, attempt=attempt, progress=100, checksum=checksum):
                return False
            run_log(run=run, message=f"Succeeded in {run.duration_seconds:.2f} s")
            if on_success is not None:
                on_success()
            return True

    if not db_retry(finish, what="finishing a run"):
        if attempt is not None:
            raise RunFenced(f"run {run.run_id} attempt {attempt} finished after losing its claim ({run.status})")
        run_log(run=run, level=LogLevel.WARNING, message=f"Finished, but the run was already {run.status}; left as is")
    return run


def run_fail(
    *, run: Run, error: str, trace: str = "", from_status: str = RunStatus.RUNNING, attempt: int | None = None
) -> Run:
    logs = [(LogLevel.ERROR, f"Failed: {error}")] + ([(LogLevel.ERROR, trace)] if trace else [])
    _end(run, status=RunStatus.FAILED, from_status=from_status, attempt=attempt, error_message=error[:2000], logs=logs)
    return run


def run_cancel(*, run: Run, actor: Any) -> Run:
    """Cancel a PENDING run at once, or ask a RUNNING one to stop (seen within a second)."""
    if not roles.can_cancel_run(actor, run):
        raise PermissionDenied("You may not cancel this run.")
    if run.status == RunStatus.PENDING:
        _end(
            run, status=RunStatus.CANCELLED, from_status=RunStatus.PENDING,
            logs=[(LogLevel.WARNING, f"Cancelled by {actor.username} before it started")],
        )
    elif run.status == RunStatus.RUNNING:
        Run.objects.filter(pk=run.pk).update(cancel_requested=True)
        run.cancel_requested = True
        run_log(run=run, level=LogLevel.WARNING, message=f"Cancel requested by {actor.username}")
    else:
        raise ValidationError(f"{run.run_id} is already {run.get_status_display().lower()}.")
    audit_record(actor=actor, action="run.cancel", target=run.run_id)
    return run


def run_execute(*, run_pk: Any, worker: str = "") -> Run | None:
    """Execute a run: claim it, call its kind's executor, record how it ended.

    Everything the attempt writes is fenced by its token; an attempt that lost its
    claim (reaped while alive, ended elsewhere) stops and writes nothing more.
    """
    run = run_start(run_pk=run_pk, worker=worker)
    if run is None:
        logger.info("run %s is not pending; nothing to execute", run_pk)
        return None
    token = run.attempt
    kind = get_kind(run.kind)
    with RunContext(run) as context:
        try:
            try:
                kind.execute(run, context)
            except RunCancelled:
                _end(
                    run, status=RunStatus.CANCELLED, attempt=token,
                    logs=[(LogLevel.WARNING, "Stopped: cancelled on request")],
                )
            except SoftTimeLimitExceeded:
                run_fail(run=run, attempt=token, error=f"Time limit of {settings.CELERY_TASK_SOFT_TIME_LIMIT} s exceeded")
            except RunFenced:
                raise
            except Exception as exc:  # an executor failure ends the run, never the worker
                run_fail(run=run, attempt=token, error=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc())
            else:
                run_finish(run=run, attempt=token, on_success=context.run_success_callbacks)
        except RunFenced:
            current = Run.objects.filter(pk=run.pk).values_list("status", "attempt").first()
            logger.warning(
                "run %s attempt %s lost its claim (now %s); stopped, nothing more written", run.run_id, token, current
            )
    return run


def runs_reap_stale(*, now: Any = None) -> list[Run]:
    """Fail RUNNING runs whose heartbeat is older than RUN_HEARTBEAT_TIMEOUT.

    The reason names the silent worker and the last error the run logged, if any;
    the update is conditional on the heartbeat read, so a run that beats in
    between is left alone.
    """
    now = now or timezone.now()
    default_timeout = settings.RUN_HEARTBEAT_TIMEOUT
    # Kinds with a timeout of their own (a tracked run beats only when its client calls).
    own = {kind.name: kind.heartbeat_timeout for kind in all_kinds() if kind.heartbeat_timeout is not None}
    overdue = Q(heartbeat_at__lt=now - timedelta(seconds=default_timeout)) & ~Q(kind__in=list(own))
    for name, seconds in own.items():
        overdue |= Q(kind=name, heartbeat_at__lt=now - timedelta(seconds=seconds))
    stale = Run.objects.filter(overdue, status=RunStatus.RUNNING)
    reaped = []
    for run in stale:
        timeout = own.get(run.kind, default_timeout)
        silent = (now - run.heartbeat_at).total_seconds()
        error = (
            f"No heartbeat for {silent:.0f} s (limit {timeout} s) from attempt {run.attempt} on "
            f"{run.worker or 'an unknown worker'}: the worker stopped (killed, lost, or cut off from the database)"
        )
        last_error = (
            RunLog.objects.filter(run=run, level=LogLevel.ERROR, created_at__gte=run.started_at or run.created_at)
            .order_by("-id").values_list("message", flat=True).first()
        )
        if last_error:
            error += f"; last error it logged: {last_error[:300]}"
        if _end(
            run, status=RunStatus.FAILED, error_message=error, when={"heartbeat_at": run.heartbeat_at},
            logs=[(LogLevel.ERROR, f"Reaped: {error}")],
        ):
            reaped.append(run)
    return reaped


def runs_recover_pending(*, now: Any = None) -> tuple[list[Run], list[Run]]:
    """The outbox pass: send again the task message of PENDING runs that no worker
    took within RUN_PENDING_RESEND_SECONDS (then 2, 4, 8 times that between later
    sends) after the last send (a lost message: broker restarted
    without persistence, a purge, a broker down at launch, a claim that failed);
    fail those PENDING for longer than RUN_PENDING_TIMEOUT, saying why.

    Resending is safe: the claim is conditional, so a run executes once however
    many messages reach the workers. Returns (resent, failed).
    """
    now = now or timezone.now()
    resend_after = timedelta(seconds=settings.RUN_PENDING_RESEND_SECONDS)
    give_up_after = timedelta(seconds=settings.RUN_PENDING_TIMEOUT)
    failed: list[Run] = []
    for run in Run.objects.filter(status=RunStatus.PENDING, created_at__lt=now - give_up_after):
        waited = (now - run.created_at).total_seconds()
        if run.enqueue_count:
            error = (
                f"Never picked up by a worker after {run.enqueue_count} attempts over {waited:.0f} s "
                f"(limit {settings.RUN_PENDING_TIMEOUT} s); is a worker running?"
            )
        else:
            error = (
                f"Never queued: the task queue stayed unreachable for {waited:.0f} s "
                f"(limit {settings.RUN_PENDING_TIMEOUT} s)"
            )
        if _end(
            run, status=RunStatus.FAILED, from_status=RunStatus.PENDING, error_message=error,
            logs=[(LogLevel.ERROR, f"Failed: {error}")],
        ):
            failed.append(run)
    resent: list[Run] = []
    candidates = Run.objects.filter(
        status=RunStatus.PENDING, queued_at__lt=now - resend_after, created_at__gte=now - give_up_after
    )
    for run in candidates:
        # The first resend comes after RUN_PENDING_RESEND_SECONDS; later ones after 2, 4, then
        # 8 times that, so runs merely waiting behind a long queue are not sent over and over.
        factor = min(2 ** max(run.enqueue_count - 1, 0), 8)
        if run.queued_at >= now - resend_after * factor:
            continue
        # Conditional on the value read, so two passes never send the same run twice at once.
        if not Run.objects.filter(pk=run.pk, status=RunStatus.PENDING, queued_at=run.queued_at).update(queued_at=now):
            continue
        _enqueue(run)
        if not run.queue_unreachable:
            run_log(
                run=run, level=LogLevel.WARNING,
                message=f"No worker took the run within {settings.RUN_PENDING_RESEND_SECONDS} s; "
                        f"task message sent again (message {run.enqueue_count + 1})",
            )
            resent.append(run)
    return resent, failed
