"""Writes and reads of training datasets: generated or uploaded tables, checked by SHA-256."""
from __future__ import annotations

import hashlib
import io
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction

from simulations.training import data as dgp
from simulations.training.models import Dataset, DatasetFormat, DatasetKind, DatasetSourceFormat

# Distinct values kept in the schema per column (enough to tell a one-class target).
DISTINCT_CAP = 50
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_COLUMNS = 500


class DatasetIntegrityError(Exception):
    """The stored bytes of a dataset no longer match its checksum: never trained on."""


def _schema(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Per column: name, dtype, numeric or not, nulls, and its distinct values (capped)."""
    out = []
    for name in frame.columns:
        col = frame[name]
        numeric = bool(pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col))
        distinct = col.dropna().unique()
        entry: dict[str, Any] = {
            "name": str(name),
            "dtype": str(col.dtype),
            "numeric": numeric,
            "nulls": int(col.isna().sum()),
            "n_distinct": int(min(len(distinct), DISTINCT_CAP + 1)),
        }
        if numeric:
            finite = np.isfinite(col.to_numpy(dtype=float, na_value=np.nan))
            entry["non_finite"] = int((~finite).sum())
        if len(distinct) <= DISTINCT_CAP:
            values = sorted(distinct.tolist(), key=str)
            entry["values"] = [v if isinstance(v, (int, float, str, bool)) else str(v) for v in values]
        out.append(entry)
    return out


def _store(data: bytes) -> tuple[str, str]:
    """Put the bytes in the content-addressed artifact store; return (path, sha256)."""
    from runs.artifacts import artifact_path

    digest = hashlib.sha256(data).hexdigest()
    path = artifact_path(digest)
    storage = storages["artifacts"]
    if not storage.exists(path):
        saved = storage.save(path, ContentFile(data))
        if saved != path:  # a concurrent writer stored the same bytes first
            storage.delete(saved)
    return path, digest


def dataset_version_create(**fields: Any) -> Dataset:
    """Store the row of the next version of `fields["name"]` (1 for a new name).

    Two uploads under one name at once would pick the same number; the
    (name, version) constraint refuses the second, which then takes the next.
    """
    from django.db import IntegrityError
    from django.db.models import Max

    for _attempt in range(5):
        try:
            with transaction.atomic():
                latest = Dataset.objects.filter(name=fields["name"]).aggregate(v=Max("version"))["v"] or 0
                return Dataset.objects.create(version=latest + 1, **fields)
        except IntegrityError:
            if not Dataset.objects.filter(name=fields["name"]).exists():
                raise
    raise IntegrityError(f"could not number a new version of {fields['name']!r}: too many uploads at once")


def _create(*, name: str, kind: str, fmt: str, data: bytes, frame: pd.DataFrame, source: dict, user: Any) -> Dataset:
    if not name.strip():
        raise ValidationError({"name": ["A dataset needs a name."]})
    columns = _schema(frame)
    path, digest = _store(data)
    try:
        return dataset_version_create(
            name=name.strip()[:200], kind=kind, format=fmt, path=path, sha256=digest, size_bytes=len(data),
            rows=len(frame), columns=columns, source=source, created_by=user,
            source_format=DatasetSourceFormat.GENERATED if kind == DatasetKind.GENERATED else fmt,
            source_filename=str(source.get("filename", ""))[:255],
            source_size_bytes=None if kind == DatasetKind.GENERATED else len(data),
        )
    except Exception:
        # No row, no bytes: remove what was just stored unless something else holds the same content.
        from runs.artifacts import paths_in_use

        if not paths_in_use({path}):
            storages["artifacts"].delete(path)
        raise


def dataset_generate_credit(*, rows: int, seed: int, user: Any = None, name: str = "") -> Dataset:
    """Generate the credit book (docs/training.md) and store it as a Parquet dataset."""
    frame = dgp.generate_credit_data(rows=rows, seed=seed)
    return _create(
        name=name or f"credit book {rows:,} rows seed {seed}", kind=DatasetKind.GENERATED, fmt=DatasetFormat.PARQUET,
        data=dgp.frame_to_parquet(frame), frame=frame,
        source={"generator": "credit", "rows": rows, "seed": seed, "target": dgp.CREDIT_TARGET,
                "features": list(dgp.CREDIT_FEATURES), "truth": ["true_pd"]},
        user=user,
    )


def dataset_generate_market(*, days: int, seed: int, user: Any = None, name: str = "") -> Dataset:
    """Generate the regime-switching market series (docs/training.md) and store it as Parquet."""
    frame = dgp.generate_market_series(days=days, seed=seed)
    return _create(
        name=name or f"market series {days:,} days seed {seed}", kind=DatasetKind.GENERATED,
        fmt=DatasetFormat.PARQUET, data=dgp.frame_to_parquet(frame), frame=frame,
        source={"generator": "market", "days": days, "seed": seed, "series": True,
                "features": list(dgp.SERIES_FEATURES), "truth": list(dgp.SERIES_TRUTH)},
        user=user,
    )


def _parse(data: bytes, fmt: str) -> pd.DataFrame:
    """Read untrusted bytes as a table (CSV text or Parquet; nothing is unpickled)."""
    try:
        if fmt == DatasetFormat.CSV:
            frame = pd.read_csv(io.BytesIO(data))
        else:
            import pyarrow.parquet as pq

            frame = pq.read_table(io.BytesIO(data)).to_pandas()
    except Exception as exc:  # any parser error is the file's fault: say what it was
        raise ValidationError({"file": [f"Could not read the file as {fmt.upper()}: {type(exc).__name__}: {exc}"[:500]]})
    return frame


def dataset_upload(*, name: str, filename: str, data: bytes, user: Any) -> Dataset:
    """Store an uploaded CSV or Parquet file as a dataset after checking it is a usable table.

    The bytes go through the datasets ingest (datasets.services): read in batches,
    stored as Parquet with per-column statistics, as the next version of `name`.
    """
    from datasets.ingest import Ingested, IngestError
    from datasets.services import dataset_upload as ingest_upload

    lowered = filename.lower()
    if not lowered.endswith((".csv", ".parquet", ".pq")):
        raise ValidationError({"file": ["Upload a .csv or .parquet file."]})
    if not data:
        raise ValidationError({"file": ["The file is empty."]})
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": [f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."]})
    if lowered.endswith((".parquet", ".pq")) and not data.startswith(b"PAR1"):
        raise ValidationError({"file": ["Could not read the file as PARQUET: it does not start as a Parquet file does."]})

    def usable(result: Ingested) -> None:
        if result.rows < 1 or len(result.columns) < 2:
            raise IngestError("The table needs at least one row and two columns (a target and a feature).")
        if len(result.columns) > MAX_COLUMNS:
            raise IngestError(f"The table has more than {MAX_COLUMNS} columns.")

    try:
        return ingest_upload(user=user, file=io.BytesIO(data), name=name or filename, filename=filename, check=usable)
    except IngestError as exc:
        raise ValidationError({"file": [f"Could not read the file: {exc.message}"]}) from None


def dataset_read_bytes(*, dataset: Dataset, expected_sha256: str | None = None) -> bytes:
    """The dataset's bytes, refused (DatasetIntegrityError) if they no longer match
    its recorded checksum, or the checksum a run was launched with."""
    storage = storages["artifacts"]
    if not storage.exists(dataset.path):
        raise DatasetIntegrityError(f"dataset #{dataset.pk} ({dataset.name}): its file is gone from the store")
    with storage.open(dataset.path, "rb") as fh:
        data = fh.read()
    actual = hashlib.sha256(data).hexdigest()
    if actual != dataset.sha256:
        raise DatasetIntegrityError(
            f"dataset #{dataset.pk} ({dataset.name}): stored bytes no longer match its checksum "
            f"(recorded {dataset.sha256[:12]}…, found {actual[:12]}…); refused"
        )
    if expected_sha256 is not None and actual != expected_sha256:
        raise DatasetIntegrityError(
            f"dataset #{dataset.pk} ({dataset.name}): checksum {actual[:12]}… is not the one the run was "
            f"launched with ({expected_sha256[:12]}…); refused"
        )
    return data


def dataset_read_frame(*, dataset: Dataset, expected_sha256: str | None = None) -> pd.DataFrame:
    return _parse(dataset_read_bytes(dataset=dataset, expected_sha256=expected_sha256), dataset.format)


def dataset_paths_held(paths: set[str]) -> set[str]:
    """Artifact-store paths datasets still use (deleting a run must not delete them)."""
    return set(Dataset.objects.filter(path__in=paths).values_list("path", flat=True))
