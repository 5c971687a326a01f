"""Writes of the result cache: parameter sets, cached files, hits, drops and eviction.

Cached bytes share the run core's artifact store. With file storage a cached
entry and the run artifacts that hold the same bytes point at one
content-addressed file; the path holder registered from SimulationsConfig.ready
tells the run core which files the cache still holds, so deleting a run never
deletes them, and eviction never deletes a file a run artifact still uses.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Iterable

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from runs.artifacts import artifact_path, paths_in_use
from runs.models import Run, RunArtifact, RunOrigin, RunStatus
from simulations.models import CachedResult, ParameterSet
from simulations.params import SimulationSpec
from simulations.results import FileSpec

logger = logging.getLogger(__name__)

# Bounded IN lists: SQLite caps the number of query parameters.
_BATCH = 500


class CacheEntryInvalid(Exception):
    """A cached entry whose bytes are missing or do not match their SHA-256."""


class UntrustedSource(Exception):
    """Bytes offered to the cache by a run our engine did not compute (an imported run), or
    by a run that did not succeed. Only engine results may enter the cache."""


def _check_producer(source_run: Run | None) -> str:
    """The run offering bytes to the cache, read again from the database: it must be an engine run
    that succeeded. Returns its checksum as stored."""
    if source_run is None:
        raise UntrustedSource("a cache entry must name the run that computed it")
    fresh = Run.objects.filter(pk=source_run.pk).values_list("origin", "status", "checksum").first()
    if fresh is None:
        raise UntrustedSource(f"{source_run.run_id} is gone")
    origin, status, checksum = fresh
    if origin != RunOrigin.ENGINE:
        raise UntrustedSource(f"{source_run.run_id} was imported: its results never enter the cache")
    if status != RunStatus.SUCCEEDED:
        # The executor keeps its results once the run has ended SUCCEEDED (RunContext.on_success).
        raise UntrustedSource(f"{source_run.run_id} is {status.lower()}: only a succeeded run's results enter the cache")
    return checksum


def _trusted_producers(run_pks: set) -> set:
    """Which of these runs are engine runs that succeeded (one query)."""
    return set(
        Run.objects.filter(pk__in=list(run_pks), origin=RunOrigin.ENGINE, status=RunStatus.SUCCEEDED)
        .values_list("pk", flat=True)
    )


def cached_entry_trust(entry: CachedResult) -> str:
    """Whether an entry may be served: "trusted", or "untrusted" (produced by an imported run or by
    a run that is not SUCCEEDED, as older versions allowed: to be dropped, never served).

    An entry whose producer was deleted since stays trusted: it was checked when written.
    """
    if entry.source_run_id is None or not Run.objects.filter(pk=entry.source_run_id).exists():
        return "trusted"
    return "trusted" if _trusted_producers({entry.source_run_id}) else "untrusted"


def cached_result_drop_untrusted(*, entry: CachedResult) -> None:
    """Forget an entry that is not an engine result, and its file unless a run or another entry uses it."""
    CachedResult.objects.filter(pk=entry.pk).delete()
    if entry.storage == CachedResult.Storage.FILE and entry.path and not paths_in_use({entry.path}):
        transaction.on_commit(lambda: _delete_file(entry.path) if not paths_in_use({entry.path}) else None)


def cached_results_servable(*, parameter_set: ParameterSet) -> dict[str, CachedResult]:
    """The result files of this parameter set that may be served to a run, by name.

    Entries an imported or unsuccessful run produced are dropped on sight (they can only be
    left over from older versions). Reports are not results: they are looked up by checksum
    (simulations.services.reporting).
    """
    servable: dict[str, CachedResult] = {}
    entries = list(CachedResult.objects.filter(parameter_set=parameter_set).exclude(kind=CachedResult.Kind.REPORT))
    producers = {entry.source_run_id for entry in entries if entry.source_run_id is not None}
    present = set(Run.objects.filter(pk__in=list(producers)).values_list("pk", flat=True))
    trusted = _trusted_producers(producers)
    for entry in entries:
        if entry.source_run_id is None or entry.source_run_id not in present or entry.source_run_id in trusted:
            servable[entry.name] = entry
        else:
            logger.warning("cache entry %s was produced by run %s, not an engine result: dropped", entry, entry.source_run_id)
            cached_result_drop_untrusted(entry=entry)
    return servable


def _storage():
    return storages["artifacts"]


# ---------------------------------------------------------------------------
# Parameter sets
# ---------------------------------------------------------------------------
def parameter_set_get_or_create(*, spec: SimulationSpec) -> ParameterSet:
    """The parameter set of this spec, created on first use (safe against a concurrent creation)."""
    key = spec.cache_key()
    try:
        with transaction.atomic():
            parameter_set, _ = ParameterSet.objects.get_or_create(
                params_hash=key, defaults={"params": spec.cache_params()}
            )
    except IntegrityError:  # another worker created it between our read and our insert
        parameter_set = ParameterSet.objects.get(params_hash=key)
    return parameter_set


# ---------------------------------------------------------------------------
# Reading and verifying
# ---------------------------------------------------------------------------
def cached_result_read(entry: CachedResult) -> bytes:
    """The entry's bytes, checked against its SHA-256. Raises CacheEntryInvalid otherwise."""
    if entry.storage == CachedResult.Storage.DB:
        data = bytes(entry.blob or b"")
    else:
        try:
            with _storage().open(entry.path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise CacheEntryInvalid(f"file {entry.path} is missing") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != entry.sha256 or len(data) != entry.size_bytes:
        raise CacheEntryInvalid(f"bytes hash to {actual[:12]}…, expected {entry.sha256[:12]}…")
    return data


def cached_result_is_intact(entry: CachedResult) -> bool:
    try:
        cached_result_read(entry)
    except CacheEntryInvalid:
        return False
    return True


def cached_result_drop(*, entry: CachedResult) -> None:
    """Forget an entry whose bytes are bad, and remove bad bytes from the store.

    A content-addressed file holding the wrong bytes would be trusted by every
    later write of the right ones (the store skips writing a path that exists),
    so it goes even if run artifacts point at it: their bytes are wrong anyway,
    and the recompute that follows writes the right ones back. It goes at once,
    not on commit: bad bytes are bad whatever becomes of the transaction, and
    the recompute must not find them. A file whose bytes still match the digest
    in its name is good (only the entry was wrong) and stays.
    """
    CachedResult.objects.filter(pk=entry.pk).delete()
    if entry.storage != CachedResult.Storage.FILE or not entry.path:
        return
    storage = _storage()
    try:
        with storage.open(entry.path, "rb") as fh:
            intact = hashlib.sha256(fh.read()).hexdigest() == entry.path.rsplit("/", 1)[-1]
    except FileNotFoundError:
        return
    if not intact:
        storage.delete(entry.path)


def _delete_file(path: str) -> None:
    storage = _storage()
    if storage.exists(path):
        storage.delete(path)


@transaction.atomic
def cached_results_record_hit(*, entries: Iterable[CachedResult]) -> None:
    now = timezone.now()
    pks = [entry.pk for entry in entries]
    CachedResult.objects.filter(pk__in=pks).update(hit_count=F("hit_count") + 1, last_hit_at=now)


# ---------------------------------------------------------------------------
# Storing
# ---------------------------------------------------------------------------
def _upsert(parameter_set: ParameterSet, kind: str, part: int, values: dict) -> CachedResult:
    # Two identical runs may finish together: the loser of the insert race updates instead.
    for attempt in range(2):
        try:
            with transaction.atomic():
                entry, _ = CachedResult.objects.update_or_create(
                    parameter_set=parameter_set, kind=kind, part=part, defaults=values
                )
            return entry
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def cached_result_store_artifact(
    *, parameter_set: ParameterSet, file: FileSpec, artifact: RunArtifact, source_run: Run | None
) -> CachedResult:
    """Keep a run artifact's bytes as the cached result `file` of this parameter set.

    File artifacts are shared, not copied: the entry points at the same
    content-addressed file. Blob artifacts are copied into the entry.
    Refused (UntrustedSource) unless `source_run` is an engine run that owns the artifact.
    """
    _check_producer(source_run)
    if artifact.run_id != source_run.pk:
        raise UntrustedSource(f"{artifact.name} belongs to another run than {source_run.run_id}")
    is_file = artifact.storage == RunArtifact.Storage.FILE
    values = {
        "name": file.name,
        "format": file.format,
        "storage": CachedResult.Storage.FILE if is_file else CachedResult.Storage.DB,
        "path": artifact.path if is_file else "",
        "blob": None if is_file else bytes(artifact.blob or b""),
        "rows": file.rows,
        "size_bytes": artifact.size_bytes,
        "sha256": artifact.sha256,
        "source_run": source_run,
        "created_at": timezone.now(),
    }
    return _upsert(parameter_set, file.kind, file.part, values)


def cached_result_store_bytes(
    *, parameter_set: ParameterSet, file: FileSpec, data: bytes, source_run: Run, results_checksum: str = ""
) -> CachedResult:
    """Keep bytes that belong to no run artifact (the Excel report) in the store, per ARTIFACT_STORE.

    `results_checksum` is the checksum of the result bytes they were built from (a report's key).
    Refused (UntrustedSource) unless `source_run` is an engine run with exactly that checksum.
    """
    stored_checksum = _check_producer(source_run)
    if file.kind == CachedResult.Kind.REPORT and (not results_checksum or results_checksum != stored_checksum):
        raise UntrustedSource(f"a report is kept under the checksum of the results of {source_run.run_id}")
    digest = hashlib.sha256(data).hexdigest()
    values = {
        "name": file.name,
        "format": file.format,
        "rows": file.rows,
        "size_bytes": len(data),
        "sha256": digest,
        "source_run": source_run,
        "results_checksum": results_checksum,
        "created_at": timezone.now(),
    }
    if settings.ARTIFACT_STORE == CachedResult.Storage.DB:
        values.update(storage=CachedResult.Storage.DB, path="", blob=data)
    else:
        path = artifact_path(digest)
        storage = _storage()
        if not storage.exists(path):
            storage.save(path, ContentFile(data))
        values.update(storage=CachedResult.Storage.FILE, path=path, blob=None)
    return _upsert(parameter_set, file.kind, file.part, values)


# ---------------------------------------------------------------------------
# Eviction
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Eviction:
    entries: int
    files: int
    parameter_sets: int


def cache_evict(*, entries: QuerySet[CachedResult], dry_run: bool = False) -> Eviction:
    """Forget these cached results and delete the files nothing else uses.

    A file stays while a run artifact or another cached entry points at it
    (runs.artifacts.paths_in_use asks both), so evicting never takes bytes
    from a run. Parameter sets left without results go too.
    """
    paths = set(entries.filter(storage=CachedResult.Storage.FILE).values_list("path", flat=True))
    count = entries.count()
    if dry_run:
        with transaction.atomic():
            sid = transaction.savepoint()
            freed = _evict_rows(entries, paths)
            transaction.savepoint_rollback(sid)
        return Eviction(entries=count, files=len(freed[0]), parameter_sets=freed[1])
    with transaction.atomic():
        unused, orphans = _evict_rows(entries, paths)
        transaction.on_commit(lambda: [_delete_file(path) for path in sorted(unused)])
    return Eviction(entries=count, files=len(unused), parameter_sets=orphans)


def _evict_rows(entries: QuerySet[CachedResult], paths: set[str]) -> tuple[set[str], int]:
    CachedResult.objects.filter(pk__in=list(entries.values_list("pk", flat=True))).delete()
    orphans, _ = ParameterSet.objects.filter(results__isnull=True).delete()
    # Asked after the rows are gone, so only other holders keep a file.
    unused = paths - paths_in_use(paths)
    return unused, orphans


def cache_paths_held(paths: set[str]) -> set[str]:
    """The run core's path holder: which of these files the cache still uses."""
    held: set[str] = set()
    ordered = sorted(paths)
    for start in range(0, len(ordered), _BATCH):
        batch = ordered[start:start + _BATCH]
        entries = CachedResult.objects.filter(storage=CachedResult.Storage.FILE, path__in=batch)
        held.update(entries.values_list("path", flat=True))
    return held
