"""The validation panel: integrity checks of one run, read from what is stored."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from runs.selectors.checksums import run_checksum_problems
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
    if run.is_imported:
        # Digests that match prove the bytes were not altered since the import, nothing more:
        # whoever exported them could have recomputed every digest. Said first, plainly.
        source = f" from {run.imported_from}" if run.imported_from else ""
        checks.append(Check(
            "Origin: imported",
            True,
            f"imported{source} on {run.imported_at:%Y-%m-%d %H:%M} UTC; the checks below show the stored bytes "
            "are those imported, not that this installation computed them",
        ))
    artifacts = sorted(run.artifacts.all(), key=lambda a: a.name)
    if run.status == RunStatus.SUCCEEDED and not artifacts:
        checks.append(Check("Results stored", False, "the run succeeded but stored no result"))
    problems = run_checksum_problems(run, artifacts)
    for artifact in artifacts:
        mine = [p for p in problems if p.artifact == artifact.name]
        checks.append(Check(f"{artifact.name} intact", not mine,
                            "; ".join(p.message for p in mine) or "bytes match their SHA-256"))
    if artifacts:
        whole = [p for p in problems if not p.artifact]
        checks.append(Check("Run checksum", not whole,
                            "; ".join(p.message for p in whole) or "matches the stored bytes"))
    bad = _bad_numbers(run.metrics)
    checks.append(Check("Metrics free of NaN and nulls", not bad, ", ".join(bad[:10]) if bad else "all values are numbers or text"))
    try:
        kind = get_kind(run.kind)
    except UnknownKindError:
        kind = None
    if kind is not None and kind.validate is not None and run.status == RunStatus.SUCCEEDED:
        checks.extend(Check(label, ok, detail) for label, ok, detail in kind.validate(run))
    return checks
