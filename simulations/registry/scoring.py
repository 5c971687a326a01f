"""Scoring with a registered version: resolve alias or number, load once per process, verify every use.

Loaded models are kept in a small per-process LRU keyed by the model file's SHA-256
(`REGISTRY_MODEL_CACHE_SIZE`), so a worker parses a file once. The file's bytes are
hashed again before every use (cheap next to a prediction): a file altered on disk
after it was loaded is refused too, and the cached copy is dropped.
"""
from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings

from simulations.registry.models import ModelVersion, RegisteredModel
from simulations.training.loading import Fitted, ModelIntegrityError, load_fitted


class ScoringError(Exception):
    """A refusal with an HTTP status: 400 bad batch, 404 unknown version/alias, 409 model refused."""

    def __init__(self, message: str, *, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


_CACHE: OrderedDict[str, Fitted] = OrderedDict()
_LOCK = threading.Lock()


def cache_size() -> int:
    return int(getattr(settings, "REGISTRY_MODEL_CACHE_SIZE", 8))


def max_rows() -> int:
    return int(getattr(settings, "REGISTRY_PREDICT_MAX_ROWS", 10_000))


def cache_clear() -> None:
    with _LOCK:
        _CACHE.clear()


def resolve_version(model: RegisteredModel, *, alias: str | None = None, version: Any = None) -> ModelVersion:
    """The version named by alias or number (default: the champion)."""
    if model.archived_at is not None:
        raise ScoringError(f"{model.name} is archived and serves no prediction", status=409)
    if version not in (None, ""):
        try:
            number = int(version)
        except (TypeError, ValueError):
            raise ScoringError(f"version must be a number, not {version!r}") from None
        found = model.versions.filter(number=number).select_related("run").first()
        if found is None:
            raise ScoringError(f"{model.name} has no version {number}", status=404)
    else:
        name = alias or "champion"
        row = model.aliases.select_related("version__run").filter(name=name).first()
        if row is None:
            raise ScoringError(f"{model.name} has no alias {name!r}", status=404)
        found = row.version
    if found.archived_at is not None:
        raise ScoringError(f"{model.name} v{found.number} is archived and serves no prediction", status=409)
    return found


def _verify_bytes(version: ModelVersion) -> None:
    from runs.artifacts import artifact_read

    run = version.run
    if run is None:
        raise ModelIntegrityError(f"the source run {version.source_run_id} was deleted: its model file is gone")
    artifact = run.artifacts.filter(name=version.artifact_name).first()
    if artifact is None:
        raise ModelIntegrityError(f"{version.artifact_name} of {run.run_id} is missing")
    if artifact.sha256 != version.artifact_sha256:
        raise ModelIntegrityError(f"{run.run_id}: its model record no longer matches the registered version; refused")
    try:
        data = artifact_read(artifact)
    except OSError as exc:
        raise ModelIntegrityError(f"{artifact.name}: cannot be read from the store ({exc})") from None
    if hashlib.sha256(data).hexdigest() != version.artifact_sha256:
        raise ModelIntegrityError(
            f"{artifact.name} of {run.run_id} was altered on disk (its SHA-256 no longer matches the registered "
            f"{version.artifact_sha256[:12]}…); refused"
        )


def fitted_for(version: ModelVersion) -> Fitted:
    """The loaded model of `version`, verified against its registered SHA-256 before it is used."""
    key = version.artifact_sha256
    try:
        _verify_bytes(version)
    except ModelIntegrityError as exc:
        with _LOCK:
            _CACHE.pop(key, None)
        raise ScoringError(str(exc), status=409, refused="model_integrity") from None
    with _LOCK:
        fitted = _CACHE.get(key)
        if fitted is not None:
            _CACHE.move_to_end(key)
            return fitted
    try:
        fitted = load_fitted(version.run)
    except ModelIntegrityError as exc:
        raise ScoringError(str(exc), status=409, refused="model_integrity") from None
    with _LOCK:
        _CACHE[key] = fitted
        while len(_CACHE) > cache_size():
            _CACHE.popitem(last=False)
    return fitted


def required_columns(fitted: Fitted) -> list[str]:
    return [fitted.target] if fitted.model_type == "vol_garch" else list(fitted.features)


def check_frame(fitted: Fitted, frame: pd.DataFrame) -> pd.DataFrame:
    """Refuse a batch that cannot be scored: too many rows, missing columns, empty cells."""
    if len(frame) == 0:
        raise ScoringError("the batch has no rows")
    if len(frame) > max_rows():
        raise ScoringError(f"the batch has {len(frame):,} rows; at most {max_rows():,} are scored at once")
    needed = required_columns(fitted)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ScoringError(f"missing column(s): {', '.join(missing)}", missing=missing, required=needed)
    empty = [c for c in needed if frame[c].isna().any()]
    if empty:
        raise ScoringError(f"empty or NaN values in column(s): {', '.join(empty)}", columns=empty)
    return frame


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Scored:
    version: ModelVersion
    predictions: list[Any]
    classes: list[Any] | None
    probabilities: list[list[float]] | None


def score(version: ModelVersion, frame: pd.DataFrame) -> Scored:
    from threadpoolctl import threadpool_limits

    fitted = fitted_for(version)
    check_frame(fitted, frame)
    try:
        # One native thread: a web process serves requests on threads already, and more
        # OpenMP threads than cores made a 10k-row gradient-boosting batch several times slower.
        with threadpool_limits(limits=int(getattr(settings, "REGISTRY_PREDICT_THREADS", 1))):
            probabilities = classes = None
            if fitted.model_type == "vol_garch":
                predictions = [_plain(v) for v in fitted.predict(frame)]
            else:
                proba = fitted.predict_proba(frame)
                probabilities = [[round(float(p), 6) for p in row] for row in proba]
                # The fitted model's own labels (same type as the predictions); the metadata's as a fallback.
                labels = getattr(fitted._model, "classes_", None)
                if labels is None:
                    labels = getattr(fitted._model, "classes", None) or fitted.classes
                classes = [_plain(c) for c in labels]
                if fitted.model_type == "regime_hmm":
                    # The HMM's labels are its Viterbi path, not the per-day most probable state.
                    predictions = [_plain(v) for v in fitted.predict(frame)]
                else:
                    # A scikit-learn classifier's predict is the arg-max of predict_proba: computed once.
                    predictions = [classes[i] for i in np.asarray(proba).argmax(axis=1)]
    except (ValueError, TypeError) as exc:
        raise ScoringError(f"the batch cannot be scored by {version.model.name} v{version.number}: {exc}") from None
    return Scored(version=version, predictions=predictions, classes=classes, probabilities=probabilities)
