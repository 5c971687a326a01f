"""The artifact store: result bytes kept as files (through Django's storage API) or DB blobs.

ARTIFACT_STORE picks where new artifacts go; reading follows each artifact's own
`storage`, so switching the setting never orphans what was written before.
"""
from __future__ import annotations

import hashlib
import io
from typing import IO, Iterator

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from runs.models import Run, RunArtifact

CHUNK = 1024 * 1024


def _storage():
    return storages["artifacts"]


def artifact_path(run: Run, name: str) -> str:
    return f"runs/{run.pk}/{name}"


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
    path = artifact_path(run, name)
    if storage.exists(path):
        storage.delete(path)
    saved = storage.save(path, ContentFile(data))
    return RunArtifact.objects.create(
        run=run, name=name, content_type=content_type, storage=RunArtifact.Storage.FILE,
        path=saved, size_bytes=len(data), sha256=digest,
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


def artifact_delete_bytes(artifact: RunArtifact) -> None:
    if artifact.storage == RunArtifact.Storage.FILE and artifact.path:
        storage = _storage()
        if storage.exists(artifact.path):
            storage.delete(artifact.path)


def artifacts_checksum(artifacts: list[RunArtifact]) -> str:
    """SHA-256 over the artifacts' bytes read back from the store, in name order."""
    digest = hashlib.sha256()
    for artifact in sorted(artifacts, key=lambda a: a.name):
        for block in artifact_iter(artifact):
            digest.update(block)
    return digest.hexdigest()
