"""A whole project as one zip, and back: the project, its experiments, its datasets' files, its runs.

Layout of a project bundle (format "runsight.project", version 1):

    project.json                 the project, members, experiments, dataset versions, runs filed
    datasets/<n>/v<version>.<format>   each dataset version's stored bytes (Parquet, or CSV for early ones)
    runs/<run_id>.zip            each finished run as a run bundle (runs/services/exchange.py)
    manifest.json                last: every member above with its SHA-256 and size, and the
                                 project's checksum (project_checksum)

The export is streamed: members are written into the zip as their bytes are read.
The import reads untrusted bytes: names, sizes, compression ratios and member
counts are checked against the limits before anything is inflated, every member's
SHA-256 must match the manifest, pickles are refused, the nested run bundles go
through run import (which refuses what it refuses), and every row is written in one
transaction; files stored for a failed import are removed. It keeps identities
(project and experiment uids, dataset names and versions, run UUIDs and run ids), so
a second import of the same bundle finds everything here and adds nothing.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from typing import IO, Any, Iterator

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from accounts import roles
from accounts.services import audit_record
from projects.models import Experiment, Project, ProjectDataset, ProjectMember, RunPlacement
from projects.services import lock_hold, target_of

PROJECT_FORMAT = "runsight.project"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DOCUMENT = "project.json"
READ_CHUNK = 1024 * 1024
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
# Compression ratios are only judged on members large enough to matter.
RATIO_FLOOR_BYTES = 1024 * 1024
PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
DATASET_MAGIC = {"parquet": b"PAR1"}
MEMBER_RE = re.compile(r"^(datasets/[A-Za-z0-9_.-]{1,120}/v\d{1,9}\.(parquet|csv)|runs/[A-Za-z0-9][A-Za-z0-9_.-]{0,39}\.zip)$")
# Dataset fields carried by a bundle (the row's id, path and author are this installation's own).
DATASET_FIELDS = (
    "name", "version", "description", "kind", "format", "sha256", "size_bytes", "rows", "columns",
    "source_filename", "source_format", "source_size_bytes", "source", "created_at",
)


class ProjectImportRefused(ValidationError):
    """The upload is not an importable project bundle. Nothing was written."""


class ProjectImportConflict(ProjectImportRefused):
    """The bundle's identities clash with what is here (another project holds its name, …)."""


# ---------------------------------------------------------------------------
# Checksum: what must survive a round trip
# ---------------------------------------------------------------------------
def project_document(project: Project) -> dict[str, Any]:
    """project.json: everything about the project that is not a file, in a fixed order."""
    from simulations.models import Dataset

    experiments = list(project.experiments.order_by("name"))
    names = sorted(project.datasets.values_list("dataset_name", flat=True))
    datasets = [
        {"name": name, "versions": [_dataset_record(d) for d in Dataset.objects.filter(name=name).order_by("version")]}
        for name in names
    ]
    placements = (
        RunPlacement.objects.filter(project=project).select_related("run", "experiment").order_by("run__run_id")
    )
    return {
        "project": {
            "uid": str(project.uid),
            "name": project.name,
            "description": project.description,
            "owner": project.owner.get_username() if project.owner_id else None,
            "members": sorted(project.members.values_list("user__username", flat=True)),
            "created_at": _iso(project.created_at),
        },
        "experiments": [
            {
                "uid": str(e.uid), "name": e.name, "purpose": e.purpose, "parameters": e.parameters, "tags": e.tags,
                "status": e.status, "created_at": _iso(e.created_at),
            }
            for e in experiments
        ],
        "datasets": datasets,
        "runs": [
            {
                "id": str(p.run.pk), "run_id": p.run.run_id, "checksum": p.run.checksum, "status": p.run.status,
                "experiment": str(p.experiment.uid) if p.experiment_id else None,
                "exported": not p.run.is_active,
            }
            for p in placements
        ],
    }


def project_checksum(project: Project) -> str:
    """SHA-256 of the project's identity and content: its metadata, experiments, every dataset
    version's bytes (by their SHA-256) and every run's results (by their checksum).

    Equal before an export and after the import of that export into a fresh database.
    """
    return document_checksum(project_document(project))


def document_checksum(document: dict[str, Any]) -> str:
    """The checksum of a project.json document (as exported, or as read from a bundle)."""
    document = json.loads(_canonical(document))  # a deep copy, of plain JSON values
    document["project"].pop("members", None)  # accounts are this installation's own
    document["project"].pop("owner", None)
    for ds in document["datasets"]:
        ds["versions"] = [{k: v[k] for k in ("name", "version", "sha256", "rows")} for v in ds["versions"]]
    document["runs"] = [r for r in document["runs"] if r.pop("exported")]
    return hashlib.sha256(_canonical(document)).hexdigest()


def _dataset_record(dataset: Any) -> dict[str, Any]:
    record = {name: getattr(dataset, name) for name in DATASET_FIELDS}
    record["created_at"] = _iso(dataset.created_at)
    record["member"] = _dataset_member(dataset)
    return record


def _dataset_member(dataset: Any) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", dataset.name)[:80] or "dataset"
    digest = hashlib.sha256(dataset.name.encode()).hexdigest()[:8]  # two names may sanitise alike
    return f"datasets/{safe}-{digest}/v{dataset.version}.{dataset.format}"


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(dt_timezone.utc).isoformat() if moment else None


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectExport:
    filename: str
    checksum: str
    chunks: Iterator[bytes]


def project_export(*, project: Project, actor: Any) -> ProjectExport:
    """Check the caller may read the project and return its streamed bundle."""
    if actor is not None and not roles.can_view_projects(actor):
        raise PermissionDenied("You may not export projects.")
    checksum = project_checksum(project)
    audit_record(actor=actor, action="project.export", target=target_of(project),
                 detail={"name": project.name, "checksum": checksum})
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", project.name)[:80] or "project"
    return ProjectExport(f"project_{safe}.zip", checksum, _bundle_chunks(project, checksum))


class _ChunkSink(io.RawIOBase):
    """A write-only file that hands out what was written since the last take()."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _bundle_chunks(project: Project, checksum: str) -> Iterator[bytes]:
    from runs.models import Run
    from runs.services.exchange import run_export_bundle_stream
    from simulations.models import Dataset
    from simulations.training.datasets import dataset_read_bytes

    document = project_document(project)
    sink = _ChunkSink()
    members: list[dict[str, Any]] = []
    moment = (project.created_at or timezone.now()).astimezone(dt_timezone.utc)
    date_time = (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second)

    def member(name: str, method: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time)
        info.compress_type = method
        info.external_attr = 0o644 << 16
        return info

    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as bundle:
        raw = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True).encode()
        bundle.writestr(member(DOCUMENT, zipfile.ZIP_DEFLATED), raw)
        members.append({"name": DOCUMENT, "sha256": hashlib.sha256(raw).hexdigest(), "size_bytes": len(raw)})
        yield sink.take()
        for ds in document["datasets"]:
            for record in ds["versions"]:
                dataset = Dataset.objects.get(name=record["name"], version=record["version"])
                data = dataset_read_bytes(dataset=dataset)  # refused if the stored bytes no longer match
                bundle.writestr(member(record["member"], zipfile.ZIP_STORED), data)
                members.append({"name": record["member"], "sha256": dataset.sha256, "size_bytes": len(data)})
                yield sink.take()
        for entry in document["runs"]:
            if not entry["exported"]:
                continue
            run = Run.objects.get(pk=entry["id"])
            name = f"runs/{run.run_id}.zip"
            digest, size = hashlib.sha256(), 0
            with bundle.open(member(name, zipfile.ZIP_STORED), "w", force_zip64=True) as out:
                for piece in run_export_bundle_stream(run=run):
                    out.write(piece)
                    digest.update(piece)
                    size += len(piece)
                    yield sink.take()
            members.append({"name": name, "sha256": digest.hexdigest(), "size_bytes": size})
        manifest = {
            "format": PROJECT_FORMAT, "version": FORMAT_VERSION, "uid": str(project.uid), "name": project.name,
            "checksum": checksum, "members": members,
        }
        bundle.writestr(member(MANIFEST, zipfile.ZIP_DEFLATED), json.dumps(manifest, indent=2).encode())
    yield sink.take()


# ---------------------------------------------------------------------------
# Import: the shape of the documents, declared once
# ---------------------------------------------------------------------------
class _MemberSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=300)
    sha256 = serializers.RegexField(r"^[0-9a-f]{64}$")
    size_bytes = serializers.IntegerField(min_value=0)


class _ManifestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=[PROJECT_FORMAT])
    version = serializers.ChoiceField(choices=[FORMAT_VERSION])
    uid = serializers.UUIDField()
    name = serializers.CharField(max_length=120)
    checksum = serializers.RegexField(r"^[0-9a-f]{64}$")
    members = _MemberSerializer(many=True, max_length=100_000)


class _ProjectPartSerializer(serializers.Serializer):
    uid = serializers.UUIDField()
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(allow_blank=True, max_length=10_000, trim_whitespace=False)
    owner = serializers.CharField(allow_null=True, max_length=150)
    members = serializers.ListField(child=serializers.CharField(max_length=150), max_length=10_000)
    created_at = serializers.DateTimeField()


class _ExperimentSerializer(serializers.Serializer):
    uid = serializers.UUIDField()
    name = serializers.CharField(max_length=120)
    purpose = serializers.CharField(allow_blank=True, max_length=10_000, trim_whitespace=False)
    parameters = serializers.DictField()
    tags = serializers.DictField()
    status = serializers.ChoiceField(choices=Experiment.Status.choices)
    created_at = serializers.DateTimeField()


class _DatasetVersionSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    version = serializers.IntegerField(min_value=1, max_value=10**9)
    description = serializers.CharField(allow_blank=True, max_length=4000, trim_whitespace=False)
    kind = serializers.CharField(max_length=16)
    format = serializers.ChoiceField(choices=["parquet", "csv"])
    sha256 = serializers.RegexField(r"^[0-9a-f]{64}$")
    size_bytes = serializers.IntegerField(min_value=0)
    rows = serializers.IntegerField(min_value=0)
    columns = serializers.ListField(child=serializers.DictField(), max_length=100_000)
    source_filename = serializers.CharField(allow_blank=True, max_length=255)
    source_format = serializers.CharField(allow_blank=True, max_length=16)
    source_size_bytes = serializers.IntegerField(allow_null=True, min_value=0)
    source = serializers.DictField()
    created_at = serializers.DateTimeField()
    member = serializers.CharField(max_length=300)


class _DatasetSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    versions = _DatasetVersionSerializer(many=True, max_length=10_000)


class _RunEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    run_id = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
    checksum = serializers.CharField(allow_blank=True, max_length=64)
    status = serializers.CharField(max_length=10)
    experiment = serializers.UUIDField(allow_null=True)
    exported = serializers.BooleanField()


class _DocumentSerializer(serializers.Serializer):
    project = _ProjectPartSerializer()
    experiments = _ExperimentSerializer(many=True, max_length=100_000)
    datasets = _DatasetSerializer(many=True, max_length=10_000)
    runs = _RunEntrySerializer(many=True, max_length=1_000_000)


def _validated(serializer_class: type[serializers.Serializer], data: Any, where: str) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ProjectImportRefused(f"{where} is not valid: {_first_errors(serializer.errors)}")
    return serializer.validated_data


def _first_errors(errors: Any, path: str = "", out: list[str] | None = None) -> str:
    out = [] if out is None else out
    if isinstance(errors, dict):
        for key, value in errors.items():
            _first_errors(value, f"{path}.{key}" if path else str(key), out)
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            if isinstance(value, (dict, list)):
                _first_errors(value, f"{path}[{index}]", out)
            else:
                out.append(f"{path}: {value}")
    return "; ".join(out[:10])


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------
@dataclass
class ProjectImportResult:
    project: Project
    created: bool
    experiments_added: int = 0
    datasets_added: int = 0
    runs_added: int = 0
    runs_filed: int = 0
    checksum: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def added_anything(self) -> bool:
        return bool(self.created or self.experiments_added or self.datasets_added or self.runs_added or self.runs_filed)

    @property
    def summary(self) -> str:
        if not self.added_anything:
            line = f"{self.project.name} is already here with everything in the bundle; nothing was added"
        else:
            line = (
                f"{'Imported' if self.created else 'Completed'} {self.project.name}: "
                f"{self.experiments_added} experiment(s), {self.datasets_added} dataset version(s), "
                f"{self.runs_added} run(s) added, {self.runs_filed} run(s) filed"
            )
        return " ".join([f"{line} (checksum {self.checksum}).", *self.notes])


def project_import_refusal(content_length: Any) -> str | None:
    """Why an upload announcing `content_length` bytes is refused before it is read, or None."""
    try:
        declared = int(content_length or 0)
    except (TypeError, ValueError):
        return None
    limit = settings.PROJECT_IMPORT_MAX_BYTES
    if declared > limit + 64 * 1024:
        return (f"The upload is {declared:,} bytes; project bundles are limited to {limit:,} bytes "
                "(setting PROJECT_IMPORT_MAX_BYTES).")
    return None


def project_import(*, file: IO[bytes] | bytes, actor: Any) -> ProjectImportResult:
    """Import a project bundle; see the module's docstring. `actor` None is an operator's command.

    Not @transaction.atomic itself: rows are written in one atomic block inside, and
    files stored for them are removed once that block has rolled back.
    """
    if actor is not None and not roles.can_import_projects(actor):
        raise PermissionDenied("You may not import projects.")
    source = _as_seekable(file)
    try:
        head = source.read(8)
        source.seek(0)
        if not head:
            raise ProjectImportRefused("The file is empty.")
        if head[:2] in PICKLE_MAGIC:
            raise ProjectImportRefused("The file is a Python pickle. Pickles are never loaded (unpickling can run "
                                       "code); import a project bundle (.zip).")
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            raise ProjectImportRefused("Unknown file format: a project bundle is a zip file made by a project export.")
        try:
            bundle = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise ProjectImportRefused(f"The bundle is not a readable zip file ({exc}).") from None
        with bundle:
            return _import(bundle, actor)
    finally:
        if source is not file:
            source.close()


def _as_seekable(file: IO[bytes] | bytes) -> IO[bytes]:
    limit = settings.PROJECT_IMPORT_MAX_BYTES
    if isinstance(file, (bytes, bytearray, memoryview)):
        file = io.BytesIO(bytes(file))
    try:
        seekable = file.seekable()
    except (AttributeError, ValueError):
        seekable = False
    if seekable:
        file.seek(0, os.SEEK_END)
        size = file.tell()
        file.seek(0)
        if size > limit:
            raise ProjectImportRefused(_too_large(size, limit))
        return file
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    copied = 0
    while block := file.read(READ_CHUNK):
        copied += len(block)
        if copied > limit:
            spool.close()
            raise ProjectImportRefused(_too_large(copied, limit, at_least=True))
        spool.write(block)
    spool.seek(0)
    return spool


def _too_large(size: int, limit: int, at_least: bool = False) -> str:
    return (f"The file is {'over ' if at_least else ''}{size:,} bytes; project bundles are limited to "
            f"{limit:,} bytes (setting PROJECT_IMPORT_MAX_BYTES).")


def _unsafe_name(name: str) -> bool:
    if not name or "\x00" in name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return True
    return any(part in ("..", "") for part in re.split(r"[\\/]", name))


class _Budget:
    """Bytes left to inflate: declared sizes were checked; the real ones are counted as read."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise ProjectImportRefused(f"The bundle inflates beyond {settings.PROJECT_IMPORT_MAX_BYTES:,} bytes "
                                       "(setting PROJECT_IMPORT_MAX_BYTES).")


def _read(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget, sha256: str | None = None) -> bytes:
    out = bytearray()
    digest = hashlib.sha256()
    try:
        with bundle.open(info) as member:
            while block := member.read(READ_CHUNK):
                out += block
                digest.update(block)
                budget.spend(len(block))
                if len(out) > info.file_size:
                    raise ProjectImportRefused(f"The bundle member {info.filename!r} is larger than its zip entry says.")
    except ProjectImportRefused:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise ProjectImportRefused(f"The bundle member {info.filename!r} cannot be read: {exc}.") from None
    if sha256 is not None and digest.hexdigest() != sha256:
        raise ProjectImportRefused(
            f"The bundle member {info.filename!r} does not match its checksum in {MANIFEST} "
            f"(expected {sha256[:12]}…, found {digest.hexdigest()[:12]}…). Nothing was imported."
        )
    return bytes(out)


def _json_member(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget, sha256: str | None) -> Any:
    if info.file_size > MAX_DOCUMENT_BYTES:
        raise ProjectImportRefused(f"{info.filename} is too large ({info.file_size:,} bytes).")
    raw = _read(bundle, info, budget, sha256)
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ProjectImportRefused(f"{info.filename} is malformed JSON: {exc}.") from None
    if "\x00" in json.dumps(document):
        raise ProjectImportRefused(f"{info.filename} holds a NUL character.")
    return document


def _check_entries(bundle: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Refuse unsafe names, duplicates, too many members, declared bombs; return members by name."""
    infos = bundle.infolist()
    if len(infos) > settings.PROJECT_IMPORT_MAX_MEMBERS:
        raise ProjectImportRefused(f"The bundle has {len(infos):,} members; at most "
                                   f"{settings.PROJECT_IMPORT_MAX_MEMBERS:,} (setting PROJECT_IMPORT_MAX_MEMBERS).")
    by_name: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        if _unsafe_name(name) or info.is_dir():
            raise ProjectImportRefused(f"The bundle member {name!r} has an unsafe name (absolute, '..' or a folder).")
        if name in by_name:
            raise ProjectImportRefused(f"The bundle holds {name!r} twice.")
        if info.flag_bits & 0x1:
            raise ProjectImportRefused(f"The bundle member {name!r} is encrypted.")
        total += info.file_size
        if total > settings.PROJECT_IMPORT_MAX_BYTES:
            raise ProjectImportRefused(f"The bundle inflates to over {settings.PROJECT_IMPORT_MAX_BYTES:,} bytes "
                                       "(setting PROJECT_IMPORT_MAX_BYTES).")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR_BYTES and ratio > settings.RUN_IMPORT_MAX_RATIO:
            raise ProjectImportRefused(
                f"The bundle member {name!r} is compressed {ratio:,.0f} to 1, beyond "
                f"{settings.RUN_IMPORT_MAX_RATIO} (setting RUN_IMPORT_MAX_RATIO): refused as a zip bomb."
            )
        by_name[name] = info
    for required in (MANIFEST, DOCUMENT):
        if required not in by_name:
            raise ProjectImportRefused(f"The bundle has no {required}: it is not a project bundle.")
    return by_name


def _import(bundle: zipfile.ZipFile, actor: Any) -> ProjectImportResult:
    by_name = _check_entries(bundle)
    budget = _Budget(settings.PROJECT_IMPORT_MAX_BYTES)
    manifest = _validated(_ManifestSerializer, _json_member(bundle, by_name[MANIFEST], budget, None), MANIFEST)
    listed = {m["name"]: m for m in manifest["members"]}
    for name in by_name:
        if name != MANIFEST and name not in listed:
            raise ProjectImportRefused(f"The bundle member {name!r} is not listed in {MANIFEST}.")
    for name, entry in listed.items():
        if name not in by_name:
            raise ProjectImportRefused(f"{MANIFEST} lists {name!r}, which the bundle does not hold.")
        if name != DOCUMENT and not MEMBER_RE.match(name):
            raise ProjectImportRefused(f"The bundle member {name!r} is not a dataset file or a run bundle.")
        if by_name[name].file_size != entry["size_bytes"]:
            raise ProjectImportRefused(f"The bundle member {name!r} is not the size {MANIFEST} says.")
    raw_document = _json_member(bundle, by_name[DOCUMENT], budget, listed[DOCUMENT]["sha256"])
    document = _validated(_DocumentSerializer, raw_document, DOCUMENT)
    if document_checksum(raw_document) != manifest["checksum"]:
        raise ProjectImportRefused(f"{DOCUMENT} does not match the project checksum in {MANIFEST}. Nothing was imported.")
    if str(document["project"]["uid"]) != str(manifest["uid"]):
        raise ProjectImportRefused(f"{DOCUMENT} and {MANIFEST} name different projects.")
    _check_references(document, listed)

    storage = storages["artifacts"]
    written: list[str] = []
    try:
        with transaction.atomic():
            result = _write(bundle, by_name, listed, document, budget, actor, written)
            result.checksum = manifest["checksum"]
            # A project made by this import must be exactly the bundle's; one that was here already
            # may hold more (experiments, runs added since), and keeps it.
            if result.created and project_checksum(result.project) != manifest["checksum"]:
                raise ProjectImportRefused(
                    f"The imported project's checksum {project_checksum(result.project)[:12]}… is not the bundle's "
                    f"{manifest['checksum'][:12]}…: its content does not add up. Nothing was imported."
                )
            if result.added_anything:
                audit_record(actor=actor, action="project.import", target=target_of(result.project),
                             detail={"name": result.project.name, "created": result.created,
                                     "experiments": result.experiments_added, "datasets": result.datasets_added,
                                     "runs": result.runs_added, "checksum": result.checksum})
            return result
    except BaseException:
        from runs.artifacts import paths_in_use

        for path in set(written) - paths_in_use(set(written)):
            storage.delete(path)
        raise


def _check_references(document: dict[str, Any], listed: dict[str, Any]) -> None:
    experiment_uids = {str(e["uid"]) for e in document["experiments"]}
    if len(experiment_uids) != len(document["experiments"]):
        raise ProjectImportRefused(f"{DOCUMENT}: two experiments share a uid.")
    if len({e["name"] for e in document["experiments"]}) != len(document["experiments"]):
        raise ProjectImportRefused(f"{DOCUMENT}: two experiments share a name.")
    for ds in document["datasets"]:
        for version in ds["versions"]:
            if version["name"] != ds["name"]:
                raise ProjectImportRefused(f"{DOCUMENT}: dataset {ds['name']!r} lists a version of {version['name']!r}.")
            entry = listed.get(version["member"])
            if entry is None or entry["sha256"] != version["sha256"]:
                raise ProjectImportRefused(
                    f"{DOCUMENT}: dataset {ds['name']!r} v{version['version']} has no matching file in {MANIFEST}."
                )
    for run in document["runs"]:
        if run["experiment"] is not None and str(run["experiment"]) not in experiment_uids:
            raise ProjectImportRefused(f"{DOCUMENT}: run {run['run_id']} names an experiment the bundle lacks.")
        if run["exported"] and f"runs/{run['run_id']}.zip" not in listed:
            raise ProjectImportRefused(f"{DOCUMENT}: run {run['run_id']} has no bundle in {MANIFEST}.")


def _write(
    bundle: zipfile.ZipFile, by_name: dict[str, zipfile.ZipInfo], listed: dict[str, Any], document: dict[str, Any],
    budget: _Budget, actor: Any, written: list[str],
) -> ProjectImportResult:
    from runs.models import Run
    from runs.services.exchange import ExchangeRefused, run_import

    part = document["project"]
    users = get_user_model().objects
    project = Project.objects.filter(uid=part["uid"]).first()
    created = project is None
    if created:
        if Project.objects.filter(name__iexact=part["name"]).exists():
            raise ProjectImportConflict(
                f"Another project is already named {part['name']!r}; rename it before importing this bundle."
            )
        owner = users.filter(username=part["owner"], is_active=True).first() if part["owner"] else None
        project = Project.objects.create(
            uid=part["uid"], name=part["name"], description=part["description"],
            owner=owner or (actor if actor is not None else None), created_at=part["created_at"],
            imported_at=timezone.now(),
        )
        people = {u.pk: u for u in users.filter(username__in=part["members"], is_active=True)}
        if actor is not None:
            people.setdefault(actor.pk, actor)
        if project.owner_id:
            people.setdefault(project.owner_id, project.owner)
        ProjectMember.objects.bulk_create([ProjectMember(project=project, user=u) for u in people.values()])
        missing = sorted(set(part["members"]) - {u.get_username() for u in people.values()})
    else:
        missing = []
    result = ProjectImportResult(project=project, created=created)
    if missing:
        result.notes.append(f"Members without an account here were left out: {', '.join(missing[:20])}.")
    locked = created  # a new project is ours; an existing one is edited under its lock

    def edit() -> None:
        nonlocal locked
        if locked:
            return
        if actor is not None and not roles.can_edit_project(actor, project):
            raise PermissionDenied(f"The bundle adds to {project.name}, which you may not edit.")
        lock_hold(project, actor)
        locked = True

    # Experiments, by uid.
    experiments: dict[str, Experiment] = {}
    for entry in document["experiments"]:
        uid = str(entry["uid"])
        experiment = Experiment.objects.filter(uid=uid).first()
        if experiment is not None and experiment.project_id != project.pk:
            raise ProjectImportConflict(f"The experiment {entry['name']!r} ({uid}) belongs to another project here.")
        if experiment is None:
            edit()
            if project.experiments.filter(name=entry["name"]).exists():
                raise ProjectImportConflict(f"{project.name} already has another experiment named {entry['name']!r}.")
            experiment = Experiment.objects.create(
                uid=uid, project=project, name=entry["name"], purpose=entry["purpose"],
                parameters=entry["parameters"], tags=entry["tags"], status=entry["status"],
                created_at=entry["created_at"], created_by=actor if actor is not None else None,
            )
            result.experiments_added += 1
        experiments[uid] = experiment

    # Datasets, by name and version; the bytes are verified against the manifest as they are read.
    for ds in document["datasets"]:
        for version in ds["versions"]:
            if _dataset_version_here(version):
                continue
            edit()
            data = _read(bundle, by_name[version["member"]], budget, listed[version["member"]]["sha256"])
            _check_dataset_bytes(data, version)
            written.extend(_store_dataset(data, version, actor))
            result.datasets_added += 1
        if not ProjectDataset.objects.filter(project=project, dataset_name=ds["name"]).exists():
            edit()
            ProjectDataset.objects.create(project=project, dataset_name=ds["name"], attached_by=actor)

    # Runs, by UUID: the nested run bundles go through run import.
    for entry in document["runs"]:
        run = Run.objects.filter(pk=entry["id"]).first()
        if run is not None and run.run_id != entry["run_id"]:
            raise ProjectImportConflict(f"The run {entry['id']} is here under another run id ({run.run_id}).")
        if run is None:
            if not entry["exported"]:
                result.notes.append(f"{entry['run_id']} was still {entry['status'].lower()} at export; not imported.")
                continue
            name = f"runs/{entry['run_id']}.zip"
            data = _read(bundle, by_name[name], budget, listed[name]["sha256"])
            written.extend(_run_bundle_paths(data))
            try:
                imported = run_import(file=data, actor=actor)
            except ExchangeRefused as exc:
                raise ProjectImportRefused(f"{name}: {' '.join(exc.messages)}") from None
            run = imported.run
            if str(run.pk) != str(entry["id"]) or run.checksum != entry["checksum"]:
                raise ProjectImportRefused(f"{name} is not the run {DOCUMENT} describes.")
            result.runs_added += 1
        experiment = experiments.get(str(entry["experiment"])) if entry["experiment"] else None
        placement = RunPlacement.objects.filter(run=run).first()
        if placement is None or placement.project_id != project.pk or placement.experiment_id != (
            experiment.pk if experiment else None
        ):
            edit()
            RunPlacement.objects.update_or_create(run=run, defaults={"project": project, "experiment": experiment})
            result.runs_filed += 1
    return result


def _dataset_version_here(version: dict[str, Any]) -> bool:
    from simulations.models import Dataset

    here = Dataset.objects.filter(name=version["name"], version=version["version"]).first()
    if here is None:
        return False
    if here.sha256 != version["sha256"]:
        raise ProjectImportConflict(
            f"Dataset {version['name']!r} v{version['version']} is here with other content "
            f"({here.sha256[:12]}…, the bundle's is {version['sha256'][:12]}…)."
        )
    return True


def _check_dataset_bytes(data: bytes, version: dict[str, Any]) -> None:
    label = f"dataset {version['name']!r} v{version['version']}"
    if data[:2] in PICKLE_MAGIC:
        raise ProjectImportRefused(f"The {label} is a Python pickle; pickles are never loaded.")
    magic = DATASET_MAGIC.get(version["format"])
    if magic and not (data.startswith(magic) and data.endswith(magic)):
        raise ProjectImportRefused(f"The {label} is not a Parquet file.")
    if len(data) != version["size_bytes"]:
        raise ProjectImportRefused(f"The {label} is not the size {DOCUMENT} says.")


def _store_dataset(data: bytes, version: dict[str, Any], actor: Any) -> list[str]:
    """Store the version's bytes (content-addressed) and its row; return the path if it is new."""
    from runs.artifacts import artifact_path
    from simulations.models import Dataset

    storage = storages["artifacts"]
    path = artifact_path(version["sha256"])
    new = [] if storage.exists(path) else [path]
    if new:
        saved = storage.save(path, ContentFile(data))
        if saved != path:
            storage.delete(saved)
            new = []
    fields = {k: version[k] for k in DATASET_FIELDS}
    dataset = Dataset(path=path, created_by=actor if actor is not None else None, **fields)
    try:
        dataset.full_clean(exclude=["created_by"], validate_unique=False)
    except ValidationError as exc:
        raise ProjectImportRefused(
            f"Dataset {version['name']!r} v{version['version']} is not valid: {'; '.join(exc.messages[:5])}"
        ) from None
    dataset.save()
    return new


def _run_bundle_paths(data: bytes) -> list[str]:
    """Store paths a run bundle's results would take that are not here yet (removed if the import fails)."""
    from runs.artifacts import artifact_path

    storage = storages["artifacts"]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as nested:
            info = nested.getinfo("manifest.json")
            if info.file_size > MAX_DOCUMENT_BYTES:
                return []  # run import refuses it with the reason
            with nested.open(info) as member:
                manifest = json.loads(member.read(MAX_DOCUMENT_BYTES + 1))
        digests = [m["sha256"] for m in manifest.get("members", []) if str(m.get("name", "")).startswith("results/")]
    except (zipfile.BadZipFile, zlib.error, KeyError, ValueError, TypeError, AttributeError, OSError, EOFError):
        return []  # run import refuses it with the reason
    paths = [artifact_path(d) for d in digests if isinstance(d, str) and re.fullmatch(r"[0-9a-f]{64}", d)]
    return [p for p in paths if not storage.exists(p)]

