"""Fixtures and helpers shared by the test_exchange_* modules (no tests here).

Runs are made through the real services: a demo run executed eagerly, and a run
that also holds a real Parquet result written through the artifact store.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from runs.artifacts import artifact_write, artifacts_checksum
from runs.models import Run, RunArtifact, RunLog, RunStatus
from runs.services.exchange import ImportRefused, run_export, run_import
from runs.services.lifecycle import run_create


def parquet_bytes(rows: int = 500, seed: int = 3) -> bytes:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "position_id": [f"P{i:07d}" for i in range(rows)],
            "notional": rng.uniform(1e3, 1e6, rows).round(2),
            "product": rng.choice(["loan", "bond", "deposit"], rows),
        }
    )
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink, compression="zstd")
    return sink.getvalue()


@pytest.fixture
def artifact_root(tmp_path: Path, settings: Any) -> Path:
    """A private, empty artifact store, so tests can see every file an import writes."""
    root = tmp_path / "artifacts"
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    return root


@pytest.fixture
def finished_run(analyst, demo_params, django_capture_on_commit_callbacks, artifact_root) -> Run:
    """A demo run launched by an analyst and executed to SUCCEEDED: logs, metrics, one JSON result."""
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="demo", params=demo_params, owner=analyst, tags=["nightly", "eu"], notes="baseline")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.checksum
    return run


@pytest.fixture
def parquet_run(finished_run: Run) -> Run:
    """The demo run with a real Parquet result beside its JSON one, and the checksum of both."""
    artifact_write(run=finished_run, name="positions.parquet", data=parquet_bytes(), content_type="application/vnd.apache.parquet")
    checksum = artifacts_checksum(list(finished_run.artifacts.all()))
    Run.objects.filter(pk=finished_run.pk).update(checksum=checksum)
    finished_run.refresh_from_db()
    return finished_run


def export_bytes(run: Run, fmt: str, **kwargs: Any) -> bytes:
    return b"".join(run_export(run=run, fmt=fmt, **kwargs).chunks)


def artifact_bytes(run: Run) -> dict[str, bytes]:
    from runs.artifacts import artifact_read

    return {a.name: artifact_read(a) for a in run.artifacts.all()}


def files_in(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def snapshot(root: Path) -> tuple[int, int, int, set[Path]]:
    return Run.objects.count(), RunLog.objects.count(), RunArtifact.objects.count(), files_in(root)


def forget(run: Run, root: Path) -> None:
    """Delete the run and its files, as if it had only ever lived in another installation."""
    run.delete()
    for path in files_in(root):
        path.unlink()


def assert_refused(root: Path, data: bytes, match: str, exc: type = ImportRefused, **kwargs: Any) -> ImportRefused:
    """Import `data`, expect a refusal whose message contains `match`, and check nothing was written."""
    before = snapshot(root)
    kwargs.setdefault("actor", None)
    with pytest.raises(exc) as info:
        run_import(file=data, **kwargs)
    assert match.lower() in info.value.message.lower(), info.value.message
    assert snapshot(root) == before
    return info.value


def rezip(bundle: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """Copy a bundle member by member through `change(name, data)`; None drops the member."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info.filename, data)
    return out.getvalue()


def edit_json(data: bytes, change: Callable[[dict], Any]) -> bytes:
    document = json.loads(data)
    change(document)
    return json.dumps(document).encode()
