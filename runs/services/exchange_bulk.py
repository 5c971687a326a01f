"""Bulk import: many runs from one file, in batches of one transaction each.

The file is either JSON lines, one run document per line (the document of a JSON export,
docs/exchange_format.md), or a zip of run bundles (a "bundle of bundles"). Every document
goes through the checks of a single import (schema, kind, params hash, each result's
size and SHA-256, the run checksum, what its kind needs), then a batch of runs is
written with a few multi-row INSERTs: runs, tags, log lines, results.

- Atomic per batch: a batch is written whole or not at all. A document that fails its
  checks stops the import before its batch is written; the batches before it stay.
- Idempotent: a run whose UUID is already here (or earlier in the file) is skipped, so
  importing the same file again, or again after fixing it, never duplicates.
- Provenance as for a single import: origin IMPORT, `imported_at`, `imported_from`
  naming the file and line; imported results never enter a cache (runs.services.exchange).
"""
from __future__ import annotations

import io
import json
import queue
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Iterator

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connections, router, transaction
from django.db.models import Model
from django.utils import timezone

from accounts import roles
from accounts.services import audit_record
from runs.artifacts import artifact_path, artifact_write, artifacts_checksum
from runs.kinds import get_kind
from runs.models import LogLevel, Run, RunArtifact, RunLog, RunOrigin, RunStatus, Tag
from runs.services.exchange import (
    MAX_REPORTED_ERRORS,
    ImportRefused,
    _as_seekable,
    _Incoming,
    _parse_document,
    _read_bundle,
    _refuse_nul,
    _remove_files,
    _unsafe_member_name,
    _verify,
)
from runs.services.lifecycle import MAX_LOG_MESSAGE, _next_run_id

BULK_FORMATS = ("jsonl", "bundles")


class BulkImportRefused(ImportRefused):
    """A document or a batch that could not be imported. Batches before it were stored."""

    def __init__(self, message: str, *, result: "BulkImportResult") -> None:
        super().__init__(message)
        self.result = result


@dataclass
class BulkImportResult:
    """What a bulk import stored."""

    format: str
    imported: int = 0
    skipped: int = 0  # already here (or twice in the file)
    renamed: int = 0  # run id taken here by another run: imported under a local one
    batches: int = 0
    seconds: float = 0.0
    first_run_id: str = ""
    last_run_id: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def runs_per_second(self) -> float:
        return self.imported / self.seconds if self.seconds > 0 else 0.0

    @property
    def summary(self) -> str:
        line = (
            f"Imported {self.imported:,} run(s) in {self.batches:,} batch(es) from {self.format}"
            f" in {self.seconds:.1f} s; {self.skipped:,} already here, skipped"
        )
        if self.renamed:
            line += f"; {self.renamed:,} imported under a new run id (theirs was taken here)"
        return line + "."

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "imported": self.imported, "skipped": self.skipped, "renamed": self.renamed,
            "batches": self.batches, "seconds": round(self.seconds, 3),
            "first_run_id": self.first_run_id, "last_run_id": self.last_run_id,
        }


@dataclass
class _Item:
    where: str  # "line 12" or "bundle run_x.zip", for messages and imported_from
    incoming: _Incoming


def bulk_batch_size() -> int:
    return settings.RUN_BULK_IMPORT_BATCH


def runs_import_bulk(
    *, file: IO[bytes] | bytes, actor: Any, filename: str = "", batch_size: int | None = None
) -> BulkImportResult:
    """Import every run of a JSON-lines file or a zip of bundles, `batch_size` runs per transaction.

    `actor` None means an operator's command (runs get no owner). Raises ImportRefused
    before anything is written for a file that is not a bulk file, and BulkImportRefused
    (carrying what was stored) when a document or a batch is refused.
    """
    if actor is not None and not roles.can_import_runs(actor):
        raise PermissionDenied("You may not import runs.")
    size = batch_size or bulk_batch_size()
    if size < 1:
        raise ImportRefused("The batch size must be at least 1.")
    started = time.perf_counter()
    source = _as_seekable(file)
    try:
        fmt = _detect_bulk_format(source)
        result = BulkImportResult(format="JSON lines" if fmt == "jsonl" else "a zip of bundles")
        items = _jsonl_items(source) if fmt == "jsonl" else _bundle_items(source)
        name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1][:120] or "a bulk file"
        seen: set[uuid.UUID] = set()
        pending_parents: dict[uuid.UUID, uuid.UUID] = {}
        imported_at = timezone.now()
        try:
            for batch in _chunks(items, size):
                _store_batch(batch, actor=actor, source=name, fmt=fmt, imported_at=imported_at, seen=seen,
                             pending_parents=pending_parents, result=result)
        except ImportRefused as exc:
            result.seconds = time.perf_counter() - started
            done = (f"{result.imported:,} run(s) of the batches before it were imported" if result.imported
                    else "nothing was imported")
            raise BulkImportRefused(
                f"{exc.message} That batch was not imported; {done} (importing the file again skips them).",
                result=result,
            ) from None
        _link_parents(pending_parents)
    finally:
        if source is not file:
            source.close()
    result.seconds = time.perf_counter() - started
    return result


def _detect_bulk_format(source: IO[bytes]) -> str:
    head = source.read(1024)
    source.seek(0)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "bundles"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "jsonl"
    if not head:
        raise ImportRefused("The file is empty.")
    raise ImportRefused(
        "Unknown file format: a bulk import takes JSON lines (one run document per line) or a zip of run "
        "bundles (Parquet files, pickles and other formats are not bulk imported)."
    )


def _chunks(items: Iterator[_Item], size: int) -> Iterator[list[_Item]]:
    """Batches of `size` items, read one batch ahead in a thread of their own: the next batch is
    parsed and checked while the database writes this one (reading needs no database)."""
    def batches() -> Iterator[list[_Item]]:
        batch: list[_Item] = []
        for item in items:
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    ahead: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        try:
            for batch in batches():
                while not stop.is_set():
                    try:
                        ahead.put(("batch", batch), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ahead.put(("end", None))
        except BaseException as exc:  # handed to the consumer, which raises it where the batch was expected
            ahead.put(("error", exc))

    reader = threading.Thread(target=read, name="bulk-import-reader", daemon=True)
    reader.start()
    try:
        while True:
            what, value = ahead.get()
            if what == "end":
                return
            if what == "error":
                raise value
            yield value
    finally:
        stop.set()
        reader.join(timeout=5)


# --- Reading ----------------------------------------------------------------
def _jsonl_items(source: IO[bytes]) -> Iterator[_Item]:
    """One parsed, checked run document per non-empty line."""
    for number, raw in enumerate(source, start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if not raw.strip():
            continue
        where = f"line {number}"
        try:
            document = json.loads(raw, parse_constant=_no_constant)
        except UnicodeDecodeError:
            raise ImportRefused(f"Line {number} is not UTF-8 text.") from None
        except json.JSONDecodeError as exc:
            raise ImportRefused(
                f"Line {number}: malformed JSON: {exc.msg} at column {exc.colno} "
                "(a bulk file holds one complete run document per line)."
            ) from None
        except (ValueError, RecursionError) as exc:
            raise ImportRefused(f"Line {number}: malformed JSON: {exc}.") from None
        # JSON spells a NUL only as \u0000 (a raw one is invalid JSON): most lines need no walk.
        if b"\\u0000" in raw:
            _refuse_nul(document, where)
        incoming = _parse_document(document, with_data=True, where=f"Line {number}: ")
        yield _Item(where, incoming)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _bundle_items(source: IO[bytes]) -> Iterator[_Item]:
    """Each member of the zip is one run bundle (checked as a single import checks it)."""
    try:
        outer = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ImportRefused(f"The file is not a readable zip file ({exc}).") from None
    with outer:
        infos = [info for info in outer.infolist() if not info.is_dir()]
        names = {info.filename for info in infos}
        if "manifest.json" in names and "run.json" in names:
            raise ImportRefused("This zip is a single run bundle: import it with the single import, not in bulk.")
        if len(infos) > settings.RUN_BULK_IMPORT_MAX_MEMBERS:
            raise ImportRefused(
                f"The zip holds {len(infos):,} members; at most {settings.RUN_BULK_IMPORT_MAX_MEMBERS:,} bundles "
                "are taken in one bulk import (setting RUN_BULK_IMPORT_MAX_MEMBERS)."
            )
        total = 0
        for info in infos:
            if _unsafe_member_name(info.filename):
                raise ImportRefused(f"The zip holds a member with an unsafe name {info.filename!r}.")
            if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ImportRefused(f"The zip member {info.filename!r} is encrypted or compressed in an unknown way.")
            if info.file_size > settings.RUN_IMPORT_MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1 << 20:
                raise ImportRefused(f"The zip member {info.filename!r} inflates too much (setting RUN_IMPORT_MAX_RATIO).")
            total += info.file_size
        if total > settings.RUN_IMPORT_MAX_BYTES:
            raise ImportRefused(
                f"The zip inflates to {total:,} bytes; imports are limited to {settings.RUN_IMPORT_MAX_BYTES:,} bytes "
                "(setting RUN_IMPORT_MAX_BYTES)."
            )
        for info in infos:
            where = f"bundle {info.filename}"
            try:
                data = outer.read(info)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise ImportRefused(f"The zip member {info.filename!r} cannot be read: {exc}.") from None
            if not data.startswith(b"PK"):
                raise ImportRefused(f"The zip member {info.filename!r} is not a run bundle (a zip file).")
            try:
                inner = zipfile.ZipFile(io.BytesIO(data))
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
                raise ImportRefused(f"{info.filename}: not a readable zip file ({exc}).") from None
            try:
                incoming = _read_bundle(inner)
            except ImportRefused as exc:
                raise ImportRefused(f"{info.filename}: {exc.message}") from None
            # The results are read from `inner` while the batch is stored; it stays open until then.
            yield _Item(where, incoming)


# --- Storing ----------------------------------------------------------------
class _Rows:
    """Rows of one table, written as given: with COPY on PostgreSQL (the fastest way in), else
    multi-row INSERTs. Unlike bulk_create, auto_now_add fields keep the imported times, and
    fields a row does not give take their model default (so a column added later still fills)."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.auto_created)]
        self.by_name = {f.attname: f for f in self.fields}
        self.json = {f.attname for f in self.fields if f.get_internal_type() == "JSONField"}
        self.rows: list[dict[str, Any]] = []

    def add(self, **values: Any) -> None:
        self.rows.append(values)

    def write(self) -> None:
        if not self.rows:
            return
        using = router.db_for_write(self.model)
        connection = connections[using]
        if connection.vendor == "postgresql":
            self._copy(connection)
        else:
            objs = [self.model(**self._complete(row)) for row in self.rows]
            step = max(connection.ops.bulk_batch_size(self.fields, objs), 1)
            for start in range(0, len(objs), step):
                # raw=True: values as given, no pre_save (auto_now_add would stamp "now").
                self.model._base_manager._insert(objs[start:start + step], fields=self.fields, raw=True, using=using)
        self.rows = []

    def _complete(self, row: dict[str, Any]) -> dict[str, Any]:
        # A default is computed per row: a callable one (a UUID) must differ from row to row.
        return {name: row[name] if name in row else field.get_default() for name, field in self.by_name.items()}

    def _copy(self, connection: Any) -> None:
        names = [f.attname for f in self.fields]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        table = connection.ops.quote_name(self.model._meta.db_table)
        json_fields = self.json
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in self.rows:
                if len(row) != len(names):
                    row = self._complete(row)
                values = []
                for name in names:
                    value = row[name]
                    if name in json_fields:
                        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
                    values.append(value)
                copy.write_row(values)


def _store_batch(
    batch: list[_Item],
    *,
    actor: Any,
    source: str,
    fmt: str,
    imported_at: Any,
    seen: set[uuid.UUID],
    pending_parents: dict[uuid.UUID, uuid.UUID],
    result: BulkImportResult,
) -> None:
    for kind in {item.incoming.run["kind"] for item in batch}:
        run_kind = get_kind(kind)
        if actor is not None and not actor.has_perm(run_kind.view_permission):
            raise ImportRefused(f"You may not import {run_kind.label} runs.")
    written: list[str] = []
    try:
        with transaction.atomic():
            _write_batch(batch, actor=actor, source=source, fmt=fmt, imported_at=imported_at, seen=seen,
                         pending_parents=pending_parents, result=result, written=written)
    except BaseException:
        _remove_files(written)
        raise


def _write_batch(
    batch: list[_Item],
    *,
    actor: Any,
    source: str,
    fmt: str,
    imported_at: Any,
    seen: set[uuid.UUID],
    pending_parents: dict[uuid.UUID, uuid.UUID],
    result: BulkImportResult,
    written: list[str],
) -> None:
    ids = [item.incoming.run["id"] for item in batch]
    here = set(Run.objects.filter(pk__in=ids).values_list("pk", flat=True))
    fresh: list[_Item] = []
    for item in batch:
        run_uuid = item.incoming.run["id"]
        if run_uuid in here or run_uuid in seen:
            result.skipped += 1
            continue
        seen.add(run_uuid)
        fresh.append(item)
    if not fresh:
        return
    wanted_ids = [item.incoming.run["run_id"] for item in fresh]
    taken = set(Run.objects.filter(run_id__in=wanted_ids).values_list("run_id", flat=True))
    parent_ids = {item.incoming.run["parent_id"] for item in fresh if item.incoming.run.get("parent_id")}
    parents_here = set(Run.objects.filter(pk__in=parent_ids).values_list("pk", flat=True)) | {
        item.incoming.run["id"] for item in fresh
    }
    owner = actor if getattr(actor, "is_authenticated", False) else None
    who = getattr(actor, "username", None) or "an operator's command"
    format_word = "json" if fmt == "jsonl" else "bundle"

    runs, logs, links = _Rows(Run), _Rows(RunLog), _Rows(Run.tags.through)
    tag_links: list[tuple[uuid.UUID, str]] = []
    with_results: list[tuple[Run, _Item]] = []
    in_batch: set[str] = set()
    first_run_id = last_run_id = ""
    for item in fresh:
        meta = item.incoming.run
        run_id = meta["run_id"]
        lines: list[tuple[Any, str, str]] = []
        if run_id in taken or run_id in in_batch:
            run_id = _next_run_id()
            result.renamed += 1
            lines.append((imported_at, LogLevel.INFO,
                          f"Imported as {run_id}: the run id {meta['run_id']} is taken here by another run."))
        in_batch.add(run_id)
        first_run_id = first_run_id or run_id
        last_run_id = run_id
        parent_id = meta.get("parent_id")
        if parent_id and parent_id not in parents_here:
            pending_parents[meta["id"]] = parent_id
        fields = dict(
            id=meta["id"],
            run_id=run_id,
            kind=meta["kind"],
            status=meta["status"],
            trigger=meta["trigger"],
            owner_id=owner.pk if owner is not None else None,
            params=meta["params"],
            params_hash=meta["params_hash"],
            seed=meta.get("seed"),
            metrics=meta.get("metrics", {}),
            checksum="",
            is_favourite=meta.get("is_favourite", False),
            notes=meta.get("notes", ""),
            parent_id=parent_id if parent_id in parents_here else None,
            created_at=meta["created_at"],
            started_at=meta.get("started_at"),
            finished_at=meta.get("finished_at"),
            duration_seconds=meta.get("duration_seconds"),
            progress=meta.get("progress", 100 if meta["status"] == RunStatus.SUCCEEDED else 0),
            heartbeat_at=meta.get("heartbeat_at"),
            error_message=meta.get("error_message", ""),
            code_version=meta.get("code_version", ""),
            worker=meta.get("worker", ""),
            # Whatever the file claims, its results were not computed here.
            origin=RunOrigin.IMPORT.value,
            imported_at=imported_at,
            imported_from=f"{meta['run_id']} ({meta['id']}), {source}, {item.where}"[:300],
            import_format=format_word,
        )
        runs.add(**fields)
        if item.incoming.artifacts:
            with_results.append((Run(**fields), item))
        elif item.incoming.declared_checksum:
            raise ImportRefused(
                f"{item.where.capitalize()}: the run checksum {item.incoming.declared_checksum} is declared "
                "but the document holds no results; the file was altered."
            )
        for created_at, level, message in item.incoming.logs:
            logs.add(run_id=meta["id"], created_at=created_at, level=level, message=message)
        if parent_id and parent_id not in parents_here:
            named = f"{meta['parent']} " if meta.get("parent") else ""
            lines.append((imported_at, LogLevel.INFO,
                          f"Its parent {named}({parent_id}) is not in this installation (yet)."))
        origin = f"; owner in the export: {meta['owner']}" if meta.get("owner") else ""
        lines.append((imported_at, LogLevel.INFO,
                      f"Imported by {who} in a bulk import of {source} ({item.where}){origin}; checksum verified."))
        for created_at, level, message in lines:
            logs.add(run_id=meta["id"], created_at=created_at, level=str(level), message=message[:MAX_LOG_MESSAGE])
        tag_links += [(meta["id"], name) for name in meta.get("tags", [])]

    count = len(runs.rows)
    runs.write()
    if tag_links:
        names = {name for _, name in tag_links}
        Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
        tag_ids = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
        for run_pk, name in tag_links:
            links.add(run_id=run_pk, tag_id=tag_ids[name])
        links.write()
    logs.write()
    for run, item in with_results:
        _store_results(run, item, written)

    result.imported += count
    result.batches += 1
    result.first_run_id = result.first_run_id or first_run_id
    result.last_run_id = last_run_id
    audit_record(
        actor=actor,
        action="run.bulk_import",
        target=source,
        detail={"runs": count, "first": first_run_id, "last": last_run_id,
                "from": batch[0].where, "to": batch[-1].where, "skipped": len(batch) - count},
    )


def _store_results(run: Run, item: _Item, written: list[str]) -> None:
    """A run's results, verified byte for byte as in a single import, then what its kind needs."""
    for incoming_artifact in item.incoming.artifacts:
        data = incoming_artifact.load()
        _verify(f"{item.where}: {incoming_artifact.name}", data, incoming_artifact)
        path = artifact_path(incoming_artifact.sha256)
        from django.core.files.storage import storages

        if settings.ARTIFACT_STORE == RunArtifact.Storage.FILE and not storages["artifacts"].exists(path):
            written.append(path)
        artifact_write(run=run, name=incoming_artifact.name, data=data, content_type=incoming_artifact.content_type)
    stored = list(RunArtifact.objects.filter(run=run))
    checksum = artifacts_checksum(stored) if stored else ""
    if checksum != item.incoming.declared_checksum:
        raise ImportRefused(
            f"{item.where.capitalize()}: the run checksum does not match its results (declared "
            f"{item.incoming.declared_checksum or 'none'}, computed {checksum or 'none'}); the file was altered."
        )
    Run.objects.filter(pk=run.pk).update(checksum=checksum)
    run.checksum = checksum
    run_kind = get_kind(run.kind)
    if run_kind.validate_import is not None:
        problems = run_kind.validate_import(run)
        if problems:
            shown = "; ".join(problems[:MAX_REPORTED_ERRORS])
            raise ImportRefused(
                f"{item.where.capitalize()}: this is not a {run_kind.label.lower()} run this installation can show: {shown}."
            )


def _link_parents(pending: dict[uuid.UUID, uuid.UUID]) -> None:
    """Parents that came later in the file than their children: linked once everything is in."""
    if not pending:
        return
    present = set(Run.objects.filter(pk__in=set(pending.values())).values_list("pk", flat=True))
    for child, parent in pending.items():
        if parent in present:
            Run.objects.filter(pk=child, parent__isnull=True).update(parent_id=parent)


def run_documents_jsonl(runs: Iterable[Run]) -> Iterator[bytes]:
    """Runs as JSON lines, one export document per line (what a bulk import reads)."""
    from runs.services.exchange import run_export_json_stream

    for run in runs:
        document = b"".join(run_export_json_stream(run=run))
        yield json.dumps(json.loads(document), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


__all__ = ["BULK_FORMATS", "BulkImportRefused", "BulkImportResult", "runs_import_bulk", "run_documents_jsonl"]
