"""Loading one block: a domain's FOCUS files for the batch's periods.

Two phases. First every file is read in bounded batches, checked and allocated,
and the valid rows are spooled to a temporary CSV file (outside any
transaction, with progress, heartbeat and cancel between batches). If any row
was refused, the block is FAILED and nothing is written. Otherwise one
transaction deletes the domain's readings for the periods that have files and
inserts the spooled rows (COPY on PostgreSQL, bulk_create on SQLite), and
commits only while the run's attempt still holds its claim (the run row is
locked at the end, as every fenced write of the run core does).
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from finops_admin.allocation import Rule, allocate
from finops_admin.focus import FocusFile, Problem, Problems, source_files
from finops_admin.models import (
    AllocationRule, Application, BatchBlock, BlockStatus, CostReading, Currency, Domain, Family,
)
from runs.context import Fence

logger = logging.getLogger(__name__)

# Columns of the readings table in the order the spool holds them.
COPY_COLUMNS = (
    "period", "domain_id", "family_id", "application_id", "provider", "service_category", "service_name",
    "billing_account", "sub_account", "region", "billed_cost", "effective_cost", "list_cost", "billing_currency",
    "consumed_quantity", "consumed_unit", "source_file", "source_row", "batch_run_id",
)
SPOOL_SCHEMA = pa.schema([(name, pa.string()) for name in COPY_COLUMNS])
COPY_CHUNK_BYTES = 4 << 20
SQLITE_BATCH = 2000


@dataclass
class BlockOutcome:
    """What a block did, also written to its BatchBlock row."""

    status: str = BlockStatus.PENDING
    files_read: int = 0
    rows_read: int = 0
    rows_inserted: int = 0
    rows_deleted: int = 0
    rows_rejected: int = 0
    error_count: int = 0
    errors: list[dict] = field(default_factory=list)
    per_period: dict[str, dict] = field(default_factory=dict)
    missing_periods: list[str] = field(default_factory=list)

    @property
    def first_error(self) -> str:
        if not self.errors:
            return ""
        return str(Problem(**self.errors[0]))


def domain_rules(domain: Domain) -> list[Rule]:
    """The active rules that may allocate a row of `domain`, in priority order.

    A rule applies to a block when it is for every domain or for this one, and its
    application belongs to this domain: a block replaces its own domain's readings,
    so a reading never lands in another domain.
    """
    rules = (
        AllocationRule.objects.filter(is_active=True, application__domain=domain)
        .filter(Q(domain__isnull=True) | Q(domain=domain))
        .order_by("priority", "id")
        .values_list("field", "value", "application_id", "tag_key")
    )
    return [Rule(field=f, value=v, application_id=a, tag_key=k or "") for f, v, a, k in rules]


def _block_update(fence: Fence, block: BatchBlock, **fields) -> None:
    with fence.locked():
        BatchBlock.objects.filter(pk=block.pk).update(**fields)
    for name, value in fields.items():
        setattr(block, name, value)


@dataclass
class BlockPlan:
    """What reading a block needs, fetched from the database beforehand: reading touches no database
    (so it can run in another thread while the previous block writes)."""

    domain_id: int
    domain_code: str
    domain_name: str
    folder: Path
    periods: list[str]
    by_period: dict[str, list[Path]]
    rules: list[Rule]
    unallocated_id: int
    family_of: dict[int, int]
    currencies: set[str]
    run_pk: object

    @property
    def missing_periods(self) -> list[str]:
        return [p for p, files in self.by_period.items() if not files]


@dataclass
class Spooled:
    """The valid rows of a block, allocated, in a temporary CSV file; or the problems found."""

    path: Path
    outcome: BlockOutcome
    problems: Problems
    inserted_per_period: dict[str, int]
    read_seconds: float = 0.0

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def domain_unallocated(domain: Domain) -> Application:
    """The domain's Unallocated application, created with its family if the domain has none yet
    (a domain added in the admin): unmatched rows always have somewhere to go."""
    app = Application.objects.filter(domain=domain, is_unallocated=True).first()
    if app is not None:
        return app
    family, _ = Family.objects.get_or_create(
        domain=domain, code="unallocated", defaults={"name": "Unallocated", "is_unallocated": True})
    app, _ = Application.objects.get_or_create(
        code=f"unallocated-{domain.code}",
        defaults={"name": f"Unallocated ({domain.name})", "family": family, "domain": domain, "is_unallocated": True},
    )
    return app


def block_plan(*, block: BatchBlock, source: Path, periods: list[str], run_pk) -> BlockPlan:
    domain = block.domain
    return BlockPlan(
        domain_id=domain.pk, domain_code=domain.code, domain_name=domain.name, folder=source / domain.code,
        periods=periods, by_period=source_files(source / domain.code, periods), rules=domain_rules(domain),
        unallocated_id=domain_unallocated(domain).pk,
        family_of=dict(Application.objects.filter(domain=domain).values_list("pk", "family_id")),
        currencies=set(Currency.objects.values_list("code", flat=True)), run_pk=run_pk,
    )


def block_start(*, fence: Fence, block: BatchBlock, plan: BlockPlan, log: Callable[[str], None]) -> None:
    _block_update(fence, block, status=BlockStatus.RUNNING, started_at=timezone.now())
    for period in plan.missing_periods:
        log(f"{plan.domain_name}: no file for {period} in {plan.folder}; its readings are left as they are")


def block_read(plan: BlockPlan, *, checkpoint: Callable[[float], None]) -> Spooled:
    """Read, check and allocate the block's files into a spool file. No database access.

    `checkpoint(fraction)` is called between batches (it raises to stop: cancel, lost claim).
    """
    t0 = time.perf_counter()
    outcome = BlockOutcome(missing_periods=plan.missing_periods)
    problems = Problems(keep=settings.FINOPS_MAX_ERRORS_KEPT)
    files = [(period, path) for period, paths in plan.by_period.items() for path in paths]
    inserted_per_period: dict[str, int] = {p: 0 for p, paths in plan.by_period.items() if paths}
    spool_dir = Path(settings.VAR_DIR) / "finops" / "spool"
    spool_dir.mkdir(parents=True, exist_ok=True)
    fd, spool_name = tempfile.mkstemp(prefix=f"{plan.domain_code}-", suffix=".csv", dir=spool_dir)
    os.close(fd)
    spooled = Spooled(Path(spool_name), outcome, problems, inserted_per_period)
    try:
        writer = pacsv.CSVWriter(
            spool_name, SPOOL_SCHEMA,
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="all_valid"),
        )
        try:
            for index, (period, path) in enumerate(files):
                relative = f"{plan.domain_code}/{path.name}"
                reader = FocusFile(
                    path, period=period, currencies=plan.currencies, problems=problems, name=relative,
                    max_bytes=settings.FINOPS_MAX_FILE_BYTES, batch_rows=settings.FINOPS_BATCH_ROWS,
                )
                for table in reader.batches():
                    if not problems:  # once a row is refused nothing is written: just go on checking
                        writer.write_table(_spool_table(table, plan.rules, plan.unallocated_id, plan.family_of,
                                                        plan.domain_id, relative, plan.run_pk))
                        for item in pc.value_counts(table["period"]).to_pylist():
                            inserted_per_period[item["values"][:7]] += item["counts"]
                    checkpoint((index + 0.5) / max(len(files), 1))
                outcome.files_read += 1
                outcome.rows_read += reader.rows_read
                checkpoint((index + 1) / max(len(files), 1))
        finally:
            writer.close()
    except BaseException:
        spooled.discard()
        raise
    outcome.rows_rejected = problems.rows_rejected
    outcome.error_count = problems.count
    outcome.errors = [p.as_dict() for p in problems.first]
    spooled.read_seconds = time.perf_counter() - t0
    return spooled


def block_write(
    *, block: BatchBlock, plan: BlockPlan, spooled: Spooled, fence: Fence,
    check_cancelled: Callable[[], None], log: Callable[[str], None],
) -> BlockOutcome:
    """Replace the block's domain's readings with the spooled rows in one transaction, committed only
    while the attempt holds its claim; or, if any row was refused, write nothing and fail the block."""
    outcome, by_period, periods = spooled.outcome, plan.by_period, plan.periods
    t0 = time.perf_counter()
    try:
        if spooled.problems:
            outcome.status = BlockStatus.FAILED
            outcome.per_period = {p: {"files": len(by_period[p]), "inserted": 0, "deleted": 0} for p in periods}
            _finish(fence, block, outcome)
            log(f"{plan.domain_name}: FAILED, {outcome.error_count} error(s), nothing written; "
                f"first: {outcome.first_error}")
            return outcome
        replaced = [p for p in periods if by_period[p]]
        with transaction.atomic():
            deleted = _delete(plan.domain_id, replaced)
            check_cancelled()
            inserted = _insert(spooled.path, check_cancelled)
            outcome.status = BlockStatus.SUCCEEDED
            outcome.rows_inserted = inserted
            outcome.rows_deleted = sum(deleted.values())
            outcome.per_period = {
                p: {"files": len(by_period[p]), "inserted": spooled.inserted_per_period.get(p, 0),
                    "deleted": deleted.get(p, 0), **({"missing": True} if not by_period[p] else {})}
                for p in periods
            }
            _finish(fence, block, outcome)
        log(f"{plan.domain_name}: {outcome.rows_inserted} reading(s) inserted, {outcome.rows_deleted} replaced, "
            f"{outcome.files_read} file(s) in {block.duration_seconds:.2f} s (read, checked and allocated in "
            f"{spooled.read_seconds:.2f} s, replaced in {time.perf_counter() - t0:.2f} s)")
        return outcome
    finally:
        spooled.discard()


def block_load(
    *,
    block: BatchBlock,
    source: Path,
    periods: list[str],
    fence: Fence,
    checkpoint: Callable[[float], None],
    check_cancelled: Callable[[], None],
    log: Callable[[str], None],
) -> BlockOutcome:
    """Load `block` (its domain) from `source`/<domain code>/ for `periods`: read, then write.

    `checkpoint(fraction)` is called between batches while reading (progress, heartbeat,
    cancel: it raises to stop); inside the write transaction only `check_cancelled()` is
    called, which writes nothing. Returns the outcome, also stored on the block.
    """
    plan = block_plan(block=block, source=source, periods=periods, run_pk=fence.run_pk)
    block_start(fence=fence, block=block, plan=plan, log=log)
    spooled = block_read(plan, checkpoint=checkpoint)
    return block_write(block=block, plan=plan, spooled=spooled, fence=fence, check_cancelled=check_cancelled, log=log)


def block_fail(*, fence: Fence, block: BatchBlock, reason: str, status: str = BlockStatus.FAILED) -> None:
    """End a block that could not run to its end (an unexpected error, a cancel)."""
    now = timezone.now()
    started = block.started_at or now
    _block_update(
        fence, block, status=status, finished_at=now, started_at=started,
        duration_seconds=round((now - started).total_seconds(), 3), rows_inserted=0, rows_deleted=0,
        error_count=block.error_count + (1 if status == BlockStatus.FAILED else 0),
        errors=(block.errors or []) + ([{"file": None, "row": None, "column": None, "reason": reason[:500]}]
                                       if status == BlockStatus.FAILED else []),
    )


def _finish(fence: Fence, block: BatchBlock, outcome: BlockOutcome) -> None:
    now = timezone.now()
    _block_update(
        fence, block, status=outcome.status, finished_at=now,
        duration_seconds=round((now - (block.started_at or now)).total_seconds(), 3), files_read=outcome.files_read,
        rows_read=outcome.rows_read, rows_inserted=outcome.rows_inserted, rows_deleted=outcome.rows_deleted,
        rows_rejected=outcome.rows_rejected, error_count=outcome.error_count, errors=outcome.errors,
        per_period=outcome.per_period,
    )


def _spool_table(table: pa.Table, rules: list[Rule], unallocated_id: int, family_of: dict[int, int],
                 domain_id: int, source_file: str, run_pk) -> pa.Table:
    apps = allocate(table, rules, unallocated_id=unallocated_id)
    app_ids = list(family_of)
    lookup = pa.array(app_ids, pa.int64())
    families = pa.array([family_of[a] for a in app_ids], pa.int64())
    family = pc.take(families, pc.index_in(apps, value_set=lookup))
    n = table.num_rows

    def const(value) -> pa.Array:
        return pa.array([str(value)] * n, pa.string()) if n else pa.array([], pa.string())

    return pa.table({
        "period": table["period"],
        "domain_id": const(domain_id),
        "family_id": pc.cast(family, pa.string()),
        "application_id": pc.cast(apps, pa.string()),
        **{name: table[name] for name in (
            "provider", "service_category", "service_name", "billing_account", "sub_account", "region",
            "billed_cost", "effective_cost", "list_cost", "billing_currency", "consumed_quantity", "consumed_unit")},
        "source_file": const(source_file),
        "source_row": pc.cast(table["source_row"], pa.string()),
        "batch_run_id": const(run_pk),
    }, schema=SPOOL_SCHEMA)


def _delete(domain_id: int, periods: list[str]) -> dict[str, int]:
    if not periods:
        return {}
    days = [f"{p}-01" for p in periods]
    rows = CostReading.objects.filter(domain_id=domain_id, period__in=days)
    counts = {f"{d:%Y-%m}": c for d, c in rows.values_list("period").annotate(n=Count("id")).values_list("period", "n")}
    rows._raw_delete(rows.db)  # no signals or cascades on readings: one DELETE statement
    return counts


def _insert(spool: Path, check_cancelled: Callable[[], None]) -> int:
    table = CostReading._meta.db_table
    if connection.vendor == "postgresql":
        total = 0
        with connection.cursor() as cursor, open(spool, "rb") as handle:
            sql = f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT csv)"
            # No cancel check inside the COPY: without a heartbeat thread (a run executed inside a
            # transaction) check_cancelled() queries this very connection, which waits for the COPY
            # to end while the COPY waits for data: both sides wait for ever (ClientRead). The
            # check comes right after, still inside the block's transaction, so a cancel undoes it.
            with cursor.cursor.copy(sql) as copy:
                while chunk := handle.read(COPY_CHUNK_BYTES):
                    copy.write(chunk)
            total = cursor.cursor.rowcount
        check_cancelled()
        return total
    return _insert_sqlite(spool, check_cancelled)


def _insert_sqlite(spool: Path, check_cancelled: Callable[[], None]) -> int:
    if spool.stat().st_size == 0:
        return 0
    reader = pacsv.open_csv(
        str(spool),
        read_options=pacsv.ReadOptions(column_names=list(COPY_COLUMNS)),
        convert_options=pacsv.ConvertOptions(column_types=SPOOL_SCHEMA, strings_can_be_null=True,
                                             quoted_strings_can_be_null=False),
    )
    total = 0
    for batch in reader:
        objs = []
        for row in batch.to_pylist():
            objs.append(CostReading(
                period=row["period"], domain_id=int(row["domain_id"]), family_id=int(row["family_id"]),
                application_id=int(row["application_id"]), provider=row["provider"],
                service_category=row["service_category"], service_name=row["service_name"],
                billing_account=row["billing_account"], sub_account=row["sub_account"], region=row["region"],
                billed_cost=Decimal(row["billed_cost"]), effective_cost=Decimal(row["effective_cost"]),
                list_cost=None if row["list_cost"] is None else Decimal(row["list_cost"]),
                billing_currency=row["billing_currency"],
                consumed_quantity=None if row["consumed_quantity"] is None else Decimal(row["consumed_quantity"]),
                consumed_unit=row["consumed_unit"], source_file=row["source_file"],
                source_row=int(row["source_row"]), batch_run_id=row["batch_run_id"],
            ))
        CostReading.objects.bulk_create(objs, batch_size=SQLITE_BATCH)
        total += len(objs)
        check_cancelled()
    return total
