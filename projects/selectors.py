"""Reads of projects: lists, a project's parts, its lock as others see it, its timeline."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts import roles
from projects.models import Experiment, Project, ProjectLock, RunPlacement
from projects.services import lock_is_live, target_of

TIMELINE_LENGTH = 200


def project_list(*, user: Any) -> QuerySet[Project]:
    """Every project, for whoever may read projects (none for the others)."""
    if not roles.can_view_projects(user):
        return Project.objects.none()
    return Project.objects.select_related("owner").annotate(
        experiment_count=Count("experiments", distinct=True), run_count=Count("placements", distinct=True)
    )


def project_get(*, user: Any, pk: Any) -> Project | None:
    if not roles.can_view_projects(user):
        return None
    try:
        return Project.objects.select_related("owner").filter(pk=int(pk)).first()
    except (TypeError, ValueError, OverflowError):
        return None


def experiment_list(*, user: Any, project: Project | None = None) -> QuerySet[Experiment]:
    if not roles.can_view_projects(user):
        return Experiment.objects.none()
    qs = Experiment.objects.select_related("project").annotate(run_count=Count("placements"))
    return qs.filter(project=project) if project is not None else qs


@dataclass(frozen=True)
class LockState:
    """The lock as a reader sees it: who holds it and since when, and whether that is the reader."""

    holder: str | None
    taken_at: datetime | None
    last_active_at: datetime | None
    held_by_me: bool

    @property
    def held(self) -> bool:
        return self.holder is not None


def project_lock_state(*, project: Project, user: Any) -> LockState:
    lock = ProjectLock.objects.select_related("holder").filter(project=project).first()
    if not lock_is_live(lock):
        return LockState(None, None, None, False)
    return LockState(
        lock.holder.get_username(), lock.taken_at, lock.last_active_at,
        bool(getattr(user, "is_authenticated", False) and lock.holder_id == user.pk),
    )


def project_members(*, project: Project) -> list[Any]:
    return [m.user for m in project.members.select_related("user").order_by("user__username")]


def project_datasets(*, project: Project) -> list[dict[str, Any]]:
    """The attached dataset names with their latest version (and how many there are)."""
    from simulations.models import Dataset

    names = list(project.datasets.values_list("dataset_name", flat=True))
    latest: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for dataset in Dataset.objects.filter(name__in=names).order_by("name", "-version"):
        latest.setdefault(dataset.name, dataset)
        counts[dataset.name] = counts.get(dataset.name, 0) + 1
    return [{"name": n, "latest": latest.get(n), "versions": counts.get(n, 0)} for n in names]


def project_timeline(*, project: Project, limit: int = TIMELINE_LENGTH) -> list[Any]:
    """What happened in the project, newest first: its own audit entries and those of its runs."""
    from accounts.models import AuditEvent

    run_ids = list(RunPlacement.objects.filter(project=project).values_list("run__run_id", flat=True)[:1000])
    return list(
        AuditEvent.objects.filter(Q(target=target_of(project)) | Q(target__in=run_ids))
        .only("created_at", "actor_name", "action", "target", "detail", "surface")
        .order_by("-created_at", "-id")[:limit]
    )


def editable_projects(*, user: Any) -> QuerySet[Project]:
    """Projects the user may file runs under (member, or admin for all)."""
    if not roles.can_edit_some_projects(user):
        return Project.objects.none()
    if roles.can_edit_every_project(user):
        return Project.objects.all()
    return Project.objects.filter(members__user=user)


def projects_holding_dataset(*, name: str) -> list[Project]:
    """The projects a dataset name is attached to (every version of it follows them)."""
    return list(Project.objects.filter(datasets__dataset_name=name).order_by("name"))
