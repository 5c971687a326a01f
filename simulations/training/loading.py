"""Loading the model a SUCCEEDED training run stored, for scoring (a registry loads versions with this).

Nothing here unpickles: scikit-learn models are skops files loaded with an explicit
list of trusted types (anything else in the file is refused), HMM and GARCH models
are JSON parameters. The file's SHA-256 is checked against the run's artifact
record and the run checksum before anything is loaded: an altered file is refused.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from runs.models import Run, RunArtifact

# Types a model file of ours may hold beyond skops' defaults: exactly those our
# pipelines use (HistGradientBoosting trees, the MLP optimiser's state).
TRUSTED_TYPES = [
    "functools.partial",
    "sklearn.utils.validation.check_array",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
]


class ModelIntegrityError(Exception):
    """The model cannot be loaded safely: not a succeeded training run of ours, or its bytes changed."""


@dataclass
class Fitted:
    """A loaded model: `predict(frame)`, `predict_proba(frame)` and the columns it needs."""

    run_id: str
    model_type: str
    features: list[str]
    target: str
    metadata: dict[str, Any]
    _model: Any = field(repr=False, default=None)

    def _frame(self, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"missing column(s): {', '.join(missing)}")
        return frame[columns]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Class labels; for GARCH, the one-step-ahead conditional variance of each row's day."""
        if self.model_type == "vol_garch":
            return self._model.variance(self._frame(frame, [self.target])[self.target].to_numpy(float))
        if self.model_type == "regime_hmm":
            return self._model.predict(self._frame(frame, self.features).to_numpy(float))
        with _native_threads():
            return self._model.predict(_features(self._frame(frame, self.features)))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns in `self.classes` order (classifiers and the HMM)."""
        if self.model_type == "vol_garch":
            raise ValueError("a volatility forecaster gives variances, not class probabilities")
        if self.model_type == "regime_hmm":
            return self._model.predict_proba(self._frame(frame, self.features).to_numpy(float))
        with _native_threads():
            return self._model.predict_proba(_features(self._frame(frame, self.features)))


def _native_threads() -> Any:
    """The thread limit of a fit (RUNSIGHT_TRAINING_THREADS) for a prediction too: a small batch
    gains nothing from an OpenMP thread per core, and on a busy host those threads wait on each
    other (10,000 rows of gradient boosting took four times longer without the limit)."""
    import sklearn.ensemble  # noqa: F401  (its OpenMP runtime must be loaded before the limit is set)
    from threadpoolctl import threadpool_limits

    from simulations.training.kind import training_threads

    return threadpool_limits(limits=training_threads())

    @property
    def classes(self) -> list[str]:
        return list(self.metadata.get("metrics", {}).get("classes", []))


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_bool_dtype(out[c]):
            out[c] = out[c].astype(str).astype(object)
    return out


class _Hmm:
    """A Gaussian HMM rebuilt from its JSON parameters; states map to regime labels."""

    def __init__(self, params: dict[str, Any]) -> None:
        from hmmlearn.hmm import GaussianHMM

        n = int(params["n_components"])
        self.scale = float(params["scale"])
        self.labels = list(params["state_labels"])
        self.classes = sorted(set(self.labels), key=str)
        model = GaussianHMM(n_components=n, covariance_type="full", init_params="", params="")
        model.startprob_ = np.asarray(params["startprob"], float)
        model.transmat_ = np.asarray(params["transmat"], float)
        model.means_ = np.asarray(params["means"], float)
        model.covars_ = np.asarray(params["covars"], float)
        model.n_features = model.means_.shape[1]
        self.model = model

    def predict(self, X: np.ndarray) -> np.ndarray:
        states = self.model.predict(X * self.scale)
        return np.array([self.labels[s] for s in states])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        post = self.model.predict_proba(X * self.scale)
        out = np.zeros((len(X), len(self.classes)))
        for s, label in enumerate(self.labels):
            out[:, self.classes.index(label)] += post[:, s]
        return out


class _Garch:
    def __init__(self, params: dict[str, Any]) -> None:
        self.p = params

    def variance(self, returns: np.ndarray) -> np.ndarray:
        from simulations.training.fit import garch_variance

        p = self.p
        return garch_variance(returns, mu=p["mu"], omega=p["omega"], alpha=p["alpha"], beta=p["beta"],
                              initial_variance=p["initial_variance"])


def _read_checked(artifact: RunArtifact) -> bytes:
    from runs.artifacts import artifact_read

    try:
        data = artifact_read(artifact)
    except (OSError, FileNotFoundError) as exc:
        raise ModelIntegrityError(f"{artifact.name}: cannot be read from the store ({exc})") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != artifact.sha256:
        raise ModelIntegrityError(
            f"{artifact.name}: the stored file was altered (SHA-256 {actual[:12]}…, recorded {artifact.sha256[:12]}…); refused"
        )
    return data


def load_fitted(run: Run) -> Fitted:
    """The model of a SUCCEEDED training run computed here, verified before it is loaded."""
    from runs.artifacts import artifacts_checksum

    if run.kind != "training":
        raise ModelIntegrityError(f"{run.run_id} is a {run.kind} run, not a training run")
    if run.status != "SUCCEEDED":
        raise ModelIntegrityError(f"{run.run_id} is {run.status}: only a succeeded training run has a model")
    if getattr(run, "is_imported", False):
        raise ModelIntegrityError(f"{run.run_id} was imported: its model was not trained here and is never loaded")
    artifacts = {a.name: a for a in run.artifacts.all()}
    model_artifact = artifacts.get("model.skops") or artifacts.get("model.json")
    if model_artifact is None or "metadata.json" not in artifacts:
        raise ModelIntegrityError(f"{run.run_id}: its model or metadata file is missing")
    model_bytes = _read_checked(model_artifact)
    metadata_bytes = _read_checked(artifacts["metadata.json"])
    if run.checksum and artifacts_checksum(list(artifacts.values())) != run.checksum:
        raise ModelIntegrityError(f"{run.run_id}: its files no longer match the run checksum; refused")
    metadata = json.loads(metadata_bytes)
    if metadata.get("model_sha256") != model_artifact.sha256:
        raise ModelIntegrityError(f"{run.run_id}: the metadata names another model file; refused")
    model_type = metadata["model_type"]
    if model_artifact.name == "model.skops":
        import skops.io as sio
        from skops.io.exceptions import UntrustedTypesFoundException

        try:
            model = sio.loads(model_bytes, trusted=TRUSTED_TYPES)
        except UntrustedTypesFoundException as exc:
            raise ModelIntegrityError(f"{run.run_id}: the model file holds types we do not trust ({exc}); refused") from None
    else:
        params = json.loads(model_bytes)
        model = _Hmm(params) if params.get("format") == "runsight.hmm/1" else _Garch(params)
    return Fitted(run_id=run.run_id, model_type=model_type, features=list(metadata["features"]),
                  target=metadata["target"], metadata=metadata, _model=model)
