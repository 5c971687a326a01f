"""Reads of the tracking API: runs and experiments as MLflow shows them."""
from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from runs.models import Run
from tracking import experiments
from runs.models import RunStatus
from runs.query import QueryError, compile_filter, compile_order

SEARCH_MAX_RESULTS = 50_000
SEARCH_DEFAULT_RESULTS = 1_000

# MLflow's run statuses for Runsight's (the query language reads MLflow's in filters).
STATUS_TO_MLFLOW = {
    RunStatus.PENDING: "SCHEDULED",
    RunStatus.RUNNING: "RUNNING",
    RunStatus.SUCCEEDED: "FINISHED",
    RunStatus.FAILED: "FAILED",
    RunStatus.CANCELLED: "KILLED",
}


class SearchRefused(ValueError):
    """A filter, order_by, page token or page size the search cannot take; the message says why."""


class RunNotFound(LookupError):
    pass


def run_pk_from_mlflow_id(value: Any) -> uuid.UUID | None:
    """MLflow run ids are the run's UUID as 32 hex digits; the dashed form is taken too."""
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def mlflow_run_id(run: Run) -> str:
    return run.pk.hex


def run_get(*, user: Any, run_id: str) -> Run:
    """A run the caller may see, by MLflow run id or Runsight run id (run_20261121_001)."""
    runs = Run.objects.visible_to(user).select_related("tracked", "owner", "placement").prefetch_related("tags")
    pk = run_pk_from_mlflow_id(run_id)
    run = runs.filter(pk=pk).first() if pk is not None else runs.filter(run_id=run_id).first()
    if run is None:
        raise RunNotFound(f"Run '{run_id}' not found.")
    return run


def _millis(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def _param_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def run_as_mlflow(run: Run) -> dict[str, Any]:
    """The run as MLflow's Run message: info, data (metrics, params, tags), inputs."""
    try:
        tracked = run.tracked
    except Run.tracked.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        tracked = None
    tag_names = [tag.name for tag in run.tags.all()]
    run_name = (tracked.run_name if tracked else "") or run.run_id
    updated = _millis(run.finished_at or run.heartbeat_at or run.started_at or run.created_at) or 0
    metrics = []
    latest = tracked.latest if tracked else {}
    for key, value in sorted(run.metrics.items()):
        if isinstance(value, bool) or not isinstance(value, (int, float)) and value is not None:
            continue  # MLflow metrics are numbers; flags and tables stay on Runsight's pages
        number = _json_number(float("nan") if value is None else float(value))
        timestamp, step = latest.get(key, (updated, 0))
        metrics.append({"key": key, "value": number, "timestamp": timestamp, "step": step})
    tags = dict(tracked.tags) if tracked else {}
    tags.update({
        "mlflow.runName": run_name,
        "runsight.run_id": run.run_id,
        "runsight.kind": run.kind,
        "runsight.origin": run.origin,
    })
    if run.owner_id:
        tags.setdefault("mlflow.user", run.owner.username)
    labels = sorted(tag_names)
    if labels:
        tags["runsight.tags"] = ",".join(labels)
    info = {
        "run_id": mlflow_run_id(run),
        "run_uuid": mlflow_run_id(run),
        "run_name": run_name,
        "experiment_id": experiments.experiment_of(run),
        "user_id": run.owner.username if run.owner_id else "",
        "status": STATUS_TO_MLFLOW[run.status],
        "start_time": _millis(run.started_at or run.created_at),
        "artifact_uri": "",
        "lifecycle_stage": "active",
    }
    if run.finished_at:
        info["end_time"] = _millis(run.finished_at)
    return {
        "info": info,
        "data": {
            "metrics": metrics,
            "params": [{"key": k, "value": _param_text(v)} for k, v in sorted(run.params.items())],
            "tags": [{"key": k, "value": str(v)} for k, v in sorted(tags.items())],
        },
        "inputs": {},
    }


def _offset(page_token: str | None) -> int:
    if not page_token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(page_token.encode()))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise SearchRefused("Invalid page_token: it is not one this server gave.") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise SearchRefused("Invalid page_token: it is not one this server gave.")
    return offset


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def runs_search_queryset(
    *, user: Any, experiment_ids: list[str], filter_string: str | None, order_by: list[str] | None
) -> QuerySet:
    """The runs a search keeps, in its order: the filter and the sort go through Runsight's query
    language (runs.query, a superset of MLflow's filter strings), so the run list's `filter=` and
    `ordering=` give the same runs in the same order."""
    try:
        compiled_filter = compile_filter(filter_string, user=user)
        compiled_order = compile_order(list(order_by or []))
    except QueryError as exc:
        raise SearchRefused(f"Invalid filter or order_by: {exc.describe()}") from None
    runs = Run.objects.visible_to(user).filter(experiments.experiment_runs_q(experiment_ids))
    return compiled_order.apply(compiled_filter.apply(runs))


def runs_search(
    *,
    user: Any,
    experiment_ids: list[str],
    filter_string: str | None = None,
    order_by: list[str] | None = None,
    max_results: int = SEARCH_DEFAULT_RESULTS,
    page_token: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of MLflow runs and the token of the next page (None on the last)."""
    if not 1 <= max_results <= SEARCH_MAX_RESULTS:
        raise SearchRefused(f"max_results must be between 1 and {SEARCH_MAX_RESULTS}, not {max_results}.")
    offset = _offset(page_token)
    queryset = runs_search_queryset(
        user=user, experiment_ids=experiment_ids, filter_string=filter_string, order_by=order_by
    )
    # One row more than asked says whether a next page exists, without counting.
    page = list(
        queryset.select_related("tracked", "owner", "placement").prefetch_related("tags")[offset: offset + max_results + 1]
    )
    more = len(page) > max_results
    page = page[:max_results]
    rows = [run_as_mlflow(run) for run in page]
    return rows, _token(offset + max_results) if more else None


def metric_history(*, run: Run, key: str) -> list[dict[str, Any]]:
    from tracking.models import MetricPoint

    points = MetricPoint.objects.filter(run=run, key=key).order_by("step", "timestamp", "id")
    history = [
        {"key": key, "value": p.value, "timestamp": p.timestamp, "step": p.step} for p in points
    ]
    if not history and key in run.metrics and isinstance(run.metrics[key], (int, float)) \
            and not isinstance(run.metrics[key], bool):
        # A run computed here has one value per metric: its result.
        value = float(run.metrics[key])
        history = [{"key": key, "value": value, "timestamp": _millis(run.finished_at or run.created_at), "step": 0}]
    return [dict(p, value=_json_number(p["value"])) for p in history]


def _json_number(value: float) -> Any:
    # MLflow's JSON spells non-finite values as strings ("NaN", "Infinity").
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value
