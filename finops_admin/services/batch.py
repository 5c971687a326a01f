"""The executor of the `finops_batch` run kind: one block per domain, then the aggregates.

Every write goes through the run's RunContext (progress, logs, metrics) or is
fenced by its attempt token (the BatchRun, blocks and refresh rows are written
under `fence.locked()`), so an attempt that lost its claim writes nothing more.
"""
from __future__ import annotations

import contextvars
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from django.db import connection

from finops_admin.aggregates import Refreshed, aggregates_refresh
from finops_admin.models import AggregateRefresh, BatchBlock, BatchRun, BlockStatus, CostByDomainMonth, Domain
from finops_admin.services.blocks import (
    BlockOutcome, BlockPlan, Spooled, block_fail, block_load, block_plan, block_read, block_start, block_write,
)
from runs.context import RunCancelled, RunContext, RunFenced
from runs.models import Run

ProgressListener = Callable[[int, str], None]
_listener: contextvars.ContextVar[ProgressListener | None] = contextvars.ContextVar("finops_listener", default=None)
# Share of the progress bar the blocks take; the aggregates take the rest.
BLOCKS_SHARE = 90.0
PROGRESS_WRITE_SECONDS = 1.0


class BatchFailed(Exception):
    """One or more blocks failed; the others kept their results."""


@contextmanager
def finops_in_process(listener: ProgressListener | None = None) -> Iterator[None]:
    """Tell `listener(percent, message)` how far batches executed in this process are."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


class _Progress:
    """Progress to the run (at most once a second unless there is a message: each write is a
    commit) and to the in-process listener; a cancel or a lost claim is seen at every call."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.listener = _listener.get()
        self.last_write = 0.0

    def __call__(self, percent: float, message: str | None = None) -> None:
        now = time.monotonic()
        if message or percent >= 100 or now - self.last_write >= PROGRESS_WRITE_SECONDS:
            self.ctx.progress(percent, message)
            self.last_write = now
        else:
            self.ctx.check_cancelled()
        if self.listener is not None:
            self.listener(int(percent), message or "")


def batch_execute(*, run: Run, ctx: RunContext) -> None:
    """Load the run's domains for its periods from its source, block by block, then refresh the aggregates."""
    params = run.params
    periods: list[str] = list(params["periods"])
    source = Path(params["source"])
    domains = list(Domain.objects.filter(code__in=params["domains"]).order_by("position", "code"))
    fence = ctx.fence
    progress = _Progress(ctx)

    with fence.locked():
        batch, _ = BatchRun.objects.update_or_create(
            run=run, defaults={"periods": periods, "domains": [d.code for d in domains], "source": str(source)},
        )
        blocks = [BatchBlock.objects.get_or_create(batch=batch, domain=d)[0] for d in domains]
    outcomes: dict[str, BlockOutcome | str] = {}
    try:
        _run_blocks(ctx, progress, batch, blocks, outcomes, source=source, periods=periods, domains=domains)
    except RunCancelled:
        for block in blocks:
            if block.status in (BlockStatus.PENDING, BlockStatus.RUNNING):
                block_fail(fence=fence, block=block, reason="cancelled", status=BlockStatus.SKIPPED)
        refreshed = []
        if any(getattr(o, "rows_inserted", 0) or getattr(o, "rows_deleted", 0) for o in outcomes.values()):
            # The blocks done before the cancel replaced readings: the aggregates must say so.
            ctx.warning("Cancelled: the blocks already done are kept; refreshing the aggregates")
            refreshed = aggregates_refresh(on_each=lambda item: _record(fence, ctx, batch, item))
        _summarise(fence, batch, blocks, outcomes, len(refreshed), short="Cancelled")
        raise


def _run_blocks(ctx: RunContext, progress: _Progress, batch: BatchRun, blocks: list[BatchBlock], outcomes: dict,
                *, source: Path, periods: list[str], domains: list[Domain]) -> None:
    fence = ctx.fence
    progress(1, f"Batch of {', '.join(periods)} for {', '.join(d.name for d in domains)} from {source}")
    share = BLOCKS_SHARE / max(len(blocks), 1)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # The heartbeat thread runs (the context started outside a transaction): the reading
        # thread's cancel checks touch no database, and the database writes of block n overlap
        # the reading of block n + 1 (the database and this process work at the same time).
        _blocks_overlapped(ctx, progress, blocks, outcomes, source=source, periods=periods)
        blocks_done = True
    else:
        blocks_done = False
    for i, block in enumerate([] if blocks_done else blocks):
        base = 1 + i * share
        progress(base, f"{block.domain.name}: loading")
        try:
            outcomes[block.domain.code] = block_load(
                block=block, source=source, periods=periods, fence=fence,
                checkpoint=lambda fraction, base=base: progress(base + share * min(fraction, 1.0)),
                check_cancelled=ctx.check_cancelled,
                log=ctx.log,
            )
        except (RunCancelled, RunFenced):
            raise
        except Exception as exc:  # an unexpected error fails this block only; the others go on
            reason = f"{type(exc).__name__}: {exc}"
            block_fail(fence=fence, block=block, reason=reason)
            ctx.warning(f"{block.domain.name}: FAILED, nothing written ({reason[:300]})")
            outcomes[block.domain.code] = reason

    progress(BLOCKS_SHARE + 1, "Refreshing the aggregates")
    ctx.check_cancelled()
    refreshed = aggregates_refresh(on_each=lambda item: _record(fence, ctx, batch, item))
    failed, short = _summarise(fence, batch, blocks, outcomes, len(refreshed))
    done = [o for o in outcomes.values() if isinstance(o, BlockOutcome)]
    ctx.set_metrics(_metrics(domains, periods, done, len(refreshed), len(failed)))
    progress(100, "Batch done" if not failed else short[:500])
    if failed:
        raise BatchFailed(short)


def _summarise(fence, batch: BatchRun, blocks: list[BatchBlock], outcomes: dict, views: int,
               short: str = "") -> tuple[list[BatchBlock], str]:
    """Write the batch's summary columns (what the Batch Runs list reads); return the failed blocks
    and the short error naming them with their first error."""
    failed = [b for b in blocks if isinstance(outcomes.get(b.domain.code), str)
              or getattr(outcomes.get(b.domain.code), "status", None) == BlockStatus.FAILED]
    done = [o for o in outcomes.values() if isinstance(o, BlockOutcome)]
    reasons = []
    for block in failed:
        outcome = outcomes[block.domain.code]
        why = outcome if isinstance(outcome, str) else (
            f"{outcome.error_count} error(s), first: {outcome.first_error}")
        reasons.append(f"{block.domain.name} ({why})")
    if reasons:
        short = "Failed block(s): " + "; ".join(reasons)
    with fence.locked():
        BatchRun.objects.filter(pk=batch.pk).update(
            rows_inserted=sum(o.rows_inserted for o in done),
            rows_deleted=sum(o.rows_deleted for o in done),
            rows_rejected=sum(o.rows_rejected for o in done),
            views_refreshed=views,
            error_count=sum(o.error_count for o in done) + sum(1 for o in outcomes.values() if isinstance(o, str)),
            short_error=short[:300],
        )
    return failed, short


def _blocks_overlapped(ctx: RunContext, progress: _Progress, blocks: list[BatchBlock], outcomes: dict, *,
                       source: Path, periods: list[str]) -> None:
    """Load the blocks in order, reading block n + 1 in a thread while block n writes."""
    fence = ctx.fence
    share = BLOCKS_SHARE / max(len(blocks), 1)
    fractions = [0.0] * len(blocks)
    pending: dict[int, tuple[BlockPlan | None, Future | Exception]] = {}

    def read(i: int, plan: BlockPlan) -> Spooled:
        def checkpoint(fraction: float) -> None:
            fractions[i] = fraction
            ctx.check_cancelled()

        return block_read(plan, checkpoint=checkpoint)

    def submit(i: int) -> None:
        try:
            plan = block_plan(block=blocks[i], source=source, periods=periods, run_pk=fence.run_pk)
            block_start(fence=fence, block=blocks[i], plan=plan, log=ctx.log)
        except (RunCancelled, RunFenced):
            raise
        except Exception as exc:  # fails that block when its turn comes
            pending[i] = (None, exc)
            return
        pending[i] = (plan, pool.submit(read, i, plan))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="finops-read") as pool:
        try:
            submit(0)
            for i, block in enumerate(blocks):
                base = 1 + i * share
                progress(base, f"{block.domain.name}: loading")
                plan, job = pending.pop(i)
                spooled: Spooled | None = None
                error: Exception | None = job if isinstance(job, Exception) else None
                while spooled is None and error is None:
                    try:
                        spooled = job.result(timeout=0.5)
                    except FutureTimeout:
                        progress(base + share * 0.5 * min(fractions[i], 1.0))
                    except (RunCancelled, RunFenced):
                        raise
                    except Exception as exc:
                        error = exc
                if i + 1 < len(blocks):
                    submit(i + 1)
                try:
                    if error is not None:
                        raise error
                    outcomes[block.domain.code] = block_write(
                        block=block, plan=plan, spooled=spooled, fence=fence,
                        check_cancelled=ctx.check_cancelled, log=ctx.log,
                    )
                except (RunCancelled, RunFenced):
                    raise
                except Exception as exc:  # an unexpected error fails this block only; the others go on
                    reason = f"{type(exc).__name__}: {exc}"
                    block_fail(fence=fence, block=block, reason=reason)
                    ctx.warning(f"{block.domain.name}: FAILED, nothing written ({reason[:300]})")
                    outcomes[block.domain.code] = reason
        finally:
            # Stopped early (cancel, lost claim): wait for the reading thread, drop what it spooled.
            for _, job in pending.values():
                if isinstance(job, Future):
                    try:
                        job.result().discard()
                    except BaseException:  # it stopped on the same cancel; nothing to drop
                        pass


def _record(fence, ctx: RunContext, batch: BatchRun, item: Refreshed) -> None:
    """Record one aggregate refresh (fenced, like every write of the attempt)."""
    with fence.locked():
        AggregateRefresh.objects.create(
            batch=batch, view=item.view, started_at=item.started_at, finished_at=item.finished_at,
            duration_seconds=item.duration_seconds, rows=item.rows,
        )
    ctx.log(f"Aggregate {item.view}: {item.rows} rows in {item.duration_seconds:.2f} s")


def _metrics(domains: list[Domain], periods: list[str], done: list[BlockOutcome], views: int, failed: int) -> dict:
    """Totals the batch leaves in the database, per domain and period, and its volumes."""
    # Read from the domain × month aggregate just refreshed: the same figures as the readings, without scanning them.
    rows = CostByDomainMonth.objects.filter(domain__in=domains, period__in=[f"{p}-01" for p in periods]).values_list(
        "domain__code", "period", "readings", "billed_cost", "effective_cost")
    totals: dict[str, dict] = {d.code: {} for d in domains}
    for code, period, readings, billed, effective in rows:
        totals[code][f"{period:%Y-%m}"] = {
            "readings": int(readings),
            "billed_cost": round(float(billed or 0), 2),
            "effective_cost": round(float(effective or 0), 2),
        }
    return {
        "readings_inserted": sum(o.rows_inserted for o in done),
        "readings_deleted": sum(o.rows_deleted for o in done),
        "rows_rejected": sum(o.rows_rejected for o in done),
        "files_read": sum(o.files_read for o in done),
        "blocks_failed": failed,
        "views_refreshed": views,
        "totals": totals,
    }
