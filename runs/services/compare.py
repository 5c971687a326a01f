"""Writes of saved comparisons. A saved comparison protects its runs from cleanup."""
from __future__ import annotations

from typing import Any, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import roles
from accounts.services import audit_record
from runs.models import RunComparison
from runs.selectors.compare import baseline_index, comparison_baseline_id, comparison_run_ids, runs_for_comparison

NAME_MAX_LENGTH = RunComparison._meta.get_field("name").max_length


def _clean_name(name: Any) -> str:
    cleaned = str(name or "").strip()
    if not cleaned:
        raise ValidationError({"name": ["Give the comparison a name."]})
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [f"At most {NAME_MAX_LENGTH} characters (got {len(cleaned)})."]})
    return cleaned


def _set_runs(comparison: RunComparison, runs: list[Any], baseline: str | None) -> None:
    """Store the runs, their column order and the baseline (the first run unless named)."""
    comparison.run_order = [run.run_id for run in runs]
    comparison.baseline = runs[baseline_index(runs, baseline)]
    comparison.save()
    comparison.runs.set(runs)


@transaction.atomic
def comparison_create(
    *, name: str, notes: str = "", run_ids: Sequence[str], baseline: str | None = None, actor: Any
) -> RunComparison:
    """Save a comparison of 2 to 10 runs the actor may see, in this order, against this baseline.

    The baseline is a run id among `run_ids` (the first when None): reopening the
    comparison shows the same columns and the same Δ as when it was saved.
    """
    if not roles.can_save_comparison(actor):
        raise PermissionDenied("You may not save comparisons.")
    cleaned = _clean_name(name)
    runs = runs_for_comparison(user=actor, run_ids=run_ids)
    baseline_index(runs, baseline)  # a baseline outside the runs is refused before anything is written
    comparison = RunComparison(name=cleaned, notes=notes or "", owner=actor)
    _set_runs(comparison, runs, baseline)
    audit_record(
        actor=actor, action="comparison.create", target=str(comparison.pk),
        detail={"name": cleaned, "runs": comparison.run_order, "baseline": comparison.baseline.run_id},
    )
    return comparison


@transaction.atomic
def comparison_update(
    *,
    comparison: RunComparison,
    actor: Any,
    name: str | None = None,
    notes: str | None = None,
    run_ids: Sequence[str] | None = None,
    baseline: str | None = None,
) -> RunComparison:
    """Change the name, notes, runs or baseline of a saved comparison (None leaves a field as is).

    New runs without a baseline keep the current baseline if it is among them, else the first.
    """
    if not roles.can_change_comparison(actor, comparison):
        raise PermissionDenied("You may not change this comparison.")
    if name is not None:
        comparison.name = _clean_name(name)
    if notes is not None:
        comparison.notes = notes
    if run_ids is not None or baseline is not None:
        current_baseline = comparison_baseline_id(comparison)
        runs = runs_for_comparison(user=actor, run_ids=run_ids if run_ids is not None else comparison_run_ids(comparison))
        if baseline is None and current_baseline in {run.run_id for run in runs}:
            baseline = current_baseline
        baseline_index(runs, baseline)
        _set_runs(comparison, runs, baseline)
    else:
        comparison.save()
    audit_record(
        actor=actor, action="comparison.update", target=str(comparison.pk),
        detail={"name": comparison.name, "runs": comparison.run_order,
                "baseline": comparison.baseline.run_id if comparison.baseline else None},
    )
    return comparison


@transaction.atomic
def comparison_delete(*, comparison: RunComparison, actor: Any) -> None:
    """Delete a saved comparison (its runs stay, and lose its protection from cleanup)."""
    if not roles.can_change_comparison(actor, comparison):
        raise PermissionDenied("You may not delete this comparison.")
    audit_record(actor=actor, action="comparison.delete", target=str(comparison.pk), detail={"name": comparison.name})
    comparison.delete()
