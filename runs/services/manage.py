"""Writes of run maintenance: deleting runs with their artifacts, checksums, cleanup.

Deletion is all or nothing: every run is checked against the roles before any is
touched. Rows go inside the transaction; artifact files go only once it commits,
so a rolled-back delete leaves every file in place.
"""
from __future__ import annotations

from typing import Any, Collection, Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import storages
from django.db import connection, transaction

from accounts import roles
from accounts.services import audit_record
from runs.artifacts import artifacts_checksum, paths_in_use
from runs.models import LogLevel, Run, RunArtifact, RunStatus
from runs.pagination import run_counts_invalidate
from runs.selectors.checksums import PROBLEM_RUN_CHECKSUM_MISSING, ChecksumReport
from runs.selectors.cleanup import cleanup_plan
from runs.services.lifecycle import run_log


class RunsDeleteRefused(PermissionDenied):
    """The actor may not delete some of the runs; nothing was deleted."""

    def __init__(self, refused: list[str]) -> None:
        self.refused = refused
        super().__init__(f"You may not delete {', '.join(refused)}. Nothing was deleted.")


class CleanupPlanStale(ValidationError):
    """The listed runs are no longer exactly what a cleanup would delete; nothing was deleted."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        detail = "; ".join(f"{run_id}: {why}" for run_id, why in sorted(problems.items()))
        super().__init__(f"The cleanup plan is out of date, nothing was deleted. Make a new dry run. ({detail})")


# ---------------------------------------------------------------------------
# Deletion
# ---------------------------------------------------------------------------
@transaction.atomic
def run_delete(*, run: Run, actor: Any) -> None:
    """Delete one run, its logs and its artifacts (files still used elsewhere stay)."""
    runs_delete(runs=[run], actor=actor)


@transaction.atomic
def runs_delete(*, runs: Iterable[Run], actor: Any) -> list[str]:
    """Delete these runs with their logs and artifacts; return their run ids.

    Every run is checked with roles.can_delete_run first; if one is refused,
    RunsDeleteRefused names them all and nothing changes. Active runs (PENDING,
    RUNNING) are refused too: their worker still writes to them; cancel them first.
    """
    runs = list(runs)
    refused = [run.run_id for run in runs if not roles.can_delete_run(actor, run)]
    if refused:
        raise RunsDeleteRefused(refused)
    active = [run.run_id for run in runs if run.status in (RunStatus.PENDING, RunStatus.RUNNING)]
    if active:
        raise ValidationError(f"Cancel these runs before deleting them: {', '.join(active)}. Nothing was deleted.")
    deleted = _delete_rows_and_files([run.pk for run in runs])
    for run_id in deleted:
        audit_record(actor=actor, action="run.delete", target=run_id)
    return deleted


def _delete_rows_and_files(pks: list[Any]) -> list[str]:
    """Delete the runs (logs and artifact rows cascade); their free files go after commit."""
    run_ids: list[str] = []
    paths: set[str] = set()
    for chunk in _chunks(pks):
        run_ids += Run.objects.filter(pk__in=chunk).values_list("run_id", flat=True)
        paths.update(
            RunArtifact.objects.filter(run_id__in=chunk, storage=RunArtifact.Storage.FILE)
            .exclude(path="")
            .values_list("path", flat=True)
        )
        # Only the key: the deletion collector need not decode params and metrics.
        Run.objects.filter(pk__in=chunk).only("pk").delete()
    if paths:
        transaction.on_commit(lambda: artifact_files_delete_unused(paths))
    if run_ids:
        run_counts_invalidate()
    return sorted(run_ids)


def artifact_files_delete_unused(paths: set[str]) -> int:
    """Remove the files at `paths` that no artifact or registered holder uses any more.

    The same rule as runs.artifacts.artifact_delete_bytes, asked once for a whole
    batch: RunArtifact.path has no index, so asking file by file would scan the
    table once per file and a cleanup of thousands of runs would take minutes.
    Returns how many files were removed.
    """
    storage = storages["artifacts"]
    removed = 0
    for chunk in _chunks(sorted(paths)):
        for path in set(chunk) - paths_in_use(set(chunk)):
            if storage.exists(path):
                storage.delete(path)
                removed += 1
    return removed


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    """Slices of `items` small enough for one `IN (…)` list on this database.

    Django assumes SQLite caps a query at 999 parameters; PostgreSQL has no such
    cap, and fewer, larger statements are faster there.
    """
    size = 900 if connection.features.max_query_params else 10_000
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------------------
# Checksums
# ---------------------------------------------------------------------------
@transaction.atomic
def run_checksum_recompute(*, run: Run, actor: Any = None) -> tuple[str, str]:
    """Recompute the run's checksum from its stored result bytes; return (old, new).

    `actor` None is ops (a command). Each artifact keeps its own recorded SHA-256,
    so recomputing never hides an altered artifact from runs_verify_checksums.
    """
    if actor is not None and not roles.can_cleanup_runs(actor):
        raise PermissionDenied("You may not recompute checksums.")
    if run.status in (RunStatus.PENDING, RunStatus.RUNNING):
        raise ValidationError(f"{run.run_id} is still {run.get_status_display().lower()}; its results are not final.")
    artifacts = list(run.artifacts.all())
    old = run.checksum
    new = artifacts_checksum(artifacts) if artifacts else ""
    if new != old:
        Run.objects.filter(pk=run.pk).update(checksum=new)
        run.checksum = new
        who = getattr(actor, "username", None) or "ops"
        run_log(
            run=run,
            level=LogLevel.WARNING if old else LogLevel.INFO,
            message=f"Checksum recomputed by {who}: {old or '(none)'} -> {new or '(none)'}",
        )
    audit_record(actor=actor, action="run.checksum_recompute", target=run.run_id, detail={"old": old, "new": new})
    return old, new


def runs_fix_missing_checksums(*, report: ChecksumReport) -> list[str]:
    """Record the checksum of runs whose only problem is that none was recorded.

    A run with an altered or missing artifact is never touched: recording a
    checksum over altered bytes would hide the alteration.
    """
    problems: dict[str, set[str]] = {}
    for mismatch in report.mismatches:
        problems.setdefault(mismatch.run_id, set()).add(mismatch.problem)
    fixable = sorted(run_id for run_id, kinds in problems.items() if kinds == {PROBLEM_RUN_CHECKSUM_MISSING})
    for run in Run.objects.filter(run_id__in=fixable):
        run_checksum_recompute(run=run, actor=None)
    return fixable


# ---------------------------------------------------------------------------
# Cleanup
# ---------------------------------------------------------------------------
@transaction.atomic
def runs_cleanup(*, days: Any, run_ids: Collection[str], actor: Any = None) -> list[str]:
    """Delete exactly the runs a cleanup dry run listed; return their run ids.

    The plan is recomputed over the listed runs at execution time, with those
    rows locked. If any listed run is no longer a candidate (it became a
    favourite, joined a saved comparison, gained a child that stays, was deleted
    or is out of the actor's view), CleanupPlanStale refuses the whole execution:
    a cleanup never deletes a set other than the one that was shown. Runs that
    became old enough since the dry run are left for the next one.

    `actor` None is ops (the cleanup_runs command) and acts on all runs; a
    person must hold roles.can_cleanup_runs and acts on the runs they may see.
    """
    if actor is not None and not roles.can_cleanup_runs(actor):
        raise PermissionDenied("You may not clean up runs.")
    listed = list(dict.fromkeys(run_ids))
    if not listed:
        return []
    # Lock the listed rows: no favourite, comparison or child can be added under us.
    locked = Run.objects.select_for_update().filter(run_id__in=listed)
    if actor is not None:
        locked = locked.visible_to(actor)
    list(locked.values_list("pk", flat=True))
    plan = cleanup_plan(days=days, user=actor, among=listed)
    planned = set(plan.run_ids)
    if planned != set(listed):
        kept = {k.run_id: f"kept: {k.reason}" for k in plan.kept}
        problems = {
            run_id: kept.get(run_id, "no longer a candidate (deleted, not finished, too recent or not visible)")
            for run_id in listed
            if run_id not in planned
        }
        raise CleanupPlanStale(problems)
    pks = list(Run.objects.filter(run_id__in=listed).values_list("pk", flat=True))
    deleted = _delete_rows_and_files(pks)
    audit_record(
        actor=actor, action="runs.cleanup", target=f"{len(deleted)} runs older than {plan.days} days",
        detail={"days": plan.days, "cutoff": plan.cutoff.isoformat(), "run_ids": deleted},
    )
    return deleted
