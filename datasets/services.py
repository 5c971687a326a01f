"""Writes of datasets: upload (a new name or a new version), description, delete.

Every surface (page, API, admin, `dataset_load`, training's own upload) calls
these. An upload is read into one Parquet file in a temporary folder, hashed,
put once into the content-addressed artifact store, and only then given its
row: a refused file leaves nothing behind.

Other apps add their own checks on dataset writes with `register_dataset_guard`
(a project's membership and editing lock) and hear of new versions with
`register_dataset_listener` (a project files the version it was uploaded for).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from typing import IO, Any, Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction

from accounts import roles
from accounts.services import audit_record
from datasets.ingest import Ingested, IngestError, ingest
from simulations.training.datasets import dataset_version_create
from simulations.training.models import Dataset, DatasetFormat, DatasetKind

HASH_CHUNK = 1024 * 1024

# guard(*, user, action, name, dataset, project) raises PermissionDenied or ValidationError.
DatasetGuard = Callable[..., None]
# listener(*, user, dataset, project) runs inside the upload's transaction.
DatasetListener = Callable[..., None]
_GUARDS: list[DatasetGuard] = []
_LISTENERS: list[DatasetListener] = []


def register_dataset_guard(guard: DatasetGuard) -> None:
    """Add a check every dataset write passes before it changes anything."""
    if guard not in _GUARDS:
        _GUARDS.append(guard)


def register_dataset_listener(listener: DatasetListener) -> None:
    """Be told of each new version, inside the transaction that stores it."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def _guard(*, user: Any, action: str, name: str, dataset: Dataset | None = None, project: Any = None) -> None:
    for guard in _GUARDS:
        guard(user=user, action=action, name=name, dataset=dataset, project=project)


def _check_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise ValidationError({"name": ["A dataset needs a name."]})
    if len(cleaned) > 200:
        raise ValidationError({"name": ["A dataset name has at most 200 characters."]})
    if any(ord(ch) < 32 for ch in cleaned):
        raise ValidationError({"name": ["A dataset name cannot hold control characters (tabs, line breaks)."]})
    return cleaned


def _sha256_of(fh: IO[bytes]) -> str:
    fh.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: fh.read(HASH_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _store_file(fh: IO[bytes], digest: str) -> str:
    """Put the file into the content-addressed store (once: identical bytes share a path)."""
    from runs.artifacts import artifact_path

    path = artifact_path(digest)
    storage = storages["artifacts"]
    if not storage.exists(path):
        fh.seek(0)
        saved = storage.save(path, File(fh, name=os.path.basename(path)))
        if saved != path:  # a concurrent writer stored the same bytes first
            storage.delete(saved)
    return path


def _forget_file(path: str) -> None:
    from runs.artifacts import paths_in_use

    if not paths_in_use({path}):
        storages["artifacts"].delete(path)


def _size_of(file: IO[bytes]) -> int:
    size = getattr(file, "size", None)
    if isinstance(size, int):
        return size
    position = file.tell()
    file.seek(0, os.SEEK_END)
    end = file.tell()
    file.seek(position)
    return end


def dataset_upload(
    *,
    user: Any,
    file: IO[bytes],
    name: str,
    filename: str = "",
    sheet: str | None = None,
    description: str = "",
    project: Any = None,
    check: Callable[[Ingested], None] | None = None,
) -> Dataset:
    """Read an uploaded CSV, xlsx, JSON records or Parquet file and store it as the next version of `name`.

    Raises PermissionDenied (roles, or a guard such as a project's lock),
    ValidationError for a bad name or a file over DATASET_MAX_UPLOAD_BYTES, and
    IngestError naming the row and column of what is wrong in the file (or raised by `check`,
    which sees what was read before anything is stored).
    """
    # `user` None is the operator at the command line (`dataset_load` without --user), trusted like other commands.
    if user is not None and not roles.can_edit_datasets(user):
        raise PermissionDenied("You may not upload datasets.")
    name = _check_name(name or os.path.splitext(os.path.basename(filename))[0])
    _guard(user=user, action="upload", name=name, project=project)
    filename = os.path.basename(filename or getattr(file, "name", "") or "")[:255]
    size = _size_of(file)
    limit = settings.DATASET_MAX_UPLOAD_BYTES
    if size > limit:
        raise ValidationError({"file": [f"The file is {size:,} bytes; the limit is {limit:,} bytes."]})
    if hasattr(file, "seek"):
        file.seek(0)
    with tempfile.NamedTemporaryFile(prefix="dataset-", suffix=".parquet") as sink:
        result: Ingested = ingest(file, sink, filename=filename, sheet=(sheet or "").strip() or None)
        if check is not None:  # a caller's own requirement (training wants two columns), before anything is stored
            check(result)
        sink.flush()
        digest = _sha256_of(sink)
        stored_size = sink.tell()
        path = _store_file(sink, digest)
    source: dict[str, Any] = {"filename": filename}
    if result.sheet:
        source["sheet"] = result.sheet
    try:
        with transaction.atomic():
            dataset = dataset_version_create(
                name=name, kind=DatasetKind.UPLOADED, format=DatasetFormat.PARQUET, path=path, sha256=digest,
                size_bytes=stored_size, rows=result.rows, columns=result.columns, source=source, created_by=user,
                description=(description or "").strip()[:4000], source_filename=filename,
                source_format=result.source_format, source_size_bytes=size,
            )
            for listener in _LISTENERS:
                listener(user=user, dataset=dataset, project=project)
            audit_record(actor=user, action="dataset.upload", target=dataset.label, detail={
                "id": dataset.pk, "version": dataset.version, "sha256": digest, "rows": dataset.rows,
                "source_filename": filename, "source_format": result.source_format,
                "project": getattr(project, "pk", None),
            })
    except Exception:
        # No row, no bytes: remove what was just stored unless something else holds the same content.
        _forget_file(path)
        raise
    pk = dataset.pk
    transaction.on_commit(lambda: _index_later(pk))
    return dataset


def dataset_index_build(*, dataset_pk: int) -> str | None:
    """Build the preview index of a version on this machine (see datasets.query.build_index); None if the
    version is gone or not Parquet. Idempotent: an index already there is kept."""
    from datasets.query import build_index
    from datasets.selectors import dataset_index_path, dataset_local_path

    dataset = Dataset.objects.filter(pk=dataset_pk, format=DatasetFormat.PARQUET).first()
    if dataset is None:
        return None
    target = dataset_index_path(dataset=dataset)
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        build_index(dataset_local_path(dataset=dataset), target)
    return target


def _index_later(dataset_pk: int) -> None:
    """Ask a worker to build the preview index; previews read the Parquet file until it exists."""
    import logging

    from datasets.tasks import build_preview_index

    try:
        build_preview_index.delay(dataset_pk)
    except Exception as exc:  # the broker is down: previews stay correct, only slower
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        logging.getLogger(__name__).warning("dataset %s: preview index not queued (%s)", dataset_pk, exc)


def dataset_load_path(*, user: Any, path: str, name: str, sheet: str | None = None, description: str = "",
                      project: Any = None) -> Dataset:
    """`dataset_upload` of a file on disk (the `dataset_load` command)."""
    with open(path, "rb") as fh:
        return dataset_upload(user=user, file=fh, name=name, filename=os.path.basename(path), sheet=sheet,
                              description=description, project=project)


def dataset_edit_check(*, user: Any, dataset: Dataset) -> None:
    """Raise what `dataset_update` by `user` would be refused with now (roles, then the guards, such as a
    project's lock); change nothing. Lets a form (the admin's) show the refusal as an error before it saves."""
    if not roles.can_edit_dataset(user, dataset):
        raise PermissionDenied("You may not edit datasets.")
    _guard(user=user, action="edit", name=dataset.name, dataset=dataset)


@transaction.atomic
def dataset_update(*, user: Any, dataset: Dataset, description: str) -> Dataset:
    """Change a version's description (its data never changes: upload a new version instead)."""
    if not roles.can_edit_dataset(user, dataset):
        raise PermissionDenied("You may not edit datasets.")
    _guard(user=user, action="edit", name=dataset.name, dataset=dataset)
    description = (description or "").strip()
    if len(description) > 4000:
        raise ValidationError({"description": ["A description has at most 4,000 characters."]})
    before = dataset.description
    if before == description:
        return dataset
    dataset.description = description
    dataset.save(update_fields=["description"])
    audit_record(actor=user, action="dataset.edit", target=dataset.label,
                 detail={"id": dataset.pk, "description": {"before": before, "after": description}})
    return dataset


def dataset_delete(*, user: Any, dataset: Dataset) -> None:
    """Delete one version and, unless something else holds them, its bytes; refused while runs used it."""
    from datasets.selectors import dataset_runs

    if not roles.can_delete_dataset(user, dataset):
        raise PermissionDenied("You may not delete datasets.")
    _guard(user=user, action="delete", name=dataset.name, dataset=dataset)
    used = list(dataset_runs(dataset=dataset).values_list("run_id", flat=True)[:5])
    if used:
        raise ValidationError(
            f"{dataset.label} is the input of run(s) {', '.join(used)}; it stays so that they can be reproduced."
        )
    path, label, pk = dataset.path, dataset.label, dataset.pk
    with transaction.atomic():
        dataset.delete()
        audit_record(actor=user, action="dataset.delete", target=label, detail={"id": pk, "sha256": dataset.sha256})
    transaction.on_commit(lambda: _forget_file(path))
    transaction.on_commit(lambda: _forget_index(dataset))


def _forget_index(dataset: Dataset) -> None:
    """Remove this machine's preview index of the bytes once no version holds them any more."""
    from datasets.selectors import dataset_index_path

    if Dataset.objects.filter(sha256=dataset.sha256).exists():
        return
    index = dataset_index_path(dataset=dataset)
    if os.path.exists(index):
        os.remove(index)


__all__ = [
    "IngestError", "dataset_upload", "dataset_load_path", "dataset_edit_check", "dataset_update", "dataset_delete",
    "register_dataset_guard", "register_dataset_listener",
]
