"""Checksum verification: re-hash a run's stored bytes and say what does not match."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable, Collection

from django.db.models import Q

from runs.artifacts import artifact_iter, artifacts_checksum
from runs.models import Run, RunArtifact, RunOrigin, RunStatus


@dataclass(frozen=True)
class ChecksumMismatch:
    run_id: str
    problem: str  # one of the PROBLEM_* values below
    artifact: str = ""
    expected: str = ""
    actual: str = ""

    @property
    def message(self) -> str:
        where = f"{self.run_id} {self.artifact}".strip()
        if self.problem == PROBLEM_ARTIFACT_ALTERED:
            return f"{where}: stored bytes hash to {self.actual}, the artifact recorded {self.expected}"
        if self.problem == PROBLEM_ARTIFACT_MISSING:
            return f"{where}: the stored file is missing ({self.actual})"
        if self.problem == PROBLEM_RUN_CHECKSUM_MISSING:
            return f"{where}: no checksum recorded; the stored bytes hash to {self.actual}"
        return f"{where}: run checksum {self.expected or '(none)'} but the stored bytes hash to {self.actual or '(none)'}"


PROBLEM_ARTIFACT_ALTERED = "artifact_altered"
PROBLEM_ARTIFACT_MISSING = "artifact_missing"
PROBLEM_RUN_CHECKSUM_MISMATCH = "run_checksum_mismatch"
PROBLEM_RUN_CHECKSUM_MISSING = "run_checksum_missing"


@dataclass(frozen=True)
class ChecksumReport:
    runs_checked: int
    artifacts_checked: int
    mismatches: list[ChecksumMismatch]
    # Runs whose bytes were imported: matching digests prove only that nothing changed since.
    imported: list[str] = field(default_factory=list)
    # What a registered trust audit found (e.g. a cache entry not computed by this installation).
    untrusted: list[str] = field(default_factory=list)


# Callables returning problems of trust outside the runs themselves, one sentence each: the
# apps that keep results on behalf of other runs (a result cache) register one.
_TRUST_AUDITS: list[Callable[[], list[str]]] = []


def register_trust_audit(audit: Callable[[], list[str]]) -> None:
    if audit not in _TRUST_AUDITS:
        _TRUST_AUDITS.append(audit)


def runs_verify_checksums(*, run_ids: Collection[str] | None = None) -> ChecksumReport:
    """Re-hash the stored bytes of every finished run that has artifacts or a checksum.

    Each artifact is compared with its own recorded SHA-256 (naming the artifact
    that changed) and the run's checksum with artifacts_checksum over its bytes.
    Active runs are skipped: their results are not final.
    """
    runs = Run.objects.exclude(status__in=(RunStatus.PENDING, RunStatus.RUNNING)).order_by("run_id")
    if run_ids is not None:
        runs = runs.filter(run_id__in=list(run_ids))
    with_results = runs.filter(Q(pk__in=RunArtifact.objects.values("run_id")) | ~Q(checksum=""))
    mismatches: list[ChecksumMismatch] = []
    imported: list[str] = []
    runs_checked = artifacts_checked = 0
    rows = with_results.only("pk", "run_id", "checksum", "origin").prefetch_related("artifacts")
    for run in rows.iterator(chunk_size=500):
        runs_checked += 1
        artifacts = list(run.artifacts.all())
        artifacts_checked += len(artifacts)
        mismatches += run_checksum_problems(run, artifacts)
        if run.origin == RunOrigin.IMPORT:
            imported.append(run.run_id)
    untrusted = [problem for audit in _TRUST_AUDITS for problem in audit()] if run_ids is None else []
    return ChecksumReport(
        runs_checked=runs_checked, artifacts_checked=artifacts_checked, mismatches=mismatches,
        imported=imported, untrusted=untrusted,
    )


def run_checksum_problems(run: Run, artifacts: list[RunArtifact]) -> list[ChecksumMismatch]:
    """What is wrong with the run's stored bytes: altered or missing artifacts, a
    missing or different run checksum. Empty when everything matches."""
    found: list[ChecksumMismatch] = []
    digests: list[str] = []
    for artifact in artifacts:
        try:
            digest = hashlib.sha256()
            for block in artifact_iter(artifact):
                digest.update(block)
        except FileNotFoundError:
            found.append(ChecksumMismatch(run.run_id, PROBLEM_ARTIFACT_MISSING, artifact.name, artifact.sha256, artifact.path))
            continue
        digests.append(digest.hexdigest())
        if digest.hexdigest() != artifact.sha256:
            found.append(
                ChecksumMismatch(run.run_id, PROBLEM_ARTIFACT_ALTERED, artifact.name, artifact.sha256, digest.hexdigest())
            )
    if any(m.problem == PROBLEM_ARTIFACT_MISSING for m in found):
        return found  # the run checksum cannot be recomputed without the bytes
    if len(artifacts) == 1:
        actual = digests[0]  # the checksum of one artifact is its own digest: no second read
    else:
        actual = artifacts_checksum(artifacts) if artifacts else ""
    if not run.checksum and actual:
        found.append(ChecksumMismatch(run.run_id, PROBLEM_RUN_CHECKSUM_MISSING, actual=actual))
    elif run.checksum != actual:
        found.append(ChecksumMismatch(run.run_id, PROBLEM_RUN_CHECKSUM_MISMATCH, expected=run.checksum, actual=actual))
    return found
