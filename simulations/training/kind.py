"""The training run kind: fits a model on a stored dataset on a worker and measures it on held-out rows."""
from __future__ import annotations

import json
import os
import platform
import time
from typing import Any

from runs.context import RunContext
from runs.kinds import RunKind, register
from runs.models import Run
from simulations.training.params import TrainingParamsForm

MODEL_FILE = {"skops": ("model.skops", "application/octet-stream"), "json": ("model.json", "application/json")}
METADATA_FILE = "metadata.json"
TRAIN_PERMISSION = "simulations.train_model"
# How often a running fit publishes its loss curves so far (the run page polls each second).
LIVE_CURVE_SECONDS = 1.0


def training_threads() -> int:
    """Native threads a fit may use (BLAS, OpenMP). One by default: on a shared worker host,
    several OpenMP teams spinning on the same cores make a fit many times slower."""
    try:
        return max(1, int(os.environ.get("RUNSIGHT_TRAINING_THREADS", "1")))
    except ValueError:
        return 1


def library_versions() -> dict[str, str]:
    import arch
    import hmmlearn
    import numpy
    import pandas
    import scipy
    import sklearn
    import skops

    return {
        "python": platform.python_version(), "numpy": numpy.__version__, "pandas": pandas.__version__,
        "scipy": scipy.__version__, "scikit-learn": sklearn.__version__, "skops": skops.__version__,
        "hmmlearn": hmmlearn.__version__, "arch": arch.__version__,
    }


def execute_training(run: Run, ctx: RunContext) -> None:
    """Read the dataset (checked against the launch checksum), fit with progress and cancel
    between iterations, store the model and its metadata; the run checksum covers both."""
    from threadpoolctl import threadpool_limits

    from simulations.training.datasets import dataset_read_frame
    from simulations.training.fit import train
    from simulations.training.models import Dataset

    p = run.params
    dataset = Dataset.objects.filter(pk=p["dataset"]).first()
    if dataset is None:
        raise LookupError(f"dataset #{p['dataset']} no longer exists")
    ctx.progress(1, f"Reading dataset #{dataset.pk} ({dataset.name}, {dataset.rows:,} rows) and checking its SHA-256")
    frame = dataset_read_frame(dataset=dataset, expected_sha256=p["dataset_sha256"])

    def step(fraction: float, message: str | None = None) -> None:
        ctx.progress(5 + 90 * fraction, message)

    published = [0.0]

    def curve(curves: dict[str, Any]) -> None:
        # The curves so far go on the run's metrics while it runs, for the run page to draw
        # them as they grow; at most once a second, as a copy (the fit keeps appending).
        # The final metrics replace them; a run that fails or is cancelled loses them.
        now = time.monotonic()
        if now - published[0] >= LIVE_CURVE_SECONDS:
            published[0] = now
            ctx.set_metrics({"curves": json.loads(json.dumps(curves))})

    fractions = (p["train_fraction"], p["validation_fraction"], p["test_fraction"])
    # threadpoolctl limits only the native libraries loaded when the limit is set: load
    # scikit-learn's OpenMP runtime first, or a fit would still start a thread per core
    # (on a busy host, spinning OpenMP threads cost many times the fit's own CPU time).
    import sklearn.ensemble  # noqa: F401

    with threadpool_limits(limits=training_threads()):
        result = train(
            frame, model_type=p["model_type"], target=p["target"], features=list(p["features"]),
            hyperparameters=p["hyperparameters"] or {}, fractions=fractions, seed=p["seed"], step=step,
            curve=curve,
        )
    ctx.check_cancelled()
    name, content_type = MODEL_FILE[result.model_format]
    model_artifact = ctx.save_artifact(name, result.model_bytes, content_type)
    metadata = {
        "format": "runsight.training/1",
        "run_id": run.run_id,
        "model_type": p["model_type"],
        "model_file": name,
        "model_sha256": model_artifact.sha256,
        "target": p["target"],
        "features": list(p["features"]),
        "dataset": {"id": dataset.pk, "name": dataset.name, "sha256": dataset.sha256, "rows": dataset.rows},
        "params": p,
        "metrics": result.metrics,
        "libraries": library_versions(),
    }
    ctx.save_artifact(METADATA_FILE, json.dumps(metadata, sort_keys=True, indent=1).encode(), "application/json")
    ctx.set_metrics(result.metrics)
    ctx.progress(100, _summary(result.metrics))


def _summary(metrics: dict[str, Any]) -> str:
    keys = ("test_roc_auc", "oracle_roc_auc", "test_accuracy", "chance_accuracy", "test_vs_true_variance_r2")
    parts = [f"{k} {metrics[k]}" for k in keys if metrics.get(k) is not None]
    return "Trained; " + ", ".join(parts) if parts else "Trained"


def validate_training(run: Run) -> list[tuple[str, bool, str]]:
    """The validation panel: the model file re-read, its SHA-256 and the run checksum checked."""
    from simulations.training.loading import ModelIntegrityError, load_fitted

    if run.status != "SUCCEEDED":
        return []
    try:
        fitted = load_fitted(run)
    except ModelIntegrityError as exc:
        return [("Model file", False, str(exc))]
    return [("Model file", True, f"{fitted.model_type}: SHA-256 matches, loads with trusted types only")]


def validate_training_import(run: Run) -> list[str]:
    """An imported training run must carry its metadata document; its model is never loaded here."""
    names = set(run.artifacts.values_list("name", flat=True))
    problems = []
    if METADATA_FILE not in names:
        problems.append(f"{METADATA_FILE} is missing")
    if not names & {"model.skops", "model.json"}:
        problems.append("the model file is missing")
    return problems


TRAINING = register(
    RunKind(
        name="training",
        label="Model training",
        params_form=TrainingParamsForm,
        execute=execute_training,
        view_permission="runs.view_run",
        launch_permission=TRAIN_PERMISSION,
        description=(
            "Fits a PD model (logistic regression, gradient boosting), a regime classifier (MLP), a regime HMM or "
            "a GARCH(1,1) volatility forecaster on a stored dataset, measured on held-out rows against the data's truth."
        ),
        detail_template="simulations/training_panel.html",
        seed_param="seed",
        validate=validate_training,
        validate_import=validate_training_import,
    )
)
