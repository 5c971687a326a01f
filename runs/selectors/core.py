"""Reads of the run core. Visibility always comes from Run.objects.visible_to(user)."""
from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from runs.models import Run, RunLog, RunStatus


def run_list(*, user: Any) -> QuerySet[Run]:
    return (
        Run.objects.visible_to(user)
        .select_related("owner", "parent")
        .prefetch_related("tags")
        .defer("params", "metrics", "notes")
    )


def run_get(*, user: Any, run_id: str) -> Run:
    """The run with this human id or UUID, if the user may see it (404 otherwise)."""
    queryset = Run.objects.visible_to(user).select_related("owner", "parent").prefetch_related("tags")
    lookup = {"run_id": run_id}
    if len(run_id) == 36 and run_id.count("-") == 4:
        lookup = {"pk": run_id}
    return get_object_or_404(queryset, **lookup)


def run_logs(*, run: Run, after: int | None = None, level: str | None = None) -> QuerySet[RunLog]:
    logs = RunLog.objects.filter(run=run)
    if after is not None:
        logs = logs.filter(id__gt=after)
    if level:
        logs = logs.filter(level=level)
    return logs.order_by("id")


def run_status_counts(*, user: Any) -> dict[str, int]:
    counts = dict(
        Run.objects.visible_to(user).order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in RunStatus.values}


def run_latest(*, user: Any, limit: int = 10) -> list[Run]:
    return list(run_list(user=user)[:limit])
