"""Reprocess: run a past batch's periods and domains again, as a new run linked to it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count

from accounts import roles
from accounts.services import audit_record
from finops_admin.models import CostReading
from runs.models import Run, RunTrigger

KIND = "finops_batch"


@dataclass
class Replaced:
    period: str
    domain: str
    rows: int


@dataclass
class ReprocessPlan:
    """What a reprocess replaces: the readings now held for each of the run's periods and domains."""

    source_run: Run
    periods: list[str]
    domains: list[str]
    source: str
    replaced: list[Replaced] = field(default_factory=list)
    run: Run | None = None  # the new run (None for a preview)

    @property
    def total(self) -> int:
        return sum(r.rows for r in self.replaced)


def batch_reprocess_plan(*, run: Run) -> ReprocessPlan:
    periods = list(run.params.get("periods", []))
    domains = list(run.params.get("domains", []))
    counts = {
        (f"{row['period']:%Y-%m}", row["domain__code"]): row["n"]
        for row in CostReading.objects.filter(period__in=[f"{p}-01" for p in periods], domain__code__in=domains)
        .values("period", "domain__code").annotate(n=Count("id")).order_by()
    }
    replaced = [Replaced(p, d, counts.get((p, d), 0)) for p in periods for d in domains]
    return ReprocessPlan(run, periods, domains, str(run.params.get("source", "")), replaced)


def batch_reprocess(*, run: Run, actor: Any, preview: bool = False, enqueue: bool = True) -> ReprocessPlan:
    """Preview (rows per period and domain that will be replaced) or launch a reprocess of `run`:
    a new finops_batch run with trigger REPROCESS, the same periods, domains and source, and
    `run` as its parent. `actor` None is the system (a command); a person needs the permission."""
    if run.kind != KIND:
        raise ValidationError(f"{run.run_id} is not a FinOps batch run.")
    if actor is not None and not roles.can_trigger_finops_batch(actor):
        raise PermissionDenied("You may not reprocess FinOps batches.")
    if run.is_active:
        raise ValidationError(f"{run.run_id} is still {run.get_status_display().lower()}: wait for it to end.")
    plan = batch_reprocess_plan(run=run)
    if preview:
        return plan
    from runs.services import run_create, run_log

    # One transaction: the run is queued (on commit) with its first log line saying what it replaces.
    with transaction.atomic():
        new = run_create(
            kind=KIND, params={"periods": plan.periods, "domains": plan.domains, "source": plan.source},
            trigger=RunTrigger.REPROCESS, owner=actor, parent=run, notes=f"Reprocess of {run.run_id}",
            enqueue=enqueue,
        )
        summary = ", ".join(f"{r.period} {r.domain}: {r.rows}" for r in plan.replaced)
        run_log(run=new, message=f"Reprocess of {run.run_id}; replaces {plan.total} reading(s) ({summary})")
        if actor is not None:
            audit_record(actor=actor, action="finops.reprocess", target=new.run_id,
                         detail={"parent": run.run_id, "replaced": plan.total})
    plan.run = new
    return plan
