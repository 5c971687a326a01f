"""Anomalies of a batch run: its duration, or a block's volume, far from what comparable runs did.

Comparable runs are the last FINOPS_ANOMALY_LOOKBACK SUCCEEDED batch runs over the
same domains. A value departs when it is more than FINOPS_ANOMALY_FACTOR times the
median, or less than the median divided by it (a block that inserted nothing where
its domain usually brings rows is the case operators look for first).
"""
from __future__ import annotations

from statistics import median
from typing import Any

from django.conf import settings
from django.utils import timezone

from finops_admin.models import BatchBlock, BatchRun, BlockStatus
from runs.models import Run, RunStatus

KIND = "finops_batch"
# Fewer comparable runs than this: a median says nothing yet, no flag.
MIN_HISTORY = 3
# Durations below this (seconds) are noise: a 0.2 s run twice as slow as a 0.1 s one is no anomaly.
MIN_DURATION_SECONDS = 1.0


def _lookback() -> int:
    return int(getattr(settings, "FINOPS_ANOMALY_LOOKBACK", 10))


def _factor() -> float:
    return float(getattr(settings, "FINOPS_ANOMALY_FACTOR", 3.0))


def human_count(n: float) -> str:
    """250000 -> "250k", 1200000 -> "1.2M"."""
    n = float(n)
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"
    if n >= 1_000:
        return f"{n / 1_000:.1f}".rstrip("0").rstrip(".") + "k"
    return f"{n:g}"


def comparable_runs(*, run: Run, domains: list[str]) -> list[Run]:
    """The last SUCCEEDED batch runs over the same domains, newest first, started before this one."""
    before = run.started_at or run.created_at
    candidates = (
        Run.objects.filter(kind=KIND, status=RunStatus.SUCCEEDED, started_at__lt=before)
        .exclude(pk=run.pk)
        .select_related("finops_batch")
        .order_by("-started_at")
    )
    wanted = sorted(domains)
    found: list[Run] = []
    # Same domains: compared in Python (a JSON list), reading a bounded number of candidates.
    for other in candidates[: _lookback() * 5]:
        if sorted(other.params.get("domains", [])) == wanted:
            found.append(other)
            if len(found) >= _lookback():
                break
    return found


def anomalies_of(*, run: Run, duration: float | None, blocks: list[BatchBlock]) -> list[str]:
    """The reasons this run is anomalous (empty: it is not)."""
    factor = _factor()
    domains = [b.domain.code for b in blocks] or list(run.params.get("domains", []))
    history = comparable_runs(run=run, domains=domains)
    if len(history) < MIN_HISTORY:
        return []
    n = len(history)
    reasons = []
    durations = [r.duration_seconds for r in history if r.duration_seconds is not None]
    if duration is not None and durations:
        med = median(durations)
        if max(med, duration) >= MIN_DURATION_SECONDS and med > 0:
            ratio = duration / med
            if ratio > factor:
                reasons.append(f"duration {ratio:.1f}× the median of the last {n}")
            elif ratio < 1 / factor:
                reasons.append(f"duration {ratio:.2f}× the median of the last {n}")
    inserted: dict[str, list[int]] = {}
    for block in BatchBlock.objects.filter(batch__run__in=history, status=BlockStatus.SUCCEEDED).values(
        "domain__code", "rows_inserted"
    ):
        inserted.setdefault(block["domain__code"], []).append(block["rows_inserted"])
    for block in blocks:
        if block.status != BlockStatus.SUCCEEDED:
            continue  # a failed block already says so, with its errors
        past = inserted.get(block.domain.code, [])
        if len(past) < MIN_HISTORY:
            continue
        med = median(past)
        value = block.rows_inserted
        if med == 0:
            continue
        if value == 0 or value > med * factor or value < med / factor:
            reasons.append(f"{block.domain.name}: {human_count(value)} rows inserted, median {human_count(med)}")
    return reasons


def batch_anomalies_flag(*, run: Run, fence: Any = None) -> list[str]:
    """Compare the run with its comparable history and record the outcome on its BatchRun.

    Called by the executor at the end of a batch, inside the attempt's fence, so an
    attempt that lost its claim writes nothing; without a fence (demo, commands) it
    writes directly.
    """
    batch = BatchRun.objects.filter(run=run).first()
    if batch is None:
        return []
    blocks = list(batch.blocks.select_related("domain"))
    duration = run.duration_seconds
    if duration is None and run.started_at is not None:
        duration = (timezone.now() - run.started_at).total_seconds()
    reasons = anomalies_of(run=run, duration=duration, blocks=blocks)

    def write() -> None:
        BatchRun.objects.filter(pk=batch.pk).update(is_anomalous=bool(reasons), anomalies=reasons)

    if fence is not None:
        with fence.locked():
            write()
    else:
        write()
    return reasons
