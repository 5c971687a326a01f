"""The artifact store: result bytes kept as files (through Django's storage API) or DB blobs.

ARTIFACT_STORE picks where new artifacts go; reading follows each artifact's own
`storage`, so switching the setting never orphans what was written before.
"""
from __future__ import annotations

import hashlib
import io
from typing import IO, Callable, Iterable, Iterator

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from runs.models import Run, RunArtifact

CHUNK = 1024 * 1024


def _storage():
    return storages["artifacts"]


def artifact_path(digest: str) -> str:
    """Where bytes with this SHA-256 live. Content-addressed: identical results
    (a cache hit, a clone, an import) share one file."""
    return f"sha256/{digest[:2]}/{digest}"


# Callables that, given storage paths, return those still used outside RunArtifact
# (for example by a result cache). Registered by the apps that hold such references.
_PATH_HOLDERS: list[Callable[[set[str]], set[str]]] = []


def register_path_holder(holder: Callable[[set[str]], set[str]]) -> None:
    if holder not in _PATH_HOLDERS:
        _PATH_HOLDERS.append(holder)


def paths_in_use(paths: set[str], *, excluding_artifacts: Iterable[int] = ()) -> set[str]:
    """The subset of `paths` that other artifacts or registered holders still use."""
    used = set(
        RunArtifact.objects.filter(path__in=paths).exclude(pk__in=list(excluding_artifacts)).values_list("path", flat=True)
    )
    for holder in _PATH_HOLDERS:
        used |= holder(paths - used)
    return used


def artifact_write(*, run: Run, name: str, data: bytes, content_type: str) -> RunArtifact:
    """Store `data` as the run's artifact `name` (replacing one of that name)."""
    digest = hashlib.sha256(data).hexdigest()
    existing = RunArtifact.objects.filter(run=run, name=name).first()
    if existing is not None:
        artifact_delete_bytes(existing)
        existing.delete()
    if settings.ARTIFACT_STORE == RunArtifact.Storage.DB:
        return RunArtifact.objects.create(
            run=run, name=name, content_type=content_type, storage=RunArtifact.Storage.DB,
            blob=data, size_bytes=len(data), sha256=digest,
        )
    storage = _storage()
    path = artifact_path(digest)
    if not storage.exists(path):
        storage.save(path, ContentFile(data))
    return RunArtifact.objects.create(
        run=run, name=name, content_type=content_type, storage=RunArtifact.Storage.FILE,
        path=path, size_bytes=len(data), sha256=digest,
    )


def artifact_open(artifact: RunArtifact) -> IO[bytes]:
    """Open the artifact's bytes for reading (the caller closes it)."""
    if artifact.storage == RunArtifact.Storage.DB:
        return io.BytesIO(bytes(artifact.blob or b""))
    return _storage().open(artifact.path, "rb")


def artifact_read(artifact: RunArtifact) -> bytes:
    with artifact_open(artifact) as fh:
        return fh.read()


def artifact_iter(artifact: RunArtifact, chunk_size: int = CHUNK) -> Iterator[bytes]:
    with artifact_open(artifact) as fh:
        while block := fh.read(chunk_size):
            yield block


def artifact_delete_bytes(artifact: RunArtifact) -> bool:
    """Delete the artifact's file unless another artifact or holder still uses it.

    Returns True when bytes were removed. The row itself is the caller's to delete.
    """
    if artifact.storage != RunArtifact.Storage.FILE or not artifact.path:
        return False
    if paths_in_use({artifact.path}, excluding_artifacts=[artifact.pk]):
        return False
    storage = _storage()
    if storage.exists(artifact.path):
        storage.delete(artifact.path)
        return True
    return False


def artifacts_checksum(artifacts: list[RunArtifact]) -> str:
    """SHA-256 over the artifacts' bytes read back from the store, in name order."""
    digest = hashlib.sha256()
    for artifact in sorted(artifacts, key=lambda a: a.name):
        for block in artifact_iter(artifact):
            digest.update(block)
    return digest.hexdigest()
