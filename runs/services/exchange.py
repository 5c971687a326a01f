"""Export and import of runs: a JSON document, the Parquet results, or a bundle (zip).

Exports are generators of byte chunks, so a run with a million result rows
leaves through a StreamingHttpResponse or a file with flat memory. Imports are
all or nothing: the upload is checked (size, format, schema, every SHA-256 and
the run checksum) and stored in one transaction; artifact files this import
wrote are removed again if it fails. The formats are described in
docs/exchange_format.md.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import re
import tempfile
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from typing import IO, Any, Callable, Iterator

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts import roles
from accounts.services import audit_record
from runs.artifacts import (
    artifact_iter,
    artifact_open,
    artifact_path,
    artifact_write,
    artifacts_checksum,
    paths_in_use,
)
from runs.hashing import params_hash
from runs.kinds import UnknownKindError, get_kind
from runs.models import (
    FINISHED_STATUSES,
    LogLevel,
    Run,
    RunArtifact,
    RunLog,
    RunOrigin,
    RunStatus,
    RunTrigger,
    Tag,
)
from runs.services.lifecycle import MAX_LOG_MESSAGE, _next_run_id, run_log

RUN_FORMAT = "runsight.run"
BUNDLE_FORMAT = "runsight.bundle"
FORMAT_VERSION = 1

EXPORT_FORMATS = ("json", "parquet", "bundle")
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
BUNDLE_MANIFEST = "manifest.json"
BUNDLE_RUN = "run.json"
BUNDLE_RESULTS = "results/"

# Base64 turns every 3 bytes into 4 characters: reading in multiples of 3 lets
# each chunk be encoded on its own and the pieces simply concatenated.
B64_CHUNK = 3 * 256 * 1024
READ_CHUNK = 1024 * 1024
# Members smaller than this cannot inflate into anything harmful, so the ratio
# check spares them (a tiny, very repetitive log would otherwise be a "bomb").
RATIO_FLOOR_BYTES = 1024 * 1024
# Metadata members are read whole; nothing legitimate comes near this.
MAX_METADATA_BYTES = 64 * 1024 * 1024

# Used with fullmatch: "$" alone would let a trailing newline through.
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# A result name becomes a zip member and a download name: no separators, no control characters.
ARTIFACT_NAME_RE = re.compile(r"^(?!\.{1,2}$)[^\x00-\x1f\x7f/\\]{1,200}$")
MAX_REPORTED_ERRORS = 10
# A media type as RFC 9110 spells it (type/subtype, optional parameters), printable ASCII only.
CONTENT_TYPE_RE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]{1,64}/[A-Za-z0-9!#$&^_.+-]{1,64}( *;[\x20-\x7e]*)?$")
# Room for the multipart envelope and the small form fields around an uploaded file.
MULTIPART_SLACK = 64 * 1024
# The choices as plain sets: a bulk import checks them for every run and log line
# (an enum's `.values` is rebuilt on each access).
_STATUS_VALUES = frozenset(RunStatus.values)
_FINISHED_VALUES = frozenset(str(status) for status in FINISHED_STATUSES)
_TRIGGER_VALUES = frozenset(RunTrigger.values)
_LEVEL_VALUES = frozenset(LogLevel.values)


class ExchangeRefused(ValidationError):
    """An export or import that cannot be done; the message says why, for a person."""


class ExportRefused(ExchangeRefused):
    pass


class ExportNotReady(ExportRefused):
    """The run is still pending or running: its results are not final."""


class ImportRefused(ExchangeRefused):
    """The upload is not an importable run. Nothing was written."""


class ImportTooLarge(ImportRefused):
    pass


class ImportKindRequired(ImportRefused):
    """A Parquet file was given without the kind of run it belongs to."""


class ImportConflict(ImportRefused):
    """The run is already here. `existing` is the run that holds its identity."""

    def __init__(self, message: str, *, existing: Run) -> None:
        super().__init__(message)
        self.existing = existing


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Export:
    """A started export: what to call it and the chunks to send."""

    filename: str
    content_type: str
    chunks: Iterator[bytes]


def run_export(*, run: Run, fmt: str, actor: Any = None, artifact: str | None = None) -> Export:
    """Check that `run` can be exported as `fmt` and return the streamed export.

    Every refusal (unknown format, active run, no Parquet results) is raised
    here, before the first byte, so a caller can still answer with an error.
    `actor` None means an operator's command, which may export any run.
    """
    if actor is not None and not (
        roles.can_export_run(actor, run) and Run.objects.visible_to(actor).filter(pk=run.pk).exists()
    ):
        raise PermissionDenied("You may not export this run.")
    if fmt not in EXPORT_FORMATS:
        raise ExportRefused(f"Unknown export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}.")
    if run.is_active:
        # Its results are not final, and an active run could not be imported anywhere.
        raise ExportNotReady(f"{run.run_id} is still {run.get_status_display().lower()}; export it once it has finished.")
    if fmt == "parquet":
        table, parts = run_parquet_table(run=run, name=artifact)
        filename = f"{run.run_id}_{_file_safe(table)}.parquet"
        chunks = artifact_iter(parts[0]) if len(parts) == 1 else _merged_parquet(parts)
        export = Export(filename, PARQUET_CONTENT_TYPE, chunks)
    elif fmt == "json":
        export = Export(f"{run.run_id}.json", "application/json", run_export_json_stream(run=run))
    else:
        export = Export(f"{run.run_id}.zip", "application/zip", run_export_bundle_stream(run=run))
    audit_record(actor=actor, action="run.export", target=run.run_id, detail={"format": fmt})
    return export


def run_parquet_table(*, run: Run, name: str | None = None) -> tuple[str, list[RunArtifact]]:
    """The Parquet result to export: its table name and the artifacts that hold it.

    A table is one `<table>.parquet` artifact, or parts named
    `<table>-00001-of-00004.parquet` and so on, exported as one file. `name` is
    a table or an artifact name. Without it: the table the run's kind names in
    `extra["parquet_table"]`, else the first table by name.
    """
    tables: dict[str, list[RunArtifact]] = {}
    for artifact in run.artifacts.order_by("name"):
        if _is_parquet(artifact):
            tables.setdefault(_table_of(artifact.name), []).append(artifact)
    if not tables:
        raise ExportRefused(f"{run.run_id} has no Parquet results; export it as JSON or as a bundle.")
    if name:
        for table, parts in tables.items():
            if name == table:
                chosen = table
                break
            if any(part.name == name for part in parts):
                label = name[: -len(".parquet")] if name.lower().endswith(".parquet") else name
                return label, [part for part in parts if part.name == name]
        else:
            known = ", ".join(tables)
            raise ExportRefused(f"{run.run_id} has no Parquet result named {name!r} (it has: {known}).")
    else:
        try:
            preferred = get_kind(run.kind).extra.get("parquet_table")
        except UnknownKindError:
            preferred = None
        chosen = preferred if preferred in tables else next(iter(tables))
    parts = tables[chosen]
    if len(parts) > 1:
        _check_parts(run, chosen, parts)
    return chosen, parts


_PART_RE = re.compile(r"^(?P<table>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})\.parquet$", re.IGNORECASE)


def _table_of(name: str) -> str:
    match = _PART_RE.match(name)
    if match:
        return match["table"]
    return name[: -len(".parquet")] if name.lower().endswith(".parquet") else name


def _check_parts(run: Run, table: str, parts: list[RunArtifact]) -> None:
    """All parts present, each a readable Parquet file with the same columns: checked before the first byte."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    numbers = [_PART_RE.match(part.name) for part in parts]
    count = int(numbers[0]["count"]) if all(numbers) else 0
    if not all(numbers) or sorted(int(m["part"]) for m in numbers) != list(range(1, count + 1)):
        raise ExportRefused(f"The parts of {table} in {run.run_id} are incomplete; export it as a bundle.")
    schema = None
    for part in parts:
        try:
            with artifact_open(part) as fh:
                part_schema = pq.read_schema(fh)
        except (pa.ArrowException, OSError) as exc:
            raise ExportRefused(f"{part.name} of {run.run_id} is not readable Parquet: {exc}.") from None
        if schema is None:
            schema = part_schema
        elif not part_schema.equals(schema, check_metadata=False):
            raise ExportRefused(f"The parts of {table} in {run.run_id} differ in their columns; export it as a bundle.")


def _merged_parquet(parts: list[RunArtifact]) -> Iterator[bytes]:
    """The parts as one Parquet file, copied a row group at a time.

    Memory holds one row group of a part (pyarrow reads whole row groups), not the table.
    """
    import pyarrow.parquet as pq

    sink = _ChunkSink()
    writer = None
    for part in parts:
        with artifact_open(part) as fh:
            source = pq.ParquetFile(fh)
            if writer is None:
                writer = pq.ParquetWriter(sink, source.schema_arrow, compression="zstd", compression_level=3)
            for index in range(source.num_row_groups):
                writer.write_table(source.read_row_group(index))
                if chunk := sink.take():
                    yield chunk
    if writer is not None:
        writer.close()
    if chunk := sink.take():
        yield chunk


def run_export_json_stream(*, run: Run) -> Iterator[bytes]:
    """The run as one JSON document: metadata, logs, and each result base64-encoded."""
    yield from _buffered(_document_pieces(run, with_data=True))


def run_export_bundle_stream(*, run: Run) -> Iterator[bytes]:
    """The run as a zip: run.json (metadata and logs), results/<name>, manifest.json.

    The manifest comes last so that it records the digests of the bytes actually
    written; readers find members through the zip's central directory anyway.
    """
    yield from (chunk for chunk in _bundle_pieces(run) if chunk)


def _bundle_pieces(run: Run) -> Iterator[bytes]:
    sink = _ChunkSink()
    date_time = _zip_date_time(run.finished_at or run.created_at)
    members: list[dict[str, Any]] = []
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as bundle:
        info = _zip_info(BUNDLE_RUN, date_time, zipfile.ZIP_DEFLATED)
        digest, size = hashlib.sha256(), 0
        with bundle.open(info, "w") as member:
            for piece in _buffered(_document_pieces(run, with_data=False)):
                member.write(piece)
                digest.update(piece)
                size += len(piece)
                yield sink.take()
        members.append({"name": BUNDLE_RUN, "sha256": digest.hexdigest(), "size_bytes": size})
        for artifact in run.artifacts.order_by("name"):
            # Parquet is compressed already; deflating it again costs time for nothing.
            method = zipfile.ZIP_STORED if _is_parquet(artifact) else zipfile.ZIP_DEFLATED
            info = _zip_info(BUNDLE_RESULTS + artifact.name, date_time, method)
            info.file_size = artifact.size_bytes  # lets zipfile choose zip64 up front
            digest, size = hashlib.sha256(), 0
            with bundle.open(info, "w") as member:
                for block in artifact_iter(artifact):
                    member.write(block)
                    digest.update(block)
                    size += len(block)
                    yield sink.take()
            members.append({"name": info.filename, "sha256": digest.hexdigest(), "size_bytes": size})
        manifest = {
            "format": BUNDLE_FORMAT,
            "version": FORMAT_VERSION,
            "id": str(run.pk),
            "run_id": run.run_id,
            "checksum": run.checksum,
            "members": members,
        }
        bundle.writestr(
            _zip_info(BUNDLE_MANIFEST, date_time, zipfile.ZIP_DEFLATED),
            json.dumps(manifest, indent=2, ensure_ascii=False).encode(),
        )
    yield sink.take()


def run_export_record(run: Run) -> dict[str, Any]:
    """The run's metadata as it appears under "run" in an export."""
    return {
        "id": str(run.pk),
        "run_id": run.run_id,
        "kind": run.kind,
        "status": run.status,
        "trigger": run.trigger,
        "owner": run.owner.username if run.owner_id else None,
        "params": run.params,
        "params_hash": run.params_hash,
        "seed": run.seed,
        "metrics": run.metrics,
        "checksum": run.checksum,
        "is_favourite": run.is_favourite,
        "tags": sorted(run.tags.values_list("name", flat=True)),
        "notes": run.notes,
        "parent": run.parent.run_id if run.parent_id else None,
        "parent_id": str(run.parent_id) if run.parent_id else None,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_seconds": run.duration_seconds,
        "progress": run.progress,
        "heartbeat_at": _iso(run.heartbeat_at),
        "error_message": run.error_message,
        "code_version": run.code_version,
        "worker": run.worker,
        # Provenance, for people and tools reading the export. An import never takes it
        # from the file: whatever the file says, the imported run's origin is IMPORT.
        "origin": run.origin,
        "imported_at": _iso(run.imported_at),
        "imported_from": run.imported_from,
    }


def _document_pieces(run: Run, *, with_data: bool) -> Iterator[bytes]:
    """The JSON document in pieces: one line per log and per result, result data in chunks."""
    head = {"format": RUN_FORMAT, "version": FORMAT_VERSION, "run": run_export_record(run)}
    yield _dumps(head)[:-1].encode() + b',\n"logs": ['
    logs = RunLog.objects.filter(run=run).order_by("id").values_list("created_at", "level", "message")
    separator = b"\n"
    for created_at, level, message in logs.iterator(chunk_size=2000):
        yield separator + _dumps({"created_at": _iso(created_at), "level": level, "message": message}).encode()
        separator = b",\n"
    yield b'\n],\n"artifacts": ['
    separator = b"\n"
    for artifact in run.artifacts.order_by("name"):
        entry = {
            "name": artifact.name,
            "content_type": artifact.content_type,
            "sha256": artifact.sha256,
            "size_bytes": artifact.size_bytes,
        }
        if not with_data:
            yield separator + _dumps(entry).encode()
        else:
            entry["encoding"] = "base64"
            yield separator + _dumps(entry)[:-1].encode() + b',"data":"'
            yield from _base64_chunks(artifact)
            yield b'"}'
        separator = b",\n"
    yield b"\n]}\n"


def _buffered(pieces: Iterator[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    """Gather small pieces (one per log line) into chunks of about `size` bytes."""
    pending: list[bytes] = []
    held = 0
    for piece in pieces:
        pending.append(piece)
        held += len(piece)
        if held >= size:
            yield b"".join(pending)
            pending, held = [], 0
    if pending:
        yield b"".join(pending)


def _base64_chunks(artifact: RunArtifact) -> Iterator[bytes]:
    pending = b""
    for block in artifact_iter(artifact, B64_CHUNK):
        pending += block
        whole = len(pending) - len(pending) % 3
        if whole:
            yield base64.b64encode(pending[:whole])
            pending = pending[whole:]
    if pending:
        yield base64.b64encode(pending)


class _ChunkSink(io.RawIOBase):
    """A write-only, non-seekable stream: zipfile or pyarrow writes into it, a generator drains it."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def _zip_info(name: str, date_time: tuple[int, ...], method: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.compress_type = method
    info.external_attr = 0o644 << 16
    return info


def _zip_date_time(moment: datetime | None) -> tuple[int, ...]:
    # The run's own time, not "now": exporting the same run twice gives the same bytes.
    moment = (moment or timezone.now()).astimezone(dt_timezone.utc)
    return max((moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second), (1980, 1, 1, 0, 0, 0))


def _is_parquet(artifact: RunArtifact) -> bool:
    return artifact.name.lower().endswith(".parquet") or "parquet" in artifact.content_type.lower()


def _file_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------
@dataclass
class ImportResult:
    """What an import stored, for the caller's summary."""

    run: Run
    format: str
    artifacts: int
    bytes: int
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        line = (
            f"Imported {self.run.run_id} ({self.run.pk}) from {self.format}: "
            f"{self.artifacts} artifact(s), {self.bytes:,} bytes, checksum {self.run.checksum or 'none'}"
        )
        return " ".join([line + ".", *self.notes])


@dataclass
class _IncomingArtifact:
    name: str
    content_type: str
    sha256: str
    size_bytes: int
    # Returns the verified bytes; loads them only when the import stores them.
    load: Callable[[], bytes]


@dataclass
class _Incoming:
    format: str
    run: dict[str, Any]
    logs: list[tuple[datetime, str, str]]
    artifacts: list[_IncomingArtifact]
    declared_checksum: str


def run_import(
    *,
    file: IO[bytes] | bytes,
    actor: Any,
    as_new: bool = False,
    kind: str | None = None,
    filename: str = "",
) -> ImportResult:
    """Import a run from a JSON export, a bundle or a Parquet file of results.

    The format is read from the content, never from the name. A JSON or bundle
    import keeps the run's UUID, run id and trigger, and is refused with
    ImportConflict if that UUID is already here; `as_new` imports a copy under
    a fresh identity instead. A Parquet file holds results only: it becomes a
    new run of `kind`. `actor` None means an operator's command.

    Not decorated with @transaction.atomic: the rows are written in an atomic
    block inside, and artifact files written for them are removed once that
    block has rolled back, which a decorator could not do.
    """
    if actor is not None and not roles.can_import_runs(actor):
        raise PermissionDenied("You may not import runs.")
    source = _as_seekable(file)
    try:
        fmt = _detect_format(source)
        if fmt == "bundle":
            try:
                bundle = zipfile.ZipFile(source)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
                raise ImportRefused(f"The bundle is not a readable zip file ({exc}).") from None
            with bundle:
                return _import(_read_bundle(bundle), actor=actor, as_new=as_new)
        if fmt == "json":
            return _import(_read_json(source), actor=actor, as_new=as_new)
        return _import(_read_parquet(source, kind=kind, filename=filename), actor=actor, as_new=True)
    finally:
        if source is not file:
            source.close()


def import_upload_refusal(content_length: Any) -> str | None:
    """Why an upload announcing `content_length` bytes is refused before it is read, or None.

    Lets the pages and the API answer 413 before Django parses the multipart
    body and spools the file to disk. The exact size is checked again on the file.
    """
    try:
        declared = int(content_length or 0)
    except (TypeError, ValueError):
        return None
    limit = settings.RUN_IMPORT_MAX_BYTES
    if declared > limit + MULTIPART_SLACK:
        return f"The upload is {declared:,} bytes; imports are limited to {limit:,} bytes (setting RUN_IMPORT_MAX_BYTES)."
    return None


def _as_seekable(file: IO[bytes] | bytes) -> IO[bytes]:
    """The upload as a seekable file no larger than RUN_IMPORT_MAX_BYTES."""
    limit = settings.RUN_IMPORT_MAX_BYTES
    if isinstance(file, (bytes, bytearray, memoryview)):
        file = io.BytesIO(bytes(file))
    seekable = False
    try:
        seekable = file.seekable()
    except (AttributeError, ValueError):
        pass
    if seekable:
        file.seek(0, os.SEEK_END)
        size = file.tell()
        file.seek(0)
        if size > limit:
            raise ImportTooLarge(_too_large(size, limit))
        return file
    # A pipe (stdin): copy it aside, counting, and stop as soon as it is too big.
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    copied = 0
    while block := file.read(READ_CHUNK):
        copied += len(block)
        if copied > limit:
            spool.close()
            raise ImportTooLarge(_too_large(copied, limit, at_least=True))
        spool.write(block)
    spool.seek(0)
    return spool


def _too_large(size: int, limit: int, at_least: bool = False) -> str:
    return (
        f"The file is {'over ' if at_least else ''}{size:,} bytes; imports are limited to {limit:,} bytes "
        "(setting RUN_IMPORT_MAX_BYTES)."
    )


def _detect_format(source: IO[bytes]) -> str:
    head = source.read(1024)
    source.seek(0)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "bundle"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "json"
    if not head:
        raise ImportRefused("The file is empty.")
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise ImportRefused(
            "The file is a Python pickle. Pickles are never loaded (unpickling can run code); "
            "import a JSON export, a bundle (.zip) or a Parquet file."
        )
    raise ImportRefused(
        "Unknown file format: expected a Runsight JSON export, a bundle (.zip) or a Parquet file "
        "(CSV, pickles and other formats are not imported)."
    )


# --- JSON --------------------------------------------------------------------
def _read_json(source: IO[bytes]) -> _Incoming:
    raw = source.read()
    try:
        document = json.loads(raw)
    except UnicodeDecodeError:
        raise ImportRefused("Malformed JSON: the file is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise ImportRefused(f"Malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    except (ValueError, RecursionError) as exc:
        raise ImportRefused(f"Malformed JSON: {exc}.") from None
    del raw
    _refuse_nul(document, "the file")
    return _parse_document(document, with_data=True, where="")


def _refuse_nul(document: Any, where: str) -> None:
    """Refuse a NUL character in any key or text: no field of ours holds one and PostgreSQL cannot store it."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ImportRefused(f"Malformed JSON: {where} holds a NUL character (\\u0000), which no field may contain.")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _decode_base64(entry: dict[str, Any], where: str) -> Callable[[], bytes]:
    def load() -> bytes:
        text = entry.pop("data")  # drop the text once decoded: only one copy in memory
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ImportRefused(f"{where}.data is not valid base64.") from None

    return load


# --- Bundle ------------------------------------------------------------------
def _read_bundle(bundle: zipfile.ZipFile) -> _Incoming:
    limit = settings.RUN_IMPORT_MAX_BYTES
    infos = bundle.infolist()
    if len(infos) > settings.RUN_IMPORT_MAX_MEMBERS:
        raise ImportRefused(
            f"The bundle holds {len(infos)} members; at most {settings.RUN_IMPORT_MAX_MEMBERS} are allowed "
            "(setting RUN_IMPORT_MAX_MEMBERS)."
        )
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        if _unsafe_member_name(name):
            raise ImportRefused(f"The bundle holds a member with an unsafe name {name!r} (absolute or with '..').")
        if name in members:
            raise ImportRefused(f"The bundle holds the member {name!r} twice.")
        if info.flag_bits & 0x1:
            raise ImportRefused(f"The bundle member {name!r} is encrypted.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ImportRefused(f"The bundle member {name!r} uses a compression method other than stored or deflated.")
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > settings.RUN_IMPORT_MAX_RATIO * max(info.compress_size, 1):
            raise ImportRefused(
                f"The bundle member {name!r} inflates {info.file_size / max(info.compress_size, 1):,.0f} times "
                f"its compressed size; at most {settings.RUN_IMPORT_MAX_RATIO} is allowed (setting RUN_IMPORT_MAX_RATIO)."
            )
        total += info.file_size
        members[name] = info
    if total > limit:
        raise ImportTooLarge(
            f"The bundle inflates to {total:,} bytes; imports are limited to {limit:,} bytes (setting RUN_IMPORT_MAX_BYTES)."
        )
    members.pop(BUNDLE_RESULTS, None)  # a directory entry some zip tools add
    for required in (BUNDLE_MANIFEST, BUNDLE_RUN):
        if required not in members:
            raise ImportRefused(f"The bundle has no {required}; it is not a Runsight run bundle.")
    unexpected = sorted(n for n in members if n not in (BUNDLE_MANIFEST, BUNDLE_RUN) and not n.startswith(BUNDLE_RESULTS))
    if unexpected:
        raise ImportRefused(f"The bundle holds unexpected members: {', '.join(unexpected)}.")

    budget = _Budget(limit)
    manifest = _load_json_member(bundle, members[BUNDLE_MANIFEST], budget)
    listed = _check_manifest(manifest)
    if set(listed) != set(members) - {BUNDLE_MANIFEST}:
        missing = sorted(set(listed) - set(members))
        extra = sorted(set(members) - set(listed) - {BUNDLE_MANIFEST})
        raise ImportRefused(
            "The manifest does not match the bundle's members"
            + (f"; listed but absent: {', '.join(missing)}" if missing else "")
            + (f"; present but not listed: {', '.join(extra)}" if extra else "")
            + "."
        )
    run_bytes = _read_member(bundle, members[BUNDLE_RUN], budget)
    _verify(BUNDLE_RUN, run_bytes, listed[BUNDLE_RUN])
    try:
        document = json.loads(run_bytes)
    except (ValueError, RecursionError) as exc:
        raise ImportRefused(f"{BUNDLE_RUN} is malformed JSON: {exc}.") from None
    _refuse_nul(document, BUNDLE_RUN)
    incoming = _parse_document(document, with_data=False, where=f"{BUNDLE_RUN}: ")
    incoming.format = "bundle"
    if manifest["checksum"] != incoming.declared_checksum:
        raise ImportRefused(
            f"The manifest's run checksum {manifest['checksum']!r} differs from the one in {BUNDLE_RUN} "
            f"({incoming.declared_checksum!r}); the bundle was altered."
        )
    if manifest["id"] != str(incoming.run["id"]) or manifest["run_id"] != incoming.run["run_id"]:
        raise ImportRefused(f"The manifest names another run than {BUNDLE_RUN}; the bundle was altered.")
    described = {BUNDLE_RESULTS + a.name for a in incoming.artifacts}
    results = {n for n in listed if n.startswith(BUNDLE_RESULTS)}
    if described != results:
        raise ImportRefused(
            f"The results in the bundle ({', '.join(sorted(results)) or 'none'}) are not the ones {BUNDLE_RUN} "
            f"describes ({', '.join(sorted(described)) or 'none'})."
        )
    for artifact in incoming.artifacts:
        member = BUNDLE_RESULTS + artifact.name
        if listed[member]["sha256"] != artifact.sha256 or listed[member]["size_bytes"] != artifact.size_bytes:
            raise ImportRefused(f"The manifest and {BUNDLE_RUN} disagree on {member}; the bundle was altered.")
        artifact.load = _member_loader(bundle, members[member], budget)
    return incoming


class _Budget:
    """Bytes left to inflate: the declared sizes were checked, the real ones are counted."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise ImportTooLarge(
                f"The bundle inflates beyond {settings.RUN_IMPORT_MAX_BYTES:,} bytes (setting RUN_IMPORT_MAX_BYTES)."
            )


def _unsafe_member_name(name: str) -> bool:
    if not name or "\x00" in name:
        return True
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return True
    return any(part == ".." for part in re.split(r"[\\/]", name))


def _read_member(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> bytes:
    out = bytearray()
    try:
        with bundle.open(info) as member:
            while block := member.read(READ_CHUNK):
                out += block
                budget.spend(len(block))
                if len(out) > info.file_size:
                    raise ImportRefused(f"The bundle member {info.filename!r} is larger than its zip entry says.")
    except ImportRefused:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
        raise ImportRefused(f"The bundle member {info.filename!r} cannot be read: {exc}.") from None
    return bytes(out)


def _member_loader(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> Callable[[], bytes]:
    return lambda: _read_member(bundle, info, budget)


def _load_json_member(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> Any:
    if info.file_size > MAX_METADATA_BYTES:
        raise ImportRefused(f"{info.filename} is too large ({info.file_size:,} bytes).")
    raw = _read_member(bundle, info, budget)
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ImportRefused(f"{info.filename} is malformed JSON: {exc}.") from None
    _refuse_nul(document, info.filename)
    return document


def _check_manifest(manifest: Any) -> dict[str, dict[str, Any]]:
    """Validate the manifest; return its members by name."""
    errors = _Errors(f"{BUNDLE_MANIFEST}: ")
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise ImportRefused(f"{BUNDLE_MANIFEST} is not a Runsight bundle manifest (format {BUNDLE_FORMAT!r} expected).")
    _check_version(manifest.get("version"), f"{BUNDLE_MANIFEST}: ")
    errors.typed(manifest, "id", str)
    errors.typed(manifest, "run_id", str)
    errors.typed(manifest, "checksum", str)
    errors.typed(manifest, "members", list)
    errors.raise_any()
    listed: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(manifest["members"]):
        where = f"members[{index}]"
        if not isinstance(entry, dict):
            errors.add(f"{where} must be an object")
            continue
        errors.typed(entry, "name", str, where)
        errors.typed(entry, "sha256", str, where)
        errors.typed(entry, "size_bytes", int, where)
        if isinstance(entry.get("name"), str):
            if entry["name"] in listed:
                errors.add(f"{where}.name {entry['name']!r} is listed twice")
            listed[entry["name"]] = entry
    errors.raise_any()
    return listed


# --- Parquet -----------------------------------------------------------------
def _read_parquet(source: IO[bytes], *, kind: str | None, filename: str) -> _Incoming:
    if not kind:
        raise ImportKindRequired(
            "A Parquet file holds results only: say which kind of run it is (the kind field of the import "
            "page and API, or --kind of import_run)."
        )
    try:
        run_kind = get_kind(kind)
    except UnknownKindError as exc:
        raise ImportRefused(str(exc)) from None
    data = source.read()
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        rows = pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ImportRefused(f"The file starts like Parquet but cannot be read as Parquet: {exc}.") from None
    base = os.path.basename((filename or "").replace("\\", "/"))
    name = base if base.lower().endswith(".parquet") and ARTIFACT_NAME_RE.fullmatch(base) else "results.parquet"
    digest = hashlib.sha256(data).hexdigest()
    now = timezone.now()
    run = {
        "id": uuid.uuid4(),
        "run_id": None,
        "kind": run_kind.name,
        "status": RunStatus.SUCCEEDED,
        "trigger": RunTrigger.IMPORT,
        "params": {},
        "params_hash": params_hash({}),
        "metrics": {},
        "created_at": now,
        "finished_at": now,
        "progress": 100,
        "note": f"Imported from a Parquet file of {rows:,} rows ({name}): data only, no parameters or metrics.",
        "file_name": name,
    }
    artifact = _IncomingArtifact(name, PARQUET_CONTENT_TYPE, digest, len(data), lambda: data)
    # Its checksum is computed from the one artifact, as a finished run's would be.
    return _Incoming("parquet", run, [], [artifact], declared_checksum="")


# --- Schema of the run document ----------------------------------------------
class _Errors:
    """Collects what is wrong with a document so that one refusal names it all."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def typed(self, obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str = "", *, required: bool = True) -> bool:
        path = f"{where}.{key}" if where else key
        if key not in obj:
            if required:
                self.add(f"{path} is missing")
            return False
        value = obj[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, (int, float), (float, int)))
        if not ok:
            names = " or ".join(t.__name__ for t in (kind if isinstance(kind, tuple) else (kind,)))
            self.add(f"{path} must be {_TYPE_WORDS.get(names, names)}, not {_json_type(value)}")
        return ok

    def raise_any(self) -> None:
        if self.items:
            shown = self.items[:MAX_REPORTED_ERRORS]
            more = len(self.items) - len(shown)
            text = "wrong schema: " + "; ".join(shown) + (f"; and {more} more" if more > 0 else "") + "."
            raise ImportRefused(_sentence(self.prefix, text))


_TYPE_WORDS = {
    "str": "a string",
    "int": "a whole number",
    "int or float": "a number",
    "dict": "an object",
    "list": "a list",
    "bool": "true or false",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def _check_version(version: Any, prefix: str) -> None:
    if version != FORMAT_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            raise ImportRefused(
                _sentence(prefix, f"format version {version} is newer than this installation reads ({FORMAT_VERSION}).")
            )
        raise ImportRefused(_sentence(prefix, f"unsupported format version {version!r} (expected {FORMAT_VERSION})."))


def _sentence(prefix: str, text: str) -> str:
    """`text` after a "file: " prefix, or as a sentence of its own."""
    return prefix + text if prefix else text[:1].upper() + text[1:]


def _parse_document(document: Any, *, with_data: bool, where: str) -> _Incoming:
    if not isinstance(document, dict) or document.get("format") != RUN_FORMAT:
        raise ImportRefused(_sentence(where, f"not a Runsight run export: the format marker {RUN_FORMAT!r} is missing."))
    _check_version(document.get("version"), where)
    errors = _Errors(where)
    has_run = errors.typed(document, "run", dict)
    has_logs = errors.typed(document, "logs", list)
    has_artifacts = errors.typed(document, "artifacts", list)
    run = _parse_run(document["run"], errors) if has_run else {}
    logs = _parse_logs(document["logs"], errors) if has_logs else []
    artifacts = _parse_artifacts(document["artifacts"], errors, with_data=with_data) if has_artifacts else []
    errors.raise_any()
    return _Incoming("json", run, logs, artifacts, declared_checksum=run["checksum"])


def _parse_run(raw: dict[str, Any], errors: _Errors) -> dict[str, Any]:
    run: dict[str, Any] = {}
    w = "run"
    if errors.typed(raw, "id", str, w):
        try:
            run["id"] = uuid.UUID(raw["id"])
        except ValueError:
            errors.add(f"run.id {raw['id']!r} is not a UUID")
    if errors.typed(raw, "run_id", str, w):
        if RUN_ID_RE.fullmatch(raw["run_id"]):
            run["run_id"] = raw["run_id"]
        else:
            errors.add("run.run_id must be 1 to 40 letters, digits, '_', '.' or '-'")
    if errors.typed(raw, "kind", str, w):
        try:
            run["kind"] = get_kind(raw["kind"]).name
        except UnknownKindError as exc:
            errors.add(f"run.kind: {exc}")
    if errors.typed(raw, "status", str, w):
        if raw["status"] not in _STATUS_VALUES:
            errors.add(f"run.status must be one of {', '.join(RunStatus.values)}")
        elif raw["status"] not in _FINISHED_VALUES:
            errors.add(f"run.status is {raw['status']}: only finished runs can be imported")
        else:
            run["status"] = raw["status"]
    if errors.typed(raw, "trigger", str, w):
        if raw["trigger"] in _TRIGGER_VALUES:
            run["trigger"] = raw["trigger"]
        else:
            errors.add(f"run.trigger must be one of {', '.join(RunTrigger.values)}")
    if errors.typed(raw, "params", dict, w) & errors.typed(raw, "params_hash", str, w):
        try:
            expected = params_hash(raw["params"])
        except (TypeError, ValueError) as exc:
            errors.add(f"run.params cannot be hashed: {exc}")
        else:
            if raw["params_hash"] != expected:
                errors.add("run.params_hash does not match run.params")
            run["params"], run["params_hash"] = raw["params"], expected
    if errors.typed(raw, "checksum", str, w):
        if raw["checksum"] and not SHA256_RE.fullmatch(raw["checksum"]):
            errors.add("run.checksum must be a SHA-256 in lowercase hex, or empty")
        run["checksum"] = raw["checksum"]
    created = _datetime(raw, "created_at", errors, required=True)
    if created:
        run["created_at"] = created
    for key in ("started_at", "finished_at", "heartbeat_at"):
        run[key] = _datetime(raw, key, errors, required=False)
    if raw.get("seed") is not None and errors.typed(raw, "seed", int, w):
        run["seed"] = raw["seed"]
    if raw.get("metrics") is not None and errors.typed(raw, "metrics", dict, w):
        run["metrics"] = raw["metrics"]
    if raw.get("duration_seconds") is not None and errors.typed(raw, "duration_seconds", (int, float), w):
        run["duration_seconds"] = float(raw["duration_seconds"])
    if raw.get("progress") is not None and errors.typed(raw, "progress", int, w):
        if 0 <= raw["progress"] <= 100:
            run["progress"] = raw["progress"]
        else:
            errors.add("run.progress must be between 0 and 100")
    if raw.get("is_favourite") is not None and errors.typed(raw, "is_favourite", bool, w):
        run["is_favourite"] = raw["is_favourite"]
    for key, limit in (("notes", None), ("error_message", None), ("code_version", 64), ("worker", 200), ("owner", 150)):
        if raw.get(key) is not None and errors.typed(raw, key, str, w):
            if limit and len(raw[key]) > limit:
                errors.add(f"run.{key} is longer than {limit} characters")
            else:
                run[key] = raw[key]
    if raw.get("tags") is not None and errors.typed(raw, "tags", list, w):
        if all(isinstance(t, str) and 0 < len(t.strip()) <= 64 for t in raw["tags"]):
            run["tags"] = sorted({t.strip() for t in raw["tags"]})
        else:
            errors.add("run.tags must be a list of names of 1 to 64 characters")
    if raw.get("parent_id") is not None and errors.typed(raw, "parent_id", str, w):
        try:
            run["parent_id"] = uuid.UUID(raw["parent_id"])
        except ValueError:
            errors.add(f"run.parent_id {raw['parent_id']!r} is not a UUID")
    if raw.get("parent") is not None and errors.typed(raw, "parent", str, w):
        run["parent"] = raw["parent"]
    return run


def _datetime(raw: dict[str, Any], key: str, errors: _Errors, *, required: bool) -> datetime | None:
    value = raw.get(key)
    if value is None:
        if required:
            errors.add(f"run.{key} is missing")
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        errors.add(f"run.{key} must be an ISO 8601 date and time")
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt_timezone.utc)


def _parse_logs(raw: list[Any], errors: _Errors) -> list[tuple[datetime, str, str]]:
    logs = []
    for index, entry in enumerate(raw):
        where = f"logs[{index}]"
        if not isinstance(entry, dict):
            errors.add(f"{where} must be an object")
            continue
        ok = errors.typed(entry, "level", str, where) & errors.typed(entry, "message", str, where)
        if ok and entry["level"] not in _LEVEL_VALUES:
            errors.add(f"{where}.level must be one of {', '.join(LogLevel.values)}")
            ok = False
        created = parse_datetime(entry["created_at"]) if isinstance(entry.get("created_at"), str) else None
        if created is None:
            errors.add(f"{where}.created_at must be an ISO 8601 date and time")
        elif ok:
            created = created if timezone.is_aware(created) else timezone.make_aware(created, dt_timezone.utc)
            logs.append((created, entry["level"], entry["message"][:MAX_LOG_MESSAGE]))
        if len(errors.items) > MAX_REPORTED_ERRORS:
            break
    return logs


def _parse_artifacts(raw: list[Any], errors: _Errors, *, with_data: bool) -> list[_IncomingArtifact]:
    artifacts: list[_IncomingArtifact] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"artifacts[{index}]"
        if not isinstance(entry, dict):
            errors.add(f"{where} must be an object")
            continue
        ok = errors.typed(entry, "name", str, where)
        ok &= errors.typed(entry, "content_type", str, where)
        ok &= errors.typed(entry, "sha256", str, where)
        ok &= errors.typed(entry, "size_bytes", int, where)
        if with_data:
            ok &= errors.typed(entry, "data", str, where)
            if entry.get("encoding", "base64") != "base64":
                errors.add(f"{where}.encoding must be \"base64\"")
                ok = False
        if not ok:
            continue
        name = entry["name"]
        if not ARTIFACT_NAME_RE.fullmatch(name) or _unsafe_member_name(name):
            errors.add(f"{where}.name {name!r} is not a valid result name (no '/', '\\', '..' or control characters)")
        elif name in seen:
            errors.add(f"{where}.name {name!r} appears twice")
        if not SHA256_RE.fullmatch(entry["sha256"]):
            errors.add(f"{where}.sha256 must be a SHA-256 in lowercase hex")
        if not 0 <= entry["size_bytes"] <= settings.RUN_IMPORT_MAX_BYTES:
            errors.add(f"{where}.size_bytes is out of range")
        if len(entry["content_type"]) > 100:
            errors.add(f"{where}.content_type is longer than 100 characters")
        elif not CONTENT_TYPE_RE.fullmatch(entry["content_type"]):
            # Never served as given (downloads use our own list), but a CR or LF here could only be an attack.
            errors.add(f"{where}.content_type {entry['content_type']!r} is not a media type (type/subtype, printable)")
        seen.add(name)
        load = _decode_base64(entry, where) if with_data else _missing_bytes(name)
        artifacts.append(_IncomingArtifact(name, entry["content_type"], entry["sha256"], entry["size_bytes"], load))
    return artifacts


def _missing_bytes(name: str) -> Callable[[], bytes]:
    def load() -> bytes:
        raise ImportRefused(f"The bytes of {name} are missing.")

    return load


def _verify(name: str, data: bytes, expected: dict[str, Any] | _IncomingArtifact) -> None:
    sha = expected["sha256"] if isinstance(expected, dict) else expected.sha256
    size = expected["size_bytes"] if isinstance(expected, dict) else expected.size_bytes
    if len(data) != size:
        raise ImportRefused(f"{name} is {len(data):,} bytes, not the {size:,} declared; the file was altered or truncated.")
    if hashlib.sha256(data).hexdigest() != sha:
        raise ImportRefused(f"The SHA-256 of {name} does not match the one declared; the file was altered.")


# --- Storing -----------------------------------------------------------------
def _import(incoming: _Incoming, *, actor: Any, as_new: bool) -> ImportResult:
    run_kind = get_kind(incoming.run["kind"])
    if actor is not None and not actor.has_perm(run_kind.view_permission):
        raise PermissionDenied(f"You may not import {run_kind.label} runs.")
    written: list[str] = []
    try:
        with transaction.atomic():
            return _store(incoming, actor=actor, as_new=as_new, written=written)
    except IntegrityError:
        # Lost a race with a concurrent import of the same run.
        _remove_files(written)
        existing = Run.objects.filter(pk=incoming.run["id"]).first()
        if existing is not None:
            raise ImportConflict(_exists_message(existing), existing=existing) from None
        raise ImportRefused("The run could not be stored: another import took its identity at the same time.") from None
    except BaseException:
        _remove_files(written)
        raise


def _store(incoming: _Incoming, *, actor: Any, as_new: bool, written: list[str]) -> ImportResult:
    meta = incoming.run
    notes: list[str] = []
    log_lines: list[str] = []
    original = Run.objects.filter(pk=meta["id"]).first()
    # Times: a run keeps its original created/started/finished times (they describe its
    # execution, wherever it ran); imported_at records when it arrived here. One rule for
    # every import, so "started" never precedes "created".
    imported_at = timezone.now()
    created_at = meta["created_at"]
    if incoming.format == "parquet":
        run_uuid, run_id, trigger, parent = meta["id"], _next_run_id(), RunTrigger.IMPORT, None
        imported_from = f"a Parquet file, {meta['file_name']}"
        log_lines.append(meta["note"])
    elif as_new:
        run_uuid, run_id, trigger = uuid.uuid4(), _next_run_id(), RunTrigger.IMPORT
        parent = original
        source = f"{meta['run_id']} ({meta['id']})"
        imported_from = f"a copy of {source}, {incoming.format} export"
        if original is None:
            meta["notes"] = (meta.get("notes", "") + f"\nImported as a copy of {source}, which is not in this installation.").strip()
        log_lines.append(f"Imported as a new run, a copy of {source}.")
    else:
        if original is not None:
            raise ImportConflict(_exists_message(original), existing=original)
        run_uuid, run_id, trigger = meta["id"], meta["run_id"], meta["trigger"]
        imported_from = f"{meta['run_id']} ({meta['id']}), {incoming.format} export"
        parent = Run.objects.filter(pk=meta["parent_id"]).first() if meta.get("parent_id") else None
        if meta.get("parent_id") and parent is None:
            named = f"{meta['parent']} " if meta.get("parent") else ""
            log_lines.append(f"Its parent {named}({meta['parent_id']}) is not in this installation.")
        if Run.objects.filter(run_id=run_id).exists():
            run_id = _next_run_id()
            notes.append(f"Its run id {meta['run_id']} is taken here by another run, so it was imported as {run_id}.")
            log_lines.append(f"Imported as {run_id}: the run id {meta['run_id']} is taken here by another run.")

    run = Run.objects.create(
        id=run_uuid,
        run_id=run_id,
        kind=meta["kind"],
        status=meta["status"],
        trigger=trigger,
        owner=actor if getattr(actor, "is_authenticated", False) else None,
        params=meta["params"],
        params_hash=meta["params_hash"],
        seed=meta.get("seed"),
        metrics=meta.get("metrics", {}),
        checksum="",
        is_favourite=meta.get("is_favourite", False),
        notes=meta.get("notes", ""),
        parent=parent,
        started_at=meta.get("started_at"),
        finished_at=meta.get("finished_at"),
        duration_seconds=meta.get("duration_seconds"),
        progress=meta.get("progress", 100 if meta["status"] == RunStatus.SUCCEEDED else 0),
        heartbeat_at=meta.get("heartbeat_at"),
        error_message=meta.get("error_message", ""),
        code_version=meta.get("code_version", ""),
        worker=meta.get("worker", ""),
        # Whatever the file claims, its results were not computed here.
        origin=RunOrigin.IMPORT,
        imported_at=imported_at,
        imported_from=imported_from[:300],
        import_format=incoming.format,
    )
    # created_at is auto_now_add: put the original time back with an update.
    Run.objects.filter(pk=run.pk).update(created_at=created_at)
    run.created_at = created_at
    tags = [Tag.objects.get_or_create(name=name)[0] for name in meta.get("tags", [])]
    if tags:
        run.tags.set(tags)
    _store_logs(run, incoming.logs)

    total = 0
    for incoming_artifact in incoming.artifacts:
        data = incoming_artifact.load()
        _verify(incoming_artifact.name, data, incoming_artifact)
        path = artifact_path(incoming_artifact.sha256)
        fresh = settings.ARTIFACT_STORE == RunArtifact.Storage.FILE and not storages["artifacts"].exists(path)
        if fresh:
            written.append(path)  # before writing: a failure half-way must remove it too
        artifact_write(run=run, name=incoming_artifact.name, data=data, content_type=incoming_artifact.content_type)
        total += len(data)
        del data
    stored = list(run.artifacts.all())
    checksum = artifacts_checksum(stored) if stored else ""
    if incoming.format != "parquet" and checksum != incoming.declared_checksum:
        raise ImportRefused(
            f"The run checksum does not match its results (declared {incoming.declared_checksum or 'none'}, "
            f"computed {checksum or 'none'}); the file was altered."
        )
    Run.objects.filter(pk=run.pk).update(checksum=checksum)
    run.checksum = checksum
    _check_kind_needs(run)

    who = getattr(actor, "username", None) or "an operator's command"
    origin = f"; owner in the export: {meta['owner']}" if meta.get("owner") else ""
    log_lines.append(f"Imported by {who} from a {incoming.format} file{origin}; checksum verified.")
    for line in log_lines:
        run_log(run=run, message=line)
    audit_record(
        actor=actor,
        action="run.import",
        target=run.run_id,
        detail={"format": incoming.format, "as_new": as_new, "source_run_id": meta.get("run_id"), "artifacts": len(stored)},
    )
    return ImportResult(run=run, format=incoming.format, artifacts=len(stored), bytes=total, notes=notes)


def _check_kind_needs(run: Run) -> None:
    """What the run's kind needs to show and use the run (its parameters, its result documents),
    checked on the stored, verified bytes: a run its pages could not show is refused, not stored."""
    run_kind = get_kind(run.kind)
    if run_kind.validate_import is None:
        return
    problems = run_kind.validate_import(run)
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED_ERRORS])
        raise ImportRefused(f"This is not a {run_kind.label.lower()} run this installation can show: {shown}.")


def _store_logs(run: Run, logs: list[tuple[datetime, str, str]]) -> None:
    if not logs:
        return
    rows = RunLog.objects.bulk_create([RunLog(run=run, level=level, message=message) for _, level, message in logs])
    # bulk_create stamps created_at (auto_now_add); bulk_update writes the original times as given.
    for row, (created_at, _, _) in zip(rows, logs):
        row.created_at = created_at
    if rows and rows[0].pk is not None:
        RunLog.objects.bulk_update(rows, ["created_at"], batch_size=500)


def _exists_message(existing: Run) -> str:
    return f"This run already exists here as {existing.run_id} ({existing.pk}); nothing was imported."


def _remove_files(paths: list[str]) -> None:
    """Delete files this import wrote, unless something committed meanwhile uses them."""
    if not paths:
        return
    storage = storages["artifacts"]
    for path in set(paths) - paths_in_use(set(paths)):
        if storage.exists(path):
            storage.delete(path)


__all__ = [
    "EXPORT_FORMATS",
    "Export",
    "ExchangeRefused",
    "ExportNotReady",
    "ExportRefused",
    "ImportConflict",
    "ImportKindRequired",
    "ImportRefused",
    "ImportResult",
    "ImportTooLarge",
    "run_export",
    "run_export_bundle_stream",
    "run_export_json_stream",
    "run_export_record",
    "import_upload_refusal",
    "run_import",
    "run_parquet_table",
]
