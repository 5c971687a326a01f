"""The validation panel: integrity checks of one run, read from what is stored."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from runs.artifacts import artifact_iter
from runs.kinds import UnknownKindError, get_kind
from runs.models import Run, RunStatus


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool
    detail: str = ""


def _bad_numbers(value: Any, path: str = "") -> list[str]:
    """Paths of NaN, infinite or null values inside metrics."""
    if value is None:
        return [path or "(root)"]
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _bad_numbers(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _bad_numbers(v, f"{path}[{i}]")]
    return []


def run_validation(run: Run) -> list[Check]:
    """Re-read the run's stored bytes and check them against what the run records."""
    checks: list[Check] = []
    artifacts = sorted(run.artifacts.all(), key=lambda a: a.name)
    if run.status == RunStatus.SUCCEEDED and not artifacts:
        checks.append(Check("Results stored", False, "the run succeeded but stored no result"))
    whole = hashlib.sha256()
    for artifact in artifacts:
        own = hashlib.sha256()
        size = 0
        try:
            for block in artifact_iter(artifact):
                own.update(block)
                whole.update(block)
                size += len(block)
        except (OSError, FileNotFoundError) as exc:
            checks.append(Check(f"{artifact.name} readable", False, str(exc)))
            continue
        ok = own.hexdigest() == artifact.sha256 and size == artifact.size_bytes
        detail = "bytes match their SHA-256" if ok else f"stored bytes hash to {own.hexdigest()[:16]}…, expected {artifact.sha256[:16]}…"
        checks.append(Check(f"{artifact.name} intact", ok, detail))
    if artifacts:
        actual = whole.hexdigest()
        ok = actual == run.checksum
        checks.append(Check("Run checksum", ok, "matches the stored bytes" if ok else f"recorded {run.checksum[:16] or '(none)'}…, bytes give {actual[:16]}…"))
    bad = _bad_numbers(run.metrics)
    checks.append(Check("Metrics free of NaN and nulls", not bad, ", ".join(bad[:10]) if bad else "all values are numbers or text"))
    try:
        kind = get_kind(run.kind)
    except UnknownKindError:
        kind = None
    if kind is not None and kind.validate is not None and run.status == RunStatus.SUCCEEDED:
        checks.extend(Check(label, ok, detail) for label, ok, detail in kind.validate(run))
    return checks
