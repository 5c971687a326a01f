"""Reads behind deletion and cleanup: what a delete removes, and the cleanup plan.

The cleanup plan is the dry run. Executing a cleanup (runs.services.manage.runs_cleanup)
recomputes it and deletes exactly the runs it listed, so the rules live here only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Collection

from django.core.exceptions import ValidationError
from django.db.models import QuerySet, Sum
from django.utils import timezone

from runs.artifacts import paths_in_use
from runs.kinds import kinds_visible_to
from runs.models import FINISHED_STATUSES, Run, RunArtifact, RunComparison

CLEANUP_MIN_DAYS = 7
CLEANUP_MAX_DAYS = 365


# ---------------------------------------------------------------------------
# What deleting one run removes
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ArtifactFate:
    name: str
    size_bytes: int
    storage: str
    # The file stays on disk because another artifact or a result cache still uses it.
    file_kept: bool


@dataclass(frozen=True)
class DeletionPreview:
    run: Run
    log_count: int
    artifacts: list[ArtifactFate]
    comparisons: list[str]
    children: list[str]

    @property
    def artifact_bytes(self) -> int:
        return sum(a.size_bytes for a in self.artifacts)

    @property
    def freed_bytes(self) -> int:
        """Bytes that actually leave the store (shared files stay)."""
        return sum(a.size_bytes for a in self.artifacts if not a.file_kept)


def run_deletion_preview(*, run: Run) -> DeletionPreview:
    """Everything `run_delete` would remove or leave for this run, for a confirmation page."""
    artifacts = list(run.artifacts.defer("blob"))
    file_paths = {a.path for a in artifacts if a.storage == RunArtifact.Storage.FILE and a.path}
    shared = paths_in_use(file_paths, excluding_artifacts=[a.pk for a in artifacts]) if file_paths else set()
    return DeletionPreview(
        run=run,
        log_count=run.logs.count(),
        artifacts=[
            ArtifactFate(name=a.name, size_bytes=a.size_bytes, storage=a.storage, file_kept=a.path in shared)
            for a in artifacts
        ],
        comparisons=list(run.comparisons.order_by("name").values_list("name", flat=True)),
        children=list(run.children.order_by("run_id").values_list("run_id", flat=True)[:50]),
    )


# ---------------------------------------------------------------------------
# Cleanup plan
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CleanupCandidate:
    run_id: str
    size_bytes: int
    created_at: datetime


@dataclass(frozen=True)
class KeptRun:
    run_id: str
    reasons: tuple[str, ...]
    created_at: datetime

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class CleanupPlan:
    """Runs a cleanup would delete, and the old runs it keeps with the reason why.

    Runs younger than the cutoff are not listed in `kept`: only candidates by age are.
    """

    days: int
    cutoff: datetime
    to_delete: list[CleanupCandidate] = field(default_factory=list)
    kept: list[KeptRun] = field(default_factory=list)

    @property
    def run_ids(self) -> list[str]:
        return [c.run_id for c in self.to_delete]

    @property
    def total_bytes(self) -> int:
        return sum(c.size_bytes for c in self.to_delete)

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "cutoff": self.cutoff,
            "to_delete": [
                {"run_id": c.run_id, "size_bytes": c.size_bytes, "created_at": c.created_at} for c in self.to_delete
            ],
            "kept": [{"run_id": k.run_id, "reason": k.reason, "created_at": k.created_at} for k in self.kept],
            "total_bytes": self.total_bytes,
        }


def cleanup_validate_days(days: Any) -> int:
    """The age threshold as an int, or ValidationError saying the allowed range."""
    try:
        value = int(days)
    except (TypeError, ValueError):
        raise ValidationError(f"days must be a whole number from {CLEANUP_MIN_DAYS} to {CLEANUP_MAX_DAYS}.") from None
    if isinstance(days, float) and not days.is_integer():
        raise ValidationError(f"days must be a whole number from {CLEANUP_MIN_DAYS} to {CLEANUP_MAX_DAYS}.")
    if not CLEANUP_MIN_DAYS <= value <= CLEANUP_MAX_DAYS:
        raise ValidationError(f"days must be from {CLEANUP_MIN_DAYS} to {CLEANUP_MAX_DAYS} (got {value}).")
    return value


def _old_runs(*, cutoff: datetime, user: Any, among: Collection[str] | None) -> QuerySet[Run]:
    # Only finished runs: a PENDING or RUNNING run still has a worker writing to it.
    runs = Run.objects.filter(created_at__lt=cutoff, status__in=FINISHED_STATUSES)
    if user is not None:
        runs = runs.visible_to(user)
    if among is not None:
        runs = runs.filter(run_id__in=list(among))
    return runs


def cleanup_plan(
    *, days: Any, user: Any = None, now: datetime | None = None, among: Collection[str] | None = None
) -> CleanupPlan:
    """The dry run of a cleanup of runs older than `days` (7 to 365).

    A candidate is a finished run created before the cutoff. It is kept when it is
    a favourite, belongs to a saved comparison, or is the parent of a run that
    stays; the last rule is transitive (a grandparent of a favourite stays too) and
    counts every run that stays, recent, active or outside the user's view.

    `user` limits the candidates to the runs that user may see; None (ops, the
    command) considers all runs. `among` further limits the candidates to these
    run ids, so that executing a plan re-checks exactly the runs it listed.

    Runs in a handful of queries whatever the number of runs: the parent rule is
    set logic over ids in memory, not a query per run.
    """
    days = cleanup_validate_days(days)
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    old = _old_runs(cutoff=cutoff, user=user, among=among)

    rows = old.order_by("created_at", "run_id").values_list("pk", "run_id", "created_at", "is_favourite", "parent_id")
    candidates: dict[Any, tuple[str, datetime, Any]] = {}
    reasons: dict[Any, list[str]] = {}
    for pk, run_id, created_at, is_favourite, parent_id in rows:
        candidates[pk] = (run_id, created_at, parent_id)
        if is_favourite:
            reasons.setdefault(pk, []).append("favourite")

    if candidates:
        old_pks = old.values("pk")
        memberships = (
            RunComparison.runs.through.objects.filter(run_id__in=old_pks)
            .order_by("runcomparison__name")
            .values_list("run_id", "runcomparison__name")
        )
        for pk, name in memberships:
            reasons.setdefault(pk, []).append(f'in saved comparison "{name}"')

        visible_kinds = set(kinds_visible_to(user)) if user is not None else None
        # Every child of a candidate; a child that is not itself a candidate stays.
        child_rows = (
            Run.objects.filter(parent_id__in=old_pks).order_by("run_id").values_list("pk", "run_id", "kind", "parent_id")
        )
        staying_children: list[tuple[str, Any]] = []
        for child_pk, child_run_id, child_kind, parent_pk in child_rows:
            if child_pk not in candidates:
                visible = visible_kinds is None or child_kind in visible_kinds
                staying_children.append((child_run_id if visible else "", parent_pk))
        _keep_ancestors(candidates, reasons, staying_children)

    sizes: dict[Any, int] = {}
    if candidates:
        sizes = dict(
            RunArtifact.objects.filter(run_id__in=old.values("pk"))
            .order_by()
            .values("run_id")
            .annotate(total=Sum("size_bytes"))
            .values_list("run_id", "total")
        )

    plan = CleanupPlan(days=days, cutoff=cutoff)
    for pk, (run_id, created_at, _parent) in candidates.items():
        if pk in reasons:
            plan.kept.append(KeptRun(run_id=run_id, reasons=tuple(reasons[pk]), created_at=created_at))
        else:
            plan.to_delete.append(CleanupCandidate(run_id=run_id, size_bytes=sizes.get(pk) or 0, created_at=created_at))
    return plan


def _keep_ancestors(
    candidates: dict[Any, tuple[str, datetime, Any]],
    reasons: dict[Any, list[str]],
    staying_children: list[tuple[str, Any]],
) -> None:
    """Keep every candidate that is an ancestor of a run that stays.

    `staying_children` are (child run id, or "" when the user may not see the
    child; parent pk) for children that are not candidates. A kept candidate
    stays too, so its parent is kept in turn, up the chain.
    """

    def keep_parent(child_label: str, parent_pk: Any) -> None:
        bucket = reasons.setdefault(parent_pk, [])
        if not any(r.startswith("parent of ") for r in bucket):
            bucket.append(f"parent of kept run {child_label}" if child_label else "parent of a run outside your view")

    for child_label, parent_pk in staying_children:
        if parent_pk in candidates:
            keep_parent(child_label, parent_pk)
    queue = [pk for pk in reasons if pk in candidates]
    seen: set[Any] = set()
    while queue:
        pk = queue.pop()
        if pk in seen:
            continue
        seen.add(pk)
        run_id, _created, parent_pk = candidates[pk]
        if parent_pk in candidates:
            keep_parent(run_id, parent_pk)
            queue.append(parent_pk)
