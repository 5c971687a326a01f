"""Writes of the tracking API: experiments, tracked runs, and what their clients log.

A tracked run goes through the run lifecycle like any run: `run_create` stores it
(never queued: its kind is not launchable), `run_start` claims it for its client
(RUNNING, attempt 1), each call from the client is its heartbeat, and it ends through
`run_finish`, `run_fail` or a cancel, which, as for every kind, discards the metrics
of a run that did not succeed. Every write holds the run's row lock and is refused
once the run has ended.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import roles
from accounts.services import audit_record
from runs.hashing import params_hash
from runs.models import LogLevel, Run, RunStatus, RunTrigger, Tag
from runs.services.lifecycle import _end, run_create, run_fail, run_finish, run_log, run_start
from tracking import experiments
from tracking.errors import denied, invalid, not_found
from tracking.kind import TRACKED
from tracking.models import MetricPoint, TrackedRun

# MLflow's own limits (mlflow/utils/validation.py), so a client gets the answer MLflow would give.
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_TOTAL = 1000
# Keys as MLflow accepts them: letters, digits, _ - . space / (and : in tags it writes itself).
KEY_RE = re.compile(r"^[\w\-. /:]{1,250}$")
TAG_NAME_MAX = Tag._meta.get_field("name").max_length


@dataclass(frozen=True)
class MetricValue:
    key: str
    value: float
    timestamp: int
    step: int


# ---------------------------------------------------------------------------
# Experiments
# ---------------------------------------------------------------------------
def experiment_create(*, actor: Any, name: Any, tags: dict[str, str] | None = None) -> experiments.Experiment:
    """A new MLflow experiment: a projects.Experiment, `<project>/<experiment>`. Refused if taken."""
    if not roles.can_track_runs(actor):
        raise denied("You may not create experiments.")
    return experiments.experiment_create(actor=actor, name=name, tags=tags)


# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------
def tracked_run_create(
    *, actor: Any, experiment_id: str, run_name: str = "", tags: dict[str, str] | None = None
) -> Run:
    """Create a tracked run for the caller's client, RUNNING from the start, in an experiment."""
    if not roles.can_track_runs(actor):
        raise denied("You may not create runs.")
    experiment = experiments.experiment_get(user=actor, experiment_id=experiment_id or experiments.DEFAULT_ID)
    if not experiment.active:
        raise invalid(f"Experiment '{experiment.name}' is archived: it takes no new runs.")
    tags = dict(tags or {})
    _check_tags(tags)
    run_name = (run_name or tags.get("mlflow.runName") or "")[:MAX_KEY]
    with transaction.atomic():
        try:
            run = run_create(
                kind=TRACKED,
                params={},
                trigger=RunTrigger.API,
                owner=actor,
                enqueue=False,
            )
        except PermissionDenied as exc:
            raise denied(str(exc)) from None
        except ValidationError as exc:
            raise invalid("; ".join(exc.messages)) from None
        started = run_start(run_pk=run.pk, worker=f"MLflow client of {actor.username}")
        assert started is not None  # created PENDING in this transaction: nobody else can claim it
        tags.pop("mlflow.runName", None)
        TrackedRun.objects.create(run=started, run_name=run_name, tags=tags)
        _relabel(started, {}, tags)
        experiments.run_file(actor=actor, run=started, experiment=experiment)
    return started


def _label(key: str, value: str) -> str | None:
    """The Runsight tag that stands for an MLflow tag, `key:value`, so that the query language's
    `tags.key = "value"` finds it (and the run list's tag filter shows it). MLflow's own system
    tags (mlflow.*) and pairs longer than a tag name stay MLflow tags only."""
    label = f"{key}:{value}"
    if key.startswith("mlflow.") or len(label) > TAG_NAME_MAX or not value.strip() or label != label.strip():
        return None
    return label


def _relabel(run: Run, before: dict[str, str], after: dict[str, str]) -> None:
    """Keep the run's `key:value` tags in step with its MLflow tags."""
    old = {label for k, v in before.items() if (label := _label(k, v))}
    new = {label for k, v in after.items() if (label := _label(k, v))}
    if old - new:
        run.tags.remove(*Tag.objects.filter(name__in=old - new))
    if new - old:
        run.tags.add(*(Tag.objects.get_or_create(name=name)[0] for name in sorted(new - old)))


class _CancelRequested(Exception):
    def __init__(self, run: Run) -> None:
        self.run = run


def _ends_cancelled(write: Callable[..., Any]) -> Callable[..., Any]:
    """A run cancelled in Runsight learns it at its client's next call: that call is refused and,
    once its transaction has rolled back, the run ends CANCELLED."""
    @functools.wraps(write)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return write(*args, **kwargs)
        except _CancelRequested as cancelled:
            run = cancelled.run
            _end(run, status=RunStatus.CANCELLED, attempt=run.attempt,
                 logs=[(LogLevel.WARNING, "Cancelled: its MLflow client was told at its next call")])
            raise invalid(f"The run '{run.pk.hex}' was cancelled in Runsight; it takes nothing more.") from None

    return wrapper


def _locked(run: Run, actor: Any) -> Run:
    """The run, locked for this write, if the caller may log into it and it is still running."""
    if run.kind != TRACKED:
        raise invalid(
            f"Run '{run.pk.hex}' is a {run.kind} run computed by Runsight: only tracked runs take logged values."
        )
    if not roles.can_log_to_run(actor, run):
        raise denied(f"You may not log into run '{run.pk.hex}'.")
    locked = Run.objects.select_for_update().get(pk=run.pk)
    if locked.status == RunStatus.RUNNING and locked.cancel_requested:
        raise _CancelRequested(locked)
    if locked.status != RunStatus.RUNNING:
        raise invalid(
            f"The run '{run.pk.hex}' must be running to be logged into; it is {locked.get_status_display().lower()}."
        )
    return locked


def _check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not KEY_RE.fullmatch(key) or ".." in key.split("/") or key.startswith("/"):
        raise invalid(
            f"Invalid {what} name: {key!r}. Names may only contain alphanumerics, underscores (_), dashes (-), "
            f"periods (.), spaces ( ), colons (:) and slashes (/), and be at most {MAX_KEY} characters."
        )
    return key


def _check_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        _check_key(key, "tag")
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise invalid(f"Tag '{key}' must have a string value of at most {MAX_TAG_VALUE} characters.")


@_ends_cancelled
@transaction.atomic
def run_log_batch(
    *,
    actor: Any,
    run: Run,
    metrics: list[MetricValue] = (),  # type: ignore[assignment]
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
) -> Run:
    """Log metrics (every value kept, the latest on the run), parameters (once each) and tags.

    All or nothing: a refused parameter or name writes none of the batch.
    """
    params, tags, metrics = dict(params or {}), dict(tags or {}), list(metrics)
    if len(metrics) > MAX_BATCH_METRICS or len(params) > MAX_BATCH_PARAMS or len(tags) > MAX_BATCH_TAGS \
            or len(metrics) + len(params) + len(tags) > MAX_BATCH_TOTAL:
        raise invalid(
            f"A batch holds at most {MAX_BATCH_METRICS} metrics, {MAX_BATCH_PARAMS} params and {MAX_BATCH_TAGS} tags "
            f"({MAX_BATCH_TOTAL} in all)."
        )
    for metric in metrics:
        _check_key(metric.key, "metric")
    for key, value in params.items():
        _check_key(key, "parameter")
        if not isinstance(value, str) or len(value) > MAX_PARAM_VALUE:
            raise invalid(f"Param '{key}' must have a string value of at most {MAX_PARAM_VALUE} characters.")
    _check_tags(tags)
    run = _locked(run, actor)
    tracked, _ = TrackedRun.objects.get_or_create(run=run)

    changed_params = False
    for key, value in params.items():
        if key in run.params and run.params[key] != value:
            raise invalid(
                f"Changing param values is not allowed. Param with key='{key}' was already logged with "
                f"value='{run.params[key]}' for run ID='{run.pk.hex}'. Attempted logging new value '{value}'."
            )
        if key not in run.params:
            run.params[key] = value
            changed_params = True

    if metrics:
        MetricPoint.objects.bulk_create(
            [MetricPoint(run=run, key=m.key, value=m.value, timestamp=m.timestamp, step=m.step) for m in metrics],
            batch_size=1000,
        )
        for m in metrics:
            held = tracked.latest.get(m.key)
            # MLflow's latest value: the highest step, then the latest time, then the largest value.
            current = run.metrics.get(m.key)
            current_value = -math.inf if current is None else float(current)
            if held is None or (m.step, m.timestamp, m.value) >= (held[1], held[0], current_value):
                run.metrics[m.key] = m.value if math.isfinite(m.value) else None
                tracked.latest[m.key] = [m.timestamp, m.step]

    if "mlflow.runName" in tags:
        tracked.run_name = tags.pop("mlflow.runName")[:MAX_KEY]
    if tags:
        before = dict(tracked.tags)
        tracked.tags.update(tags)
        _relabel(run, before, tracked.tags)

    fields = ["heartbeat_at"]
    run.heartbeat_at = timezone.now()
    if changed_params:
        run.params_hash = params_hash(run.params)
        fields += ["params", "params_hash"]
    if metrics:
        fields.append("metrics")
    Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(**{f: getattr(run, f) for f in fields})
    tracked.save()
    return run


@_ends_cancelled
@transaction.atomic
def run_delete_tag(*, actor: Any, run: Run, key: str) -> None:
    run = _locked(run, actor)
    tracked, _ = TrackedRun.objects.get_or_create(run=run)
    if key not in tracked.tags:
        raise not_found(f"No tag with name: {key} in run with id {run.pk.hex}")
    before = dict(tracked.tags)
    del tracked.tags[key]
    tracked.save(update_fields=["tags"])
    _relabel(run, before, tracked.tags)


@_ends_cancelled
def run_update(*, actor: Any, run: Run, status: str | None, run_name: str | None) -> Run:
    """Rename the run and/or end it: FINISHED succeeds it, FAILED fails it, KILLED cancels it.

    The end time is the server's: a run's times are the times Runsight saw.
    """
    if status not in (None, "", "RUNNING", "FINISHED", "FAILED", "KILLED", "SCHEDULED"):
        raise invalid(f"Invalid run status {status!r}: one of RUNNING, FINISHED, FAILED, KILLED.")
    with transaction.atomic():
        locked = _locked(run, actor)
        if run_name is not None:
            TrackedRun.objects.update_or_create(run=locked, defaults={"run_name": run_name[:MAX_KEY]})
        Run.objects.filter(pk=locked.pk).update(heartbeat_at=timezone.now())
    if status == "FINISHED":
        run_log(run=locked, message=f"Ended FINISHED by its MLflow client ({actor.username})")
        run_finish(run=locked, attempt=locked.attempt)
    elif status == "FAILED":
        run_fail(run=locked, error=f"Reported FAILED by its MLflow client ({actor.username})", attempt=locked.attempt)
    elif status == "KILLED":
        _end(locked, status=RunStatus.CANCELLED, attempt=locked.attempt,
             logs=[(LogLevel.WARNING, f"Ended KILLED by its MLflow client ({actor.username})")])
    locked.refresh_from_db()
    return locked
