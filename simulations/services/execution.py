"""Executing a simulation run: serve it from the cache, or compute it, in chunks if large.

Not one transaction: progress, logs and heartbeats must be visible while a
run computes, so each write here commits on its own and the run core's
lifecycle (RUNNING → SUCCEEDED or FAILED) is what makes the result official.

Streaming. No process holds the whole book. The run's own task draws the
book block by block (`engine.metrics.BLOCK_ROWS` rows, the generator drawing
only those rows), weighs each block, keeps only its sums (counts and amounts
per class, product and rule) and adds them in block order; the aggregates are
computed from those sums once the last block is weighed, and are exactly what
the engine computes on the whole book in memory. Its memory is one block's,
whatever the size of the book.

Chunking. Positions and their breakdown are stored in parts of
`conf.PART_ROWS` rows. A run with more positions than `conf.chunk_size()` and
more than one part creates SimulationChunk rows (ranges of whole parts) and
offers them to other workers as a Celery group; then it streams through the
blocks, writing the parts of every chunk it can still claim as it passes them
(the others only weighed, for the sums), and waits for the chunks others hold.
A chunk task draws and weighs only its own parts. No result backend is needed
(chunk state is in the database), one worker alone never deadlocks (it
computes every chunk itself), and since every part's bytes depend only on the
parameters and the part number, the result does not depend on who computed it.
Progress, heartbeat and cancel are checked between blocks, parts and product
blocks of the draw.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, Callable, Iterator

from celery import group
from django.conf import settings
from django.core.files.storage import storages
from django.db.models import Count, F
from django.utils import timezone

from runs.artifacts import artifact_path
from runs.context import TRANSIENT_DB_ERRORS, Fence, RunContext, RunFenced, db_retry
from runs.models import Run, RunStatus
from simulations import conf
from simulations.engine import generate_portfolio
from simulations.engine import metrics as engine_metrics
from simulations.engine.metrics import BookSums, metrics_from_sums, sum_blocks, weigh_block
from simulations.models import CachedResult, ParameterSet, SimulationChunk
from simulations.params import SimulationSpec, spec_from_params
from simulations.results import (
    AGGREGATES,
    JSON_TYPE,
    PARQUET_TYPE,
    FileSpec,
    aggregate_files,
    checks,
    layout,
    part_files,
    part_ranges,
    run_metrics,
)
from simulations.services.cache import (
    CacheEntryInvalid,
    cached_result_drop,
    cached_result_is_intact,
    cached_result_read,
    cached_result_store_artifact,
    cached_results_record_hit,
    cached_results_servable,
    parameter_set_get_or_create,
)

logger = logging.getLogger(__name__)

ProgressListener = Callable[[int, str], None]

_listener: ContextVar[ProgressListener | None] = ContextVar("simulation_progress_listener", default=None)
_fan_out: ContextVar[bool] = ContextVar("simulation_fan_out", default=True)

WAIT_INTERVAL = 0.2
#: A chunk task looks at its run (heartbeat, cancel, coordinator alive) at most this often.
CHUNK_BEAT_SECONDS = 0.5


class SimulationChunkFailed(RuntimeError):
    """A chunk of the run failed on the worker that held it."""


@contextmanager
def simulation_in_process(listener: ProgressListener | None = None) -> Iterator[None]:
    """Execute simulations entirely in this process (no chunk offered to workers),
    telling `listener(percent, message)` how far they are."""
    listener_token = _listener.set(listener)
    fan_out_token = _fan_out.set(False)
    try:
        yield
    finally:
        _listener.reset(listener_token)
        _fan_out.reset(fan_out_token)


class _Progress:
    """Progress goes to the run (and its heartbeat) and to the in-process listener, if any."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.listener = _listener.get()

    def __call__(self, percent: float, message: str | None = None) -> None:
        self.ctx.progress(percent, message)
        if self.listener is not None:
            self.listener(int(percent), message or "")


# ---------------------------------------------------------------------------
# The executor
# ---------------------------------------------------------------------------
def simulation_execute(*, run: Run, ctx: RunContext) -> None:
    """Produce a simulation run's results: from the cache when allowed and intact, else computed."""
    spec = spec_from_params(run.params)
    progress = _Progress(ctx)
    parameter_set = db_retry(lambda: parameter_set_get_or_create(spec=spec), what="reading the parameter set")
    key = parameter_set.params_hash
    if spec.use_cache:
        served = _serve_from_cache(ctx, progress, parameter_set, spec)
        if served is not None:
            documents, cache_status = served
            ctx.set_metrics(_metrics(documents, spec, cache_status, chunks=0))
            progress(100)
            return
    else:
        ctx.log(f"Cache bypassed on request (force recompute), params hash {key[:12]}…; the results will refresh it")
    documents, chunks = _compute(run, ctx, progress, parameter_set, spec)
    ctx.set_metrics(_metrics(documents, spec, {"hit": False, "params_hash": key, "use_cache": spec.use_cache}, chunks))
    progress(100)


def _metrics(documents: dict[str, Any], spec: SimulationSpec, cache: dict[str, Any], chunks: int) -> dict[str, Any]:
    metrics = run_metrics(
        documents["summary.json"], documents["rwa_by_class.json"], documents["stats_by_product.json"]
    )
    metrics["cache"] = cache
    metrics["parts"] = len(part_ranges(spec.n_positions, conf.PART_ROWS))
    metrics["chunks"] = chunks
    return metrics


# ---------------------------------------------------------------------------
# Cache hit
# ---------------------------------------------------------------------------
def _serve_from_cache(
    ctx: RunContext, progress: _Progress, parameter_set: ParameterSet, spec: SimulationSpec
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Attach the cached files as the run's artifacts, each checked against its SHA-256.

    Returns the aggregate documents and the cache status, or None when the run
    must compute: nothing cached, something missing, or bytes that do not match
    (then every entry of the set is checked and the bad ones dropped, so the
    recompute writes good bytes back).
    """
    key = parameter_set.params_hash
    files = layout(spec.n_positions, conf.PART_ROWS)
    # Only entries an engine run computed and finished are served; an imported run's never are.
    entries = cached_results_servable(parameter_set=parameter_set)
    missing = [f.name for f in files if f.name not in entries]
    if len(missing) == len(files):
        ctx.log(f"Not in the cache (params hash {key[:12]}…): computing")
        return None
    if missing:
        ctx.log(f"Cache incomplete for params hash {key[:12]}… ({', '.join(missing[:3])} missing): computing")
        return None
    progress(5, f"Found in the cache (params hash {key[:12]}…): checking and attaching {len(files)} files")
    documents: dict[str, Any] = {}
    for number, file in enumerate(files, start=1):
        entry = entries[file.name]
        try:
            data = cached_result_read(entry)
        except CacheEntryInvalid as exc:
            ctx.warning(f"Cached {file.name} is corrupted ({exc}): dropped and never served; recomputing")
            cached_result_drop(entry=entry)
            for other in entries.values():
                if other.pk != entry.pk and not cached_result_is_intact(other):
                    ctx.warning(f"Cached {other.name} is corrupted too: dropped")
                    cached_result_drop(entry=other)
            return None
        ctx.save_artifact(file.name, data, JSON_TYPE if file.format == "json" else PARQUET_TYPE)
        if file.name in AGGREGATES:
            documents[file.name] = json.loads(data)
        del data
        progress(5 + 90 * number / len(files))
    cached_results_record_hit(entries=entries.values())
    first = min(entries.values(), key=lambda e: e.created_at)
    source = first.source_run.run_id if first.source_run_id and first.source_run else ""
    ctx.log(
        f"Served from cache (params hash {key[:12]}…), computed {first.created_at:%Y-%m-%d %H:%M:%S}"
        + (f" by {source}" if source else "")
    )
    status: dict[str, Any] = {
        "hit": True,
        "params_hash": key,
        "use_cache": True,
        "computed_at": first.created_at.isoformat(),
        "hit_count": first.hit_count + 1,
    }
    if source:
        status["computed_by"] = source
    return documents, status


# ---------------------------------------------------------------------------
# Cache miss: compute
# ---------------------------------------------------------------------------
def _compute(
    run: Run, ctx: RunContext, progress: _Progress, parameter_set: ParameterSet, spec: SimulationSpec
) -> tuple[dict[str, Any], int]:
    n = spec.n_positions
    files = layout(n, conf.PART_ROWS)
    n_parts = len(part_ranges(n, conf.PART_ROWS))
    chunks: list[SimulationChunk] = []
    if _fan_out.get() and n_parts > 1 and n > conf.chunk_size():
        # Offered before computing anything, so other workers start while this one works.
        chunks = _chunks_create(run, n_parts)
        _chunks_offer(ctx, chunks)

    block_rows = engine_metrics.BLOCK_ROWS
    n_blocks = len(part_ranges(n, block_rows))
    progress(2, f"Generating {n:,} positions (seed {spec.seed}) and weighing them"
             + (f", in {n_blocks} blocks of up to {block_rows:,}" if n_blocks > 1 else ""))
    sums = _stream(run, ctx, progress, spec, n_parts, chunks)
    result = metrics_from_sums(sums, spec.config.capital_stack(), spec.settings)
    outcome = (result.summary, result.capital, result.lcr, result.nsfr)

    progress(90, "Storing the aggregates")
    documents: dict[str, Any] = {}
    for file in aggregate_files(result):
        _store(ctx.fence, file.name, file.data, file.content_type)
        documents[file.name] = json.loads(file.data)
    del result, sums

    if chunks:
        _chunks_complete(run, ctx, progress, chunks, spec, n_parts)
    # Logged once every part is stored (and every chunk done), not while chunks still run.
    _log_outcome(ctx, *outcome)

    stored = db_retry(lambda: set(run.artifacts.values_list("name", flat=True)), what="listing the results")
    missing = set(f.name for f in files) - stored
    if missing:
        raise RuntimeError(f"results missing after the computation: {', '.join(sorted(missing))}")
    # Only a run that ended SUCCEEDED under this attempt feeds the cache: a run that
    # fails, is cancelled or is reaped after this point never does.
    ctx.on_success(lambda: _cache_store(run, parameter_set, files))
    progress(97, "Results stored; they feed the cache once the run has succeeded")
    return documents, len(chunks)


def _stream(
    run: Run,
    ctx: RunContext,
    progress: _Progress,
    spec: SimulationSpec,
    n_parts: int,
    chunks: list[SimulationChunk],
) -> BookSums:
    """Draw and weigh the book block by block; write the parts this task holds; return the book's sums.

    Without chunks every part is this task's. With chunks, a chunk is claimed
    when the stream reaches its first part, if nobody holds it yet; the parts
    of chunks others hold are weighed here for the sums only.
    """
    n = spec.n_positions
    worker = run.worker or "the run's own task"
    chunk_of_part = {part: chunk for chunk in chunks for part in range(chunk.first_part, chunk.stop_part)}
    held: dict[int, float] = {}  # chunk index -> when this task claimed it
    blocks: list[BookSums] = []
    block_ranges = part_ranges(n, engine_metrics.BLOCK_ROWS)
    next_part = 0
    for number, (first, stop) in enumerate(block_ranges):
        ctx.check_cancelled()
        positions = generate_portfolio(spec.seed, n, spec.config, rows=(first, stop),
                                       between_blocks=ctx.check_cancelled)
        explain, block_sums = weigh_block(positions, spec.settings)
        blocks.append(block_sums)
        # The parts that start in this block (a part may run on past its end).
        while next_part < n_parts and next_part * conf.PART_ROWS < stop:
            part = next_part
            next_part += 1
            chunk = chunk_of_part.get(part)
            if chunk is not None and chunk.index not in held:
                if part != chunk.first_part or not db_retry(
                    lambda: _chunk_claim(chunk_pk=chunk.pk, worker=worker), what="claiming a chunk"
                ):
                    continue  # another worker holds it (or took it while this task passed)
                held[chunk.index] = time.monotonic()
                chunk.refresh_from_db()
            ctx.check_cancelled()
            part_stop = min((part + 1) * conf.PART_ROWS, n)
            if part_stop <= stop:
                written = part_files(positions, part, n_parts, conf.PART_ROWS, explain=explain, first_row=first)
            else:
                written = _part_files_alone(spec, part, n_parts, ctx.check_cancelled)
            for file in written:
                _store(ctx.fence, file.name, file.data, file.content_type)
            del written
            if chunk is not None and part == chunk.stop_part - 1:
                _chunk_done(chunk, ctx.fence, held[chunk.index])
        del positions, explain
        ctx.heartbeat()
        progress(2 + 86 * (number + 1) / len(block_ranges),
                 f"Weighed block {number + 1} of {len(block_ranges)}" if len(block_ranges) > 1 else None)
    return sum_blocks(blocks)


def _part_files_alone(spec: SimulationSpec, part: int, n_parts: int, check: Callable[[], None]) -> list:
    """The files of one part, drawn and weighed on their own (memory: one part).

    ``check`` (a heartbeat that raises when the run should stop) is called
    between the draw's product blocks and between the phases.
    """
    first = part * conf.PART_ROWS
    stop = min(first + conf.PART_ROWS, spec.n_positions)
    positions = generate_portfolio(spec.seed, spec.n_positions, spec.config, rows=(first, stop), between_blocks=check)
    explain, _ = weigh_block(positions, spec.settings)
    check()
    return part_files(positions, part, n_parts, conf.PART_ROWS, explain=explain, first_row=first)


def _store(fence: Fence, name: str, data: bytes, content_type: str) -> None:
    """Write a result as an artifact of the fenced attempt, never trusting a stored copy whose bytes went bad.

    The store skips writing a content-addressed file that exists, so a damaged
    copy of these very bytes would silently become this run's result.
    """
    if settings.ARTIFACT_STORE == "file":
        storage = storages["artifacts"]
        digest = hashlib.sha256(data).hexdigest()
        path = artifact_path(digest)
        if storage.exists(path):
            with storage.open(path, "rb") as fh:
                intact = hashlib.sha256(fh.read()).hexdigest() == digest
            if not intact:
                storage.delete(path)
                fence.warning(f"Stored copy of {name} was damaged: written again")
    fence.save_artifact(name, data, content_type)


def _log_outcome(ctx: RunContext, summary: dict, capital: dict, lcr: dict, nsfr: dict) -> None:
    ctx.log(
        f"{summary['n_positions']:,} positions; total assets {summary['total_assets']:,.0f} EUR; "
        f"total RWA {summary['total_rwa']:,.0f} EUR"
    )
    for row in checks(capital, lcr, nsfr):
        value = row["value"]
        shown = "n/a" if value is None else f"{value:.2%}"
        if not row["pass_minimum"]:
            ctx.warning(f"{row['measure']} {shown} is below its minimum of {row['minimum']:.2%}")
        elif row["pass_buffers"] is False:
            ctx.warning(f"{row['measure']} {shown} is below the requirement with buffers of {row['with_buffers']:.2%}")
        else:
            ctx.log(f"{row['measure']} {shown}: meets its minimum of {row['minimum']:.2%}")


def _cache_store(run: Run, parameter_set: ParameterSet, files: list[FileSpec]) -> None:
    """Offer a SUCCEEDED run's results to the cache (called once the run has ended SUCCEEDED)."""
    from runs.services import run_log

    run.refresh_from_db()
    if run.status != RunStatus.SUCCEEDED:
        return
    artifacts = {a.name: a for a in run.artifacts.filter(name__in=[f.name for f in files])}
    for file in files:
        if file.name in artifacts:
            cached_result_store_artifact(
                parameter_set=parameter_set, file=file, artifact=artifacts[file.name], source_run=run
            )
    run_log(run=run, message=f"Results kept in the cache (params hash {parameter_set.params_hash[:12]}…)")


# ---------------------------------------------------------------------------
# Chunks
# ---------------------------------------------------------------------------
def _chunks_create(run: Run, n_parts: int) -> list[SimulationChunk]:
    per_chunk = max(1, conf.chunk_size() // conf.PART_ROWS)
    SimulationChunk.objects.filter(run=run).delete()
    SimulationChunk.objects.bulk_create(
        SimulationChunk(run=run, index=index, first_part=first, stop_part=min(first + per_chunk, n_parts))
        for index, first in enumerate(range(0, n_parts, per_chunk))
    )
    return list(SimulationChunk.objects.filter(run=run).order_by("index"))


def _chunks_offer(ctx: RunContext, chunks: list[SimulationChunk]) -> None:
    from simulations.tasks import execute_chunk

    per_chunk = chunks[0].stop_part - chunks[0].first_part
    ctx.log(
        f"Split into {len(chunks)} chunk{'s' if len(chunks) != 1 else ''} of up to {per_chunk * conf.PART_ROWS:,} "
        f"positions ({per_chunk} part{'s' if per_chunk != 1 else ''} of {conf.PART_ROWS:,}); offered to the workers"
    )
    try:
        group(execute_chunk.s(chunk.pk) for chunk in chunks).apply_async()
    except Exception as exc:  # the broker is down: this task computes every chunk itself
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        ctx.warning(f"Could not offer the chunks to other workers ({exc}); computing them here")


def _chunk_claim(*, chunk_pk: int, worker: str) -> bool:
    """Take a pending chunk (conditional update: exactly one claimant wins)."""
    return bool(
        SimulationChunk.objects.filter(pk=chunk_pk, status=SimulationChunk.Status.PENDING).update(
            status=SimulationChunk.Status.RUNNING,
            worker=worker[:200],
            heartbeat_at=timezone.now(),
            attempts=F("attempts") + 1,
        )
    )


def _chunk_write_parts(
    chunk: SimulationChunk,
    fence: Fence,
    spec: SimulationSpec,
    n_parts: int,
    *,
    beat: Callable[[], None],
) -> None:
    """Draw, weigh and store the chunk's parts one at a time, beating between them."""
    for part in range(chunk.first_part, chunk.stop_part):
        for file in _part_files_alone(spec, part, n_parts, beat):
            _store(fence, file.name, file.data, file.content_type)
        beat()


def _chunk_done(chunk: SimulationChunk, fence: Fence, started: float) -> None:
    def mark() -> None:
        SimulationChunk.objects.filter(pk=chunk.pk, status=SimulationChunk.Status.RUNNING).update(
            status=SimulationChunk.Status.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now()
        )
        chunk.refresh_from_db()

    db_retry(mark, what="marking a chunk done")
    fence.log(
        f"Chunk {chunk.index + 1} (parts {chunk.first_part + 1}–{chunk.stop_part}) "
        f"computed on {chunk.worker} in {time.monotonic() - started:.2f} s",
    )


def _chunks_complete(
    run: Run,
    ctx: RunContext,
    progress: _Progress,
    chunks: list[SimulationChunk],
    spec: SimulationSpec,
    n_parts: int,
) -> None:
    """Compute the chunks nobody has taken (or that were taken back), then wait for those others hold."""
    worker = run.worker or "the run's own task"
    while True:
        ctx.check_cancelled()
        pending = db_retry(
            lambda: SimulationChunk.objects.filter(run=run, status=SimulationChunk.Status.PENDING)
            .order_by("index").first(),
            what="looking for a chunk",
        )
        if pending is not None:
            if db_retry(lambda: _chunk_claim(chunk_pk=pending.pk, worker=worker), what="claiming a chunk"):
                pending.refresh_from_db()
                started = time.monotonic()
                _chunk_write_parts(pending, ctx.fence, spec, n_parts, beat=_beat_checking_cancel(ctx))
                _chunk_done(pending, ctx.fence, started)
            continue
        state = db_retry(
            lambda: list(SimulationChunk.objects.filter(run=run).order_by("index")), what="reading the chunks"
        )
        failed = [c for c in state if c.status == SimulationChunk.Status.FAILED]
        if failed:
            first = failed[0]
            raise SimulationChunkFailed(f"chunk {first.index + 1} failed on {first.worker}: {first.error}")
        done_parts = sum(c.stop_part - c.first_part for c in state if c.status == SimulationChunk.Status.DONE)
        progress(90 + 5 * done_parts / n_parts)
        if done_parts == n_parts:
            break
        db_retry(lambda: _chunks_reclaim_stale(run, ctx), what="taking back silent chunks")
        time.sleep(WAIT_INTERVAL)
    by_worker = (
        SimulationChunk.objects.filter(run=run).values("worker").annotate(n=Count("pk")).order_by("worker")
    )
    ctx.log("Chunks computed by " + ", ".join(f"{row['worker']} ({row['n']})" for row in by_worker))


def _chunks_reclaim_stale(run: Run, ctx: RunContext) -> None:
    """Offer again a chunk whose worker went silent (killed, lost): this task will take it."""
    limit = timezone.now() - timedelta(seconds=settings.RUN_HEARTBEAT_TIMEOUT)
    running = SimulationChunk.Status.RUNNING
    for chunk in SimulationChunk.objects.filter(run=run, status=running, heartbeat_at__lt=limit):
        # Conditional on the heartbeat read: a worker that wakes up in between keeps its chunk.
        reset = SimulationChunk.objects.filter(pk=chunk.pk, status=running, heartbeat_at=chunk.heartbeat_at).update(
            status=SimulationChunk.Status.PENDING
        )
        if reset:
            silence = settings.RUN_HEARTBEAT_TIMEOUT
            ctx.warning(f"Chunk {chunk.index + 1} silent on {chunk.worker} for over {silence} s: taken back")


def _beat_checking_cancel(ctx: RunContext) -> Callable[[], None]:
    def beat() -> None:
        ctx.heartbeat()
        ctx.check_cancelled()
    return beat


class _RunNotRunning(Exception):
    """The run a chunk belongs to ended, was cancelled, or its coordinator went silent: stop."""


def simulation_chunk_execute(*, chunk_pk: int, worker: str) -> bool:
    """Compute one chunk of a running simulation, if it is still unclaimed.

    Returns False when there was nothing (more) to do: the run ended, was
    cancelled or lost its coordinator, or its own task or another worker took
    the chunk first. The chunk's writes are fenced by the attempt that was
    running when the chunk was taken: once that attempt has lost the run,
    nothing more of this chunk reaches it.
    """
    chunk = SimulationChunk.objects.select_related("run").filter(pk=chunk_pk).first()
    if chunk is None or chunk.run.status != RunStatus.RUNNING or chunk.run.cancel_requested:
        return False
    run = chunk.run
    fence = Fence(run.pk, run.attempt)
    if not _coordinator_alive(fence):
        return False
    if not _chunk_claim(chunk_pk=chunk.pk, worker=worker):
        return False
    chunk.refresh_from_db()
    started = time.monotonic()

    last_beat = 0.0

    def beat() -> None:
        # Called between the product blocks of a draw too: look at the run at most twice a second.
        nonlocal last_beat
        if time.monotonic() - last_beat < CHUNK_BEAT_SECONDS:
            return
        last_beat = time.monotonic()
        db_retry(
            lambda: SimulationChunk.objects.filter(pk=chunk.pk).update(heartbeat_at=timezone.now()),
            what="a chunk heartbeat",
        )
        if not _coordinator_alive(fence):
            raise _RunNotRunning()

    try:
        spec = spec_from_params(run.params)
        n_parts = len(part_ranges(spec.n_positions, conf.PART_ROWS))
        _chunk_write_parts(chunk, fence, spec, n_parts, beat=beat)
        _chunk_done(chunk, fence, started)
    except (_RunNotRunning, RunFenced):
        logger.info("run %s is no longer running under attempt %s; chunk %s left unfinished",
                    run.run_id, fence.attempt, chunk.index)
        return False
    except TRANSIENT_DB_ERRORS as exc:
        # The database, not the chunk, failed: hand the chunk back; the run's own task takes it.
        logger.warning("chunk %s of %s: database error (%s); handed back", chunk.index, run.run_id, exc)
        try:
            SimulationChunk.objects.filter(pk=chunk.pk, status=SimulationChunk.Status.RUNNING).update(
                status=SimulationChunk.Status.PENDING
            )
        except TRANSIENT_DB_ERRORS:
            pass  # still down: the run's task takes the chunk back once its heartbeat is stale
        return False
    except Exception as exc:
        SimulationChunk.objects.filter(pk=chunk.pk).update(
            status=SimulationChunk.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        try:
            fence.log(f"Chunk {chunk.index + 1} failed on {worker}: {exc}", "ERROR")
        except RunFenced:
            pass
        raise
    return True


def _coordinator_alive(fence: Fence) -> bool:
    """The attempt still holds the run, nobody asked to cancel it, and its heartbeat is fresh.

    A chunk worker stops when the run's own task went silent (killed): the
    reaper will fail the run, so computing more chunks for it is waste.
    """
    fresh = timezone.now() - timedelta(seconds=settings.RUN_HEARTBEAT_TIMEOUT)
    return db_retry(
        lambda: fence.rows().filter(cancel_requested=False, heartbeat_at__gte=fresh).exists(),
        what="checking the run of a chunk",
    )
