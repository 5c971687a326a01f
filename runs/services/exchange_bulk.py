"""Bulk import: many runs from one file, in batches of one transaction each.

The file is either JSON lines, one run document per line (the document of a JSON export,
docs/exchange_format.md), or a zip of run bundles (a "bundle of bundles"). Every document
goes through the checks of a single import (schema, kind, params hash, each result's
size and SHA-256, the run checksum, what its kind needs; a JSON line first through a
lean check that returns what those checks return, or leaves the document to them), then
a batch of runs is written with one COPY per table on PostgreSQL (multi-row INSERTs
elsewhere): runs, tags, log lines, results. A thread reads, checks and makes the rows
of the next batch while the database writes; on PostgreSQL two batches are written at
once, each on its own connection (docs/benchmarks.md, "Bulk import").

- Atomic per batch: a batch is written whole or not at all. A document that fails its
  checks stops the import before its batch is written; the batches before it stay.
- Idempotent: a run whose UUID is already here (or earlier in the file) is skipped, so
  importing the same file again, or again after fixing it, never duplicates.
- Provenance as for a single import: origin IMPORT, `imported_at`, `imported_from`
  naming the file and line; imported results never enter a cache (runs.services.exchange).
"""
from __future__ import annotations

import contextvars
import hashlib
import io
import json
import queue
import re
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from typing import IO, Any, Callable, Iterable, Iterator

import orjson

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connections, router, transaction
from django.db.models import Model
from django.utils import timezone

from accounts import roles
from accounts.services import audit_record
from runs.artifacts import artifact_path, artifact_write, artifacts_checksum
from runs.hashing import params_hash
from runs.kinds import UnknownKindError, get_kind
from runs.models import LogLevel, Run, RunArtifact, RunLog, RunOrigin, RunStatus, Tag
from runs.services.exchange import (
    _FINISHED_VALUES,
    _LEVEL_VALUES,
    _TRIGGER_VALUES,
    FORMAT_VERSION,
    MAX_REPORTED_ERRORS,
    RUN_FORMAT,
    RUN_ID_RE,
    SHA256_RE,
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


@dataclass(slots=True)
class _Item:
    where: str  # "line 12" or "bundle run_x.zip", for messages and imported_from
    incoming: _Incoming
    # Its COPY rows, made while reading (PostgreSQL); None when they depend on what is here
    # (a parent) or on the batch (a run id taken here): then they are made when it is stored.
    run_row: str | None = None
    log_rows: str | None = None
    lean: bool = False  # read by orjson and the lean check: its JSON values are plain ones


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
        name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1][:120] or "a bulk file"
        copy = connections[router.db_for_write(Run)].vendor == "postgresql"
        rows = _RowMaker(actor=actor, source=name, fmt=fmt, imported_at=timezone.now(), copy=copy)
        items = _jsonl_items(source) if fmt == "jsonl" else _bundle_items(source)
        ledger = _Ledger(parallel=_writers() > 1)
        batches = _chunks(items, size, rows.prepare_batch)
        try:
            if ledger.parallel:
                _store_in_parallel(batches, actor=actor, rows=rows, ledger=ledger, result=result)
            else:
                for index, batch in enumerate(batches):
                    ledger.register(index, batch)
                    outcome = _store_batch(batch, index=index, actor=actor, rows=rows, ledger=ledger)
                    outcome.add_to(result)
        except ImportRefused as exc:
            result.seconds = time.perf_counter() - started
            done = (f"{result.imported:,} run(s) of the batches before it were imported" if result.imported
                    else "nothing was imported")
            raise BulkImportRefused(
                f"{exc.message} That batch was not imported; {done} (importing the file again skips them).",
                result=result,
            ) from None
        pending_parents = ledger.pending_parents
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


def _chunks(
    items: Iterator[_Item], size: int, prepare: Callable[[list[_Item]], None] | None = None
) -> Iterator[list[_Item]]:
    """Batches of `size` items, read one batch ahead in a thread of their own: the next batch is
    parsed, checked and `prepare`d (its COPY rows made) while the database writes this one."""
    def batches() -> Iterator[list[_Item]]:
        batch: list[_Item] = []
        for item in items:
            batch.append(item)
            if len(batch) >= size:
                if prepare is not None:
                    prepare(batch)
                yield batch
                batch = []
        if batch:
            if prepare is not None:
                prepare(batch)
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
        finally:
            if prepare is not None:
                connections.close_all()  # the connection `prepare` may have opened in this thread

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
        incoming = lean = None
        # orjson parses about three times faster; what it reads differently from the json module
        # (an integer beyond 64 bits becomes a float) never passes the lean check, and anything
        # orjson refuses, or the lean check does not vouch for, takes the json module and the
        # checks of a single import: the same documents are refused, with the same messages.
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            incoming = lean = _lean_document(document)
        if incoming is None:
            document = _json_line(raw, number)
            # JSON spells a NUL only as \u0000 (a raw one is invalid JSON): most lines need no walk.
            if b"\\u0000" in raw:
                _refuse_nul(document, where)
            incoming = _parse_document(document, with_data=True, where=f"Line {number}: ")
        elif b"\\u0000" in raw:
            _refuse_nul(document, where)
        yield _Item(where, incoming, lean=lean is not None)


def _json_line(raw: bytes, number: int) -> Any:
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise ImportRefused(f"Line {number} is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise ImportRefused(
            f"Line {number}: malformed JSON: {exc.msg} at column {exc.colno} "
            "(a bulk file holds one complete run document per line)."
        ) from None
    except (ValueError, RecursionError) as exc:
        raise ImportRefused(f"Line {number}: malformed JSON: {exc}.") from None


# The lean check: the run document's schema checks of runs.services.exchange (_parse_document)
# written as one straight pass for the documents a bulk file is made of (no results, flat or
# shallow parameters and metrics). It returns exactly what _parse_document returns, or None
# when anything is off or unusual, and the full checks then refuse (or accept) the document
# with their own messages. It never accepts what those checks refuse (tests/runs/
# test_exchange_bulk_lean.py compares the two on valid and broken documents).
_BIG = float(2 ** 63)  # orjson reads a larger integer as a float: such a number goes the json module's way
_MAX_DEPTH = 32
_UTC = dt_timezone.utc
_OPTIONAL_TEXT = (("notes", None), ("error_message", None), ("code_version", 64), ("worker", 200), ("owner", 150))
_fromisoformat = datetime.fromisoformat


def _lean_document(document: Any) -> _Incoming | None:
    try:
        return _lean_document_or_none(document)
    except (ValueError, TypeError, OverflowError, RecursionError):
        return None


def _lean_document_or_none(document: Any) -> _Incoming | None:
    if type(document) is not dict or document.get("format") != RUN_FORMAT or document.get("version") != FORMAT_VERSION:
        return None
    raw, raw_logs, artifacts = document.get("run"), document.get("logs"), document.get("artifacts")
    if type(raw) is not dict or type(raw_logs) is not list or type(artifacts) is not list or artifacts:
        return None
    get = raw.get
    run_uuid, run_id, kind, status, trigger = get("id"), get("run_id"), get("kind"), get("status"), get("trigger")
    params, declared_hash, checksum = get("params"), get("params_hash"), get("checksum")
    if not (type(run_uuid) is str and type(run_id) is str and type(kind) is str and type(status) is str
            and type(trigger) is str and type(params) is dict and type(declared_hash) is str and type(checksum) is str):
        return None
    if (status not in _FINISHED_VALUES or trigger not in _TRIGGER_VALUES or not RUN_ID_RE.fullmatch(run_id)
            or (checksum and not SHA256_RE.fullmatch(checksum))):
        return None
    try:
        kind = get_kind(kind).name
    except UnknownKindError:
        return None
    if not _plain(params, 0):
        return None
    # orjson's sorted compact JSON is the canonical JSON of runs.hashing for most parameters; where
    # it is not (an integral float, a float in exponent notation) the hashes differ and the
    # canonical hash decides. Equal hashes mean equal texts: nothing is accepted that should not be.
    expected = hashlib.sha256(orjson.dumps(params, option=orjson.OPT_SORT_KEYS)).hexdigest()
    if declared_hash != expected:
        expected = params_hash(params)
        if declared_hash != expected:
            return None
    created = _lean_datetime(get("created_at"))
    if created is None:
        return None
    run: dict[str, Any] = {
        "id": uuid.UUID(run_uuid), "run_id": run_id, "kind": kind, "status": status, "trigger": trigger,
        "params": params, "params_hash": expected, "checksum": checksum, "created_at": created,
    }
    for key in ("started_at", "finished_at", "heartbeat_at"):
        value = get(key)
        if value is None:
            run[key] = None
        else:
            moment = _lean_datetime(value)
            if moment is None:
                return None
            run[key] = moment
    value = get("seed")
    if value is not None:
        if type(value) is not int:
            return None
        run["seed"] = value
    value = get("metrics")
    if value is not None:
        if type(value) is not dict or not _plain(value, 0):
            return None
        run["metrics"] = value
    value = get("duration_seconds")
    if value is not None:
        kind_of = type(value)
        if not (kind_of is float and -_BIG < value < _BIG) and kind_of is not int:
            return None
        run["duration_seconds"] = float(value)
    value = get("progress")
    if value is not None:
        if type(value) is not int or not 0 <= value <= 100:
            return None
        run["progress"] = value
    value = get("is_favourite")
    if value is not None:
        if type(value) is not bool:
            return None
        run["is_favourite"] = value
    for key, limit in _OPTIONAL_TEXT:
        value = get(key)
        if value is not None:
            if type(value) is not str or (limit and len(value) > limit):
                return None
            run[key] = value
    value = get("tags")
    if value is not None:
        if type(value) is not list:
            return None
        names = set()
        for name in value:
            if type(name) is not str:
                return None
            name = name.strip()
            if not 0 < len(name) <= 64:
                return None
            names.add(name)
        run["tags"] = sorted(names)
    value = get("parent_id")
    if value is not None:
        if type(value) is not str:
            return None
        run["parent_id"] = uuid.UUID(value)
    value = get("parent")
    if value is not None:
        if type(value) is not str:
            return None
        run["parent"] = value
    logs = []
    for entry in raw_logs:
        if type(entry) is not dict:
            return None
        level, message = entry.get("level"), entry.get("message")
        if type(level) is not str or type(message) is not str or level not in _LEVEL_VALUES:
            return None
        moment = _lean_datetime(entry.get("created_at"))
        if moment is None:
            return None
        logs.append((moment, level, message[:MAX_LOG_MESSAGE]))
    return _Incoming("json", run, logs, [], declared_checksum=checksum)


def _lean_datetime(value: Any) -> datetime | None:
    """What runs.services.exchange._datetime makes of an ISO 8601 text, or None (then the full checks speak)."""
    if type(value) is not str:
        return None
    # django.utils.dateparse.parse_datetime tries datetime.fromisoformat first; its fallback is left to it.
    moment = _fromisoformat(value)
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=_UTC)


def _plain(value: Any, depth: int) -> bool:
    """JSON values only, at most _MAX_DEPTH deep, no float that may be an integer orjson could not hold."""
    if depth > _MAX_DEPTH:
        return False
    for item in (value.values() if type(value) is dict else value):
        kind = type(item)
        if kind is float:
            if not -_BIG < item < _BIG:
                return False
        elif kind is dict or kind is list:
            if not _plain(item, depth + 1):
                return False
        elif not (kind is str or kind is int or kind is bool or item is None):
            return False
    return True


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
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
# What json.dumps(value, ensure_ascii=False, separators=(",", ":")) writes, without its per-call setup.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_NOT_FINITE = {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}


def _copy_text(text: str) -> str:
    """`text` as a field of COPY's text format: backslash, tab, newline and carriage return escaped."""
    if _COPY_SPECIAL.search(text) is None:
        return text
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_value(value: Any) -> str:
    """One value as COPY's text format spells it (what psycopg's write_row would send)."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        return value if _COPY_SPECIAL.search(value) is None else _copy_text(value)
    if kind is bool:
        return "t" if value else "f"
    if kind is int:
        return str(value)
    if kind is float:
        text = repr(value)
        return _NOT_FINITE.get(text, text)
    if kind is datetime:
        return value.isoformat()
    if kind is uuid.UUID:
        return str(value)
    if isinstance(value, str):  # a TextChoices member: its value
        return _copy_text(str(value))
    if isinstance(value, int):
        return str(int(value))
    raise TypeError(f"no COPY spelling for a {kind.__name__}")


class _Table:
    """The columns of one table, in model order, and its rows: COPY text on PostgreSQL (the
    fastest way in), else multi-row INSERTs. Unlike bulk_create, auto_now_add fields keep the
    imported times, and fields a row does not give take their model default (so a column added
    later still fills)."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.auto_created)]
        self.by_name = {f.attname: f for f in self.fields}
        # (name, is JSON, field, the COPY text of a constant default or None)
        self.columns: list[tuple[str, bool, Any, str | None]] = []
        for f in self.fields:
            is_json = f.get_internal_type() == "JSONField"
            constant = None
            if not callable(f.default):
                default = f.get_default()
                constant = _copy_json(default) if is_json else _copy_value(default)
            self.columns.append((f.attname, is_json, f, constant))

    def encode(self, row: dict[str, Any]) -> str:
        """One row of COPY text (with its newline)."""
        out = []
        append, search = out.append, _COPY_SPECIAL.search
        for name, is_json, f, constant in self.columns:
            if name in row:
                value = row[name]
                kind = type(value)
                # The common kinds inline (this runs for every run and log line); the rest in _copy_value.
                if kind is str and not is_json:
                    append(value if search(value) is None else _copy_text(value))
                elif value is None and not is_json:
                    append("\\N")
                elif kind is datetime:
                    append(value.isoformat())
                else:
                    append(_copy_json(value) if is_json else _copy_value(value))
            elif constant is not None:
                append(constant)
            else:  # a callable default is computed per row: a UUID must differ from row to row
                value = f.get_default()
                append(_copy_json(value) if is_json else _copy_value(value))
        return "\t".join(out) + "\n"

    def write(self, text: list[str], rows: list[dict[str, Any]]) -> None:
        """COPY rows (PostgreSQL), or rows as dicts (other databases), on this thread's connection."""
        using = router.db_for_write(self.model)
        connection = connections[using]
        if text:
            data = "".join(text)
            try:
                payload = data.encode("utf-8")
            except UnicodeEncodeError:
                raise ImportRefused(
                    "A document of this batch holds text that is not valid Unicode (a lone surrogate escape)."
                ) from None
            columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
            table = connection.ops.quote_name(self.model._meta.db_table)
            with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(payload)
        if rows:
            objs = [self.model(**self._complete(row)) for row in rows]
            step = max(connection.ops.bulk_batch_size(self.fields, objs), 1)
            for start in range(0, len(objs), step):
                # raw=True: values as given, no pre_save (auto_now_add would stamp "now").
                self.model._base_manager._insert(objs[start:start + step], fields=self.fields, raw=True, using=using)

    def _complete(self, row: dict[str, Any]) -> dict[str, Any]:
        return {name: row[name] if name in row else field.get_default() for name, field in self.by_name.items()}


def _copy_json(value: Any) -> str:
    if type(value) is _JsonText:
        return _copy_text(value)
    return _copy_text(_JSON.encode(value))


class _JsonText(str):
    """A JSON value already written as text (by orjson, for a document the lean check read: no
    NaN, no infinity, no integer beyond 64 bits, so the same JSON the json module writes, up to
    the spelling of a float)."""


class _RowMaker:
    """The rows of an imported run: its Run row and its log lines, the same for every batch of
    one import. Made while the file is read (in the reading thread) when nothing here can change
    them, so that storing a batch is joining text and one COPY per table."""

    def __init__(self, *, actor: Any, source: str, fmt: str, imported_at: Any, copy: bool) -> None:
        owner = actor if getattr(actor, "is_authenticated", False) else None
        self.owner_id = owner.pk if owner is not None else None
        self.who = getattr(actor, "username", None) or "an operator's command"
        self.source = source
        self.format_word = "json" if fmt == "jsonl" else "bundle"
        self.imported_at = imported_at
        self.copy = copy
        self.runs, self.logs, self.links = _Table(Run), _Table(RunLog), _Table(Run.tags.through)
        self.plain_logs = [f.attname for f in self.logs.fields] == ["created_at", "level", "message", "run_id"]

    def prepare_batch(self, batch: list[_Item]) -> None:
        """Make the COPY rows of a batch's runs that are not here yet (on PostgreSQL). Asked on the
        reading thread's own connection; the writing batch asks again and decides, so a run that
        came meanwhile is skipped all the same, and a run without rows gets them made then."""
        if not self.copy:
            return
        here = _present("id", [item.incoming.run["id"] for item in batch])
        for item in batch:
            if item.incoming.run["id"] not in here:
                self.prepare(item)

    def prepare(self, item: _Item) -> None:
        """Make the item's COPY rows ahead, when they can only be what storing it would make."""
        meta = item.incoming.run
        if not self.copy or meta.get("parent_id") or item.incoming.artifacts:
            return
        fields = self.run_fields(item, meta["run_id"], None)
        if item.lean:
            fields["params"] = _JsonText(orjson.dumps(fields["params"]).decode())
            fields["metrics"] = _JsonText(orjson.dumps(fields["metrics"]).decode())
        item.run_row = self.runs.encode(fields)
        if self.plain_logs:
            # The log table's columns as they are today, written directly (three rows a run): the
            # level is one of ours (checked), the time ours or checked, the run id a UUID.
            run_uuid, search = str(meta["id"]), _COPY_SPECIAL.search
            item.log_rows = "".join([
                f"{row['created_at'].isoformat()}\t{row['level']}\t"
                f"{row['message'] if search(row['message']) is None else _copy_text(row['message'])}\t{run_uuid}\n"
                for row in self.log_fields(item, [])
            ])
        else:
            item.log_rows = "".join(self.logs.encode(row) for row in self.log_fields(item, []))

    def run_fields(self, item: _Item, run_id: str, parent_id: uuid.UUID | None) -> dict[str, Any]:
        meta = item.incoming.run
        return dict(
            id=meta["id"],
            run_id=run_id,
            kind=meta["kind"],
            status=meta["status"],
            trigger=meta["trigger"],
            owner_id=self.owner_id,
            params=meta["params"],
            params_hash=meta["params_hash"],
            seed=meta.get("seed"),
            metrics=meta.get("metrics", {}),
            checksum="",
            is_favourite=meta.get("is_favourite", False),
            notes=meta.get("notes", ""),
            parent_id=parent_id,
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
            imported_at=self.imported_at,
            imported_from=f"{meta['run_id']} ({meta['id']}), {self.source}, {item.where}"[:300],
            import_format=self.format_word,
        )

    def log_fields(self, item: _Item, lines: list[str]) -> list[dict[str, Any]]:
        """The document's log lines, then ours: `lines` (what happened to it here), then the import line."""
        meta = item.incoming.run
        rows = [dict(run_id=meta["id"], created_at=created_at, level=level, message=message)
                for created_at, level, message in item.incoming.logs]
        origin = f"; owner in the export: {meta['owner']}" if meta.get("owner") else ""
        imported = f"Imported by {self.who} in a bulk import of {self.source} ({item.where}){origin}; checksum verified."
        lines = [*lines, imported]
        level = str(LogLevel.INFO)
        rows += [dict(run_id=meta["id"], created_at=self.imported_at, level=level, message=message[:MAX_LOG_MESSAGE])
                 for message in lines]
        return rows


@dataclass
class _Outcome:
    """What one batch stored; added to the import's result in file order."""

    imported: int = 0
    skipped: int = 0
    renamed: int = 0
    first_run_id: str = ""
    last_run_id: str = ""

    def add_to(self, result: BulkImportResult) -> None:
        result.imported += self.imported
        result.skipped += self.skipped
        result.renamed += self.renamed
        if self.imported:
            result.batches += 1
            result.first_run_id = result.first_run_id or self.first_run_id
            result.last_run_id = self.last_run_id


class _Ledger:
    """What the batches of one import have claimed, by batch number, so that a batch checks only
    against the batches before it (two batches can be in flight at once on PostgreSQL)."""

    def __init__(self, *, parallel: bool) -> None:
        self.parallel = parallel
        self.first_batch: dict[uuid.UUID, int] = {}  # a run's UUID: the first batch that holds it
        self.run_ids: dict[str, int] = {}  # a run id: the first batch that asks for it (parallel only)
        self.pending_parents: dict[uuid.UUID, uuid.UUID] = {}

    def register(self, index: int, batch: list[_Item]) -> None:
        first = self.first_batch
        for item in batch:
            first.setdefault(item.incoming.run["id"], index)
        if self.parallel:
            for item in batch:
                self.run_ids.setdefault(item.incoming.run["run_id"], index)

    def earlier(self, run_uuid: uuid.UUID, index: int) -> bool:
        return self.first_batch.get(run_uuid, index) < index

    def claimed_before(self, run_id: str, index: int) -> bool:
        """Asked for by a batch before this one that may not be committed yet (parallel only; in
        turn, the batches before are committed and the database answers)."""
        return self.run_ids.get(run_id, index) < index


# Batches written at once on PostgreSQL, each in a transaction of its own on a connection of its
# own: PostgreSQL's work on a batch (COPY into a table of two dozen indexes, the foreign-key
# checks at commit) is the larger part of an import and one backend uses one core. Two, for the
# two cores the installation is sized for; reading and checking runs beside them in a thread.
BULK_WRITERS = 2


def _writers() -> int:
    connection = connections[router.db_for_write(Run)]
    # Inside a transaction (a test, a caller's atomic block) other connections would not see its
    # rows, nor roll back with it: one batch after the other on the caller's connection.
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return BULK_WRITERS


def _store_in_parallel(
    batches: Iterator[list[_Item]], *, actor: Any, rows: "_RowMaker", ledger: _Ledger, result: BulkImportResult
) -> None:
    """Batches written by BULK_WRITERS threads, each on its own connection, in file order of
    dispatch. A batch holding a child run waits until every batch before it is committed (its
    parent may be in one of them). On a refusal, no further batch starts; the ones in flight
    finish (each is still all or nothing) and the first refusal in file order is raised."""
    jobs: queue.Queue[tuple[int, list[_Item]] | None] = queue.Queue()
    done: queue.Queue[tuple[int, _Outcome | None, BaseException | None]] = queue.Queue()
    failed = threading.Event()

    def write() -> None:
        try:
            while (job := jobs.get()) is not None:
                index, batch = job
                if failed.is_set():
                    done.put((index, None, None))
                    continue
                try:
                    done.put((index, _store_batch(batch, index=index, actor=actor, rows=rows, ledger=ledger), None))
                except BaseException as exc:  # raised by the caller's thread, in file order
                    failed.set()
                    done.put((index, None, exc))
        finally:
            connections.close_all()  # this thread's connections

    # Each writer runs in a copy of the caller's context: the audit records of its batches name
    # the caller's surface and address (accounts.console.context), as one batch after the other would.
    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(write,), name=f"bulk-import-writer-{n}", daemon=True)
        for n in range(BULK_WRITERS)
    ]
    for thread in threads:
        thread.start()
    outcomes: dict[int, _Outcome | None] = {}
    errors: dict[int, BaseException] = {}
    in_flight = 0

    def collect() -> None:
        nonlocal in_flight
        index, outcome, exc = done.get()
        in_flight -= 1
        outcomes[index] = outcome
        if exc is not None:
            errors[index] = exc

    try:
        for index, batch in enumerate(batches):
            if failed.is_set():
                break
            ledger.register(index, batch)
            limit = 0 if any(item.incoming.run.get("parent_id") for item in batch) else BULK_WRITERS - 1
            while in_flight > limit:
                collect()
            if failed.is_set():
                break
            jobs.put((index, batch))
            in_flight += 1
    except BaseException as exc:
        # The reading's refusal comes after every batch dispatched before it: those are still written.
        errors[-1] = exc
    finally:
        while in_flight:
            collect()
        for _ in threads:
            jobs.put(None)
        for thread in threads:
            thread.join()
        for index in sorted(outcomes):
            outcome = outcomes[index]
            if outcome is not None:
                outcome.add_to(result)
    if errors:
        first = min(i for i in errors if i >= 0) if any(i >= 0 for i in errors) else -1
        raise errors[first]


def _store_batch(
    batch: list[_Item],
    *,
    index: int,
    actor: Any,
    rows: "_RowMaker",
    ledger: _Ledger,
) -> _Outcome:
    for kind in {item.incoming.run["kind"] for item in batch}:
        run_kind = get_kind(kind)
        if actor is not None and not actor.has_perm(run_kind.view_permission):
            raise ImportRefused(f"You may not import {run_kind.label} runs.")
    written: list[str] = []
    outcome = _Outcome()
    try:
        with transaction.atomic():
            _write_batch(batch, index=index, actor=actor, rows=rows, ledger=ledger, outcome=outcome, written=written)
    except BaseException:
        _remove_files(written)
        raise
    return outcome


def _present(column: str, values: list[Any]) -> set[Any]:
    """The values of `values` that runs here hold in `column` ("id" or "run_id"). On PostgreSQL one
    array parameter (`= ANY(%s)`): the ORM's `__in` of 2,000 values costs more than the query."""
    if not values:
        return set()
    connection = connections[router.db_for_write(Run)]
    if connection.vendor != "postgresql":
        return set(Run.objects.filter(**{f"{column}__in": values}).values_list(column, flat=True))
    table = connection.ops.quote_name(Run._meta.db_table)
    name = connection.ops.quote_name(Run._meta.get_field(column).column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {name} FROM {table} WHERE {name} = ANY(%s)", [list(values)])
        return {row[0] for row in cursor.fetchall()}


def _write_batch(
    batch: list[_Item],
    *,
    index: int,
    actor: Any,
    rows: "_RowMaker",
    ledger: _Ledger,
    outcome: _Outcome,
    written: list[str],
) -> None:
    ids = [item.incoming.run["id"] for item in batch]
    here = _present("id", ids)
    fresh: list[_Item] = []
    seen: set[uuid.UUID] = set()
    for item in batch:
        run_uuid = item.incoming.run["id"]
        if run_uuid in here or run_uuid in seen or ledger.earlier(run_uuid, index):
            outcome.skipped += 1
            continue
        seen.add(run_uuid)
        fresh.append(item)
    if not fresh:
        return
    wanted_ids = [item.incoming.run["run_id"] for item in fresh]
    taken = _present("run_id", wanted_ids)
    if ledger.parallel:
        taken |= {run_id for run_id in wanted_ids if ledger.claimed_before(run_id, index)}
    pending_parents = ledger.pending_parents
    parent_ids = {item.incoming.run["parent_id"] for item in fresh if item.incoming.run.get("parent_id")}
    parents_here = set(Run.objects.filter(pk__in=parent_ids).values_list("pk", flat=True)) if parent_ids else set()
    parents_here |= {item.incoming.run["id"] for item in fresh}
    imported_at = rows.imported_at
    runs, logs, links = rows.runs, rows.logs, rows.links
    # This batch's rows (a batch in flight beside it has its own): COPY text, or dicts for other databases.
    run_text: list[str] = []
    log_text: list[str] = []
    link_text: list[str] = []
    run_rows: list[dict[str, Any]] = []
    log_dicts: list[dict[str, Any]] = []
    link_rows: list[dict[str, Any]] = []
    tag_links: list[tuple[uuid.UUID, str]] = []
    with_results: list[tuple[Run, _Item]] = []
    in_batch: set[str] = set()
    first_run_id = last_run_id = ""
    for item in fresh:
        meta = item.incoming.run
        run_id = meta["run_id"]
        lines: list[str] = []
        if run_id in taken or run_id in in_batch:
            run_id = _next_run_id()
            outcome.renamed += 1
            lines.append(f"Imported as {run_id}: the run id {meta['run_id']} is taken here by another run.")
        in_batch.add(run_id)
        first_run_id = first_run_id or run_id
        last_run_id = run_id
        parent_id = meta.get("parent_id")
        if parent_id and parent_id not in parents_here:
            pending_parents[meta["id"]] = parent_id
            named = f"{meta['parent']} " if meta.get("parent") else ""
            lines.append(f"Its parent {named}({parent_id}) is not in this installation (yet).")
        if not item.incoming.artifacts and item.incoming.declared_checksum:
            raise ImportRefused(
                f"{item.where.capitalize()}: the run checksum {item.incoming.declared_checksum} is declared "
                "but the document holds no results; the file was altered."
            )
        if item.run_row is not None and not lines:
            run_text.append(item.run_row)
            log_text.append(item.log_rows or "")
        else:
            fields = rows.run_fields(item, run_id, parent_id if parent_id in parents_here else None)
            if item.incoming.artifacts:
                with_results.append((Run(**fields), item))
            log_rows = rows.log_fields(item, lines)
            if rows.copy:
                run_text.append(runs.encode(fields))
                log_text.append("".join(logs.encode(row) for row in log_rows))
            else:
                run_rows.append(fields)
                log_dicts += log_rows
        tag_links += [(meta["id"], name) for name in meta.get("tags", ())]

    count = len(fresh)
    runs.write(run_text, run_rows)
    if tag_links:
        names = {name for _, name in tag_links}
        # In sorted order: two batches in flight creating the same new tags wait for each other, never deadlock.
        Tag.objects.bulk_create([Tag(name=name) for name in sorted(names)], ignore_conflicts=True)
        tag_ids = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
        if rows.copy and [f.attname for f in links.fields] == ["run_id", "tag_id"]:
            link_text += [f"{run_pk}\t{tag_ids[name]}\n" for run_pk, name in tag_links]
        elif rows.copy:
            link_text += [links.encode(dict(run_id=run_pk, tag_id=tag_ids[name])) for run_pk, name in tag_links]
        else:
            link_rows += [dict(run_id=run_pk, tag_id=tag_ids[name]) for run_pk, name in tag_links]
        links.write(link_text, link_rows)
    logs.write(log_text, log_dicts)
    for run, item in with_results:
        _store_results(run, item, written)

    outcome.imported = count
    outcome.first_run_id, outcome.last_run_id = first_run_id, last_run_id
    audit_record(
        actor=actor,
        action="run.bulk_import",
        target=rows.source,
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
