"""Reads of Admin › Batch Runs: the list (a fixed number of queries per page), a run's detail,
its log excerpt, the CSV of a filtered list."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterator

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from finops_admin.models import AggregateRefresh, BatchBlock, BatchRun, Domain
from runs.models import Run, RunLog
from runs.selectors.listing import _Echo
from runs.textsafe import csv_row

KIND = "finops_batch"
LOG_TAIL_LINES = 40


def batch_runs(*, user: Any) -> QuerySet[Run]:
    """Every FinOps batch run, with what a list row shows, for a user who may see the section."""
    if not roles.can_view_finops_batches(user):
        return Run.objects.none()
    return (
        Run.objects.filter(kind=KIND)
        .select_related("finops_batch", "parent", "owner")
        .prefetch_related(
            # Only what a chip shows, as a plain list (to_attr): no JSON columns decoded, no domain row
            # per block (names come from one read of the domains), no queryset cloned per run.
            Prefetch("finops_batch__blocks", to_attr="chip_blocks", queryset=BatchBlock.objects.only(
                "id", "batch_id", "domain_id", "status").order_by("domain__position", "domain__code"))
        )
        .defer("metrics", "notes")
    )


def batch_run_get(*, user: Any, run_id: str) -> Run:
    """One FinOps batch run by its id (404 for anything else, or for a user who may not see it)."""
    return get_object_or_404(batch_runs(user=user), run_id=run_id)


def batch_of(run: Run) -> BatchRun | None:
    try:
        return run.finops_batch
    except BatchRun.DoesNotExist:
        return None


@dataclass
class Chip:
    code: str
    name: str
    status: str


def _domain_names() -> dict[Any, tuple[str, str]]:
    """(code, name) of every domain, by id and by code: one query for a whole list."""
    out: dict[Any, tuple[str, str]] = {}
    for pk, code, name in Domain.objects.values_list("pk", "code", "name"):
        out[pk] = out[code] = (code, name)
    return out


def row_chips(run: Run, names: dict[Any, tuple[str, str]]) -> list[Chip]:
    """A chip per domain: the block's status once the batch started, PENDING before."""
    batch = batch_of(run)
    if batch is not None:
        blocks = getattr(batch, "chip_blocks", None)
        if blocks is None:
            blocks = list(batch.blocks.only("id", "batch_id", "domain_id", "status").order_by(
                "domain__position", "domain__code"))
        if blocks:
            return [Chip(*names.get(b.domain_id, (str(b.domain_id), str(b.domain_id))), b.status) for b in blocks]
    return [Chip(*names.get(code, (code, code)), "PENDING") for code in run.params.get("domains", [])]


def short_error(run: Run) -> str:
    """One line saying why the run failed: the failed blocks, or the run's own error."""
    batch = batch_of(run)
    text = (batch.short_error if batch else "") or run.error_message
    text = text.strip().splitlines()[0] if text.strip() else ""
    return text[:300]


def decorate(runs: list[Run]) -> list[Run]:
    """Attach what the list's cells show (chips, short error) without another query per run."""
    names = _domain_names()
    base = reverse("finops_admin:batch_list")
    for run in runs:
        run.page_url = f"{base}{run.run_id}/"  # one reverse for the whole page: ids are [-_a-zA-Z0-9] only
        run.batch = batch_of(run)
        run.chips = row_chips(run, names)
        run.short_error = short_error(run)
        run.periods = list(run.params.get("periods", []))
        # Formatted here with strftime: the template's date filter costs ~0.1 ms a call, six per row.
        for name in ("started_at", "finished_at"):
            value = getattr(run, name)
            local = timezone.localtime(value) if value else None
            setattr(run, f"{name}_day", f"{local:%Y-%m-%d}" if local else "—")
            setattr(run, f"{name}_time", f"{local:%H:%M:%S}" if local else "")
    return runs


@dataclass
class PeriodLine:
    period: str
    recompute: str  # "current month", "previous month, recomputed" or ""


def period_lines(periods: list[str], *, when: date) -> list[PeriodLine]:
    """The months processed, the launch's current month and the recomputed previous one marked."""
    current = f"{when:%Y-%m}"
    previous = f"{date(when.year - (when.month == 1), (when.month - 2) % 12 + 1, 1):%Y-%m}"
    marks = {current: "current month", previous: "previous month, recomputed"}
    return [PeriodLine(p, marks.get(p, "")) for p in periods]


@dataclass
class BaseLine:
    period: str
    domain: str
    status: str
    inserted: int
    deleted: int


@dataclass
class BatchDetail:
    run: Run
    batch: BatchRun | None
    periods: list[PeriodLine]
    blocks: list[BatchBlock]
    base: list[BaseLine]
    refreshes: list[AggregateRefresh]
    log_tail: list[RunLog]
    log_count: int
    children: list[Run] = field(default_factory=list)


def batch_run_detail(*, run: Run) -> BatchDetail:
    batch = batch_of(run)
    blocks = list(batch.blocks.select_related("domain").order_by("domain__position", "domain__code")) if batch else []
    refreshes = list(batch.refreshes.all()) if batch else []
    base = [
        BaseLine(period, block.domain.name, block.status, int(numbers.get("inserted", 0)), int(numbers.get("deleted", 0)))
        for block in blocks
        for period, numbers in sorted((block.per_period or {}).items())
    ]
    tail, count = batch_log_tail(run=run)
    when = (run.created_at or run.started_at).date()
    return BatchDetail(
        run=run, batch=batch, periods=period_lines(list(run.params.get("periods", [])), when=when), blocks=blocks,
        base=base, refreshes=refreshes, log_tail=tail, log_count=count,
        children=list(Run.objects.filter(parent=run, kind=KIND).order_by("-created_at")[:20]),
    )


def batch_log_tail(*, run: Run, lines: int = LOG_TAIL_LINES) -> tuple[list[RunLog], int]:
    """The last lines of the run's log, oldest first, and how many lines it has."""
    logs = RunLog.objects.filter(run=run)
    tail = list(logs.order_by("-id")[:lines])
    tail.reverse()
    return tail, logs.count()


CSV_COLUMNS = [
    "run_id", "trigger", "periods", "status", "started_at", "finished_at", "duration_seconds", "domains",
    "readings_inserted", "readings_deleted", "rows_rejected", "views_refreshed", "error_count", "short_error",
    "is_anomalous", "anomalies", "parent", "code_version",
]


def _iso(value: Any) -> str:
    return value.isoformat() if value else ""


def batch_csv_rows(queryset: QuerySet[Run]) -> Iterator[str]:
    """The filtered list as CSV, header first; text cells never become spreadsheet formulas."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    names = _domain_names()
    for run in queryset.iterator(chunk_size=1000):
        batch = batch_of(run)
        chips = row_chips(run, names)
        yield writer.writerow(csv_row([
            run.run_id, run.trigger, " ".join(run.params.get("periods", [])), run.status,
            _iso(run.started_at), _iso(run.finished_at),
            "" if run.duration_seconds is None else f"{run.duration_seconds:.3f}",
            " ".join(f"{c.code}:{c.status}" for c in chips),
            batch.rows_inserted if batch else 0, batch.rows_deleted if batch else 0,
            batch.rows_rejected if batch else 0, batch.views_refreshed if batch else 0,
            batch.error_count if batch else 0, short_error(run),
            "yes" if batch and batch.is_anomalous else "no", " | ".join(batch.anomalies) if batch else "",
            run.parent.run_id if run.parent else "", run.code_version,
        ]))
