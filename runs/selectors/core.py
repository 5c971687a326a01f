"""Reads of the run core. Visibility always comes from Run.objects.visible_to(user)."""
from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.shortcuts import get_object_or_404

from runs.models import Run, RunFavourite, RunLog, RunStatus


def with_my_favourite(queryset: QuerySet[Run], user: Any) -> QuerySet[Run]:
    """Annotate `is_my_favourite`: whether this user starred the run (favourites are per user).

    `pk IN (the user's starred ids)` rather than a correlated EXISTS: PostgreSQL reads
    the user's few stars once into a hash, so sorting a whole list by this column
    (the ★ header) costs a hash probe per run, not a subquery per run."""
    mine = RunFavourite.objects.filter(user_id=getattr(user, "pk", None)).values("run_id")
    return queryset.annotate(is_my_favourite=ExpressionWrapper(Q(pk__in=mine), output_field=BooleanField()))


def run_is_my_favourite(run: Run, user: Any) -> bool:
    """Whether `user` starred `run`: the annotation when the run came from run_list or
    run_get, one query otherwise (a run just created or changed)."""
    annotated = getattr(run, "is_my_favourite", None)
    if annotated is not None:
        return bool(annotated)
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return RunFavourite.objects.filter(run=run, user=user).exists()


def run_favourite_others(*, run: Run, user: Any) -> dict[str, Any]:
    """Who else keeps this run from cleanup with a star: `favourite_others` (how many
    other users starred it) and `favourite_shared` (a star from before favourites were
    per user, which no one holds but cleanup still honours)."""
    others = RunFavourite.objects.filter(run=run).exclude(user_id=getattr(user, "pk", None)).count()
    shared = bool(run.is_favourite and not others and not run_is_my_favourite(run, user))
    return {"favourite_others": others, "favourite_shared": shared}


def run_list(*, user: Any) -> QuerySet[Run]:
    return with_my_favourite(
        Run.objects.visible_to(user)
        .select_related("owner", "parent")
        .prefetch_related("tags")
        .defer("params", "metrics", "notes"),
        user,
    )


def run_get(*, user: Any, run_id: str) -> Run:
    """The run with this human id or UUID, if the user may see it (404 otherwise)."""
    queryset = with_my_favourite(
        Run.objects.visible_to(user).select_related("owner", "parent").prefetch_related("tags"), user
    )
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
