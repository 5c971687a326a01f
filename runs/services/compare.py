"""Writes of saved comparisons. A saved comparison protects its runs from cleanup."""
from __future__ import annotations

from typing import Any, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import roles
from accounts.services import audit_record
from runs.models import RunComparison
from runs.selectors.compare import runs_for_comparison

NAME_MAX_LENGTH = RunComparison._meta.get_field("name").max_length


def _clean_name(name: Any) -> str:
    cleaned = str(name or "").strip()
    if not cleaned:
        raise ValidationError({"name": ["Give the comparison a name."]})
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [f"At most {NAME_MAX_LENGTH} characters (got {len(cleaned)})."]})
    return cleaned


@transaction.atomic
def comparison_create(*, name: str, notes: str = "", run_ids: Sequence[str], actor: Any) -> RunComparison:
    """Save a comparison of 2 to 10 runs the actor may see."""
    if not roles.can_save_comparison(actor):
        raise PermissionDenied("You may not save comparisons.")
    cleaned = _clean_name(name)
    runs = runs_for_comparison(user=actor, run_ids=run_ids)
    comparison = RunComparison.objects.create(name=cleaned, notes=notes or "", owner=actor)
    comparison.runs.set(runs)
    audit_record(
        actor=actor, action="comparison.create", target=str(comparison.pk),
        detail={"name": cleaned, "runs": [r.run_id for r in runs]},
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
) -> RunComparison:
    """Change the name, notes or runs of a saved comparison (None leaves a field as is)."""
    if not roles.can_change_comparison(actor, comparison):
        raise PermissionDenied("You may not change this comparison.")
    if name is not None:
        comparison.name = _clean_name(name)
    if notes is not None:
        comparison.notes = notes
    comparison.save()
    if run_ids is not None:
        comparison.runs.set(runs_for_comparison(user=actor, run_ids=run_ids))
    audit_record(actor=actor, action="comparison.update", target=str(comparison.pk), detail={"name": comparison.name})
    return comparison


@transaction.atomic
def comparison_delete(*, comparison: RunComparison, actor: Any) -> None:
    """Delete a saved comparison (its runs stay, and lose its protection from cleanup)."""
    if not roles.can_change_comparison(actor, comparison):
        raise PermissionDenied("You may not delete this comparison.")
    audit_record(actor=actor, action="comparison.delete", target=str(comparison.pk), detail={"name": comparison.name})
    comparison.delete()
