"""Fitting the model types and measuring them on held-out data (no Django).

`train()` takes a table, the run's parameters and a `step(fraction, message)`
callback called between iterations; the executor turns that callback into
progress, heartbeat and cancel (runs.context), so a fit stops between two
iterations when asked. An optional `curve(curves)` callback receives the loss
curves each time a point is added, so a page can draw them while the fit runs.
Everything is seeded: the same parameters and table give the same metrics.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

Step = Callable[[float, "str | None"], None]
Curve = Callable[[dict[str, Any]], None]


class TrainingInputError(ValueError):
    """The data or parameters cannot be trained on (unknown column, NaN, one class …)."""


# ---------------------------------------------------------------------------
# Model types and their hyperparameters
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class HP:
    kind: type
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class ModelType:
    name: str
    label: str
    task: str  # "classification" | "unsupervised_regime" | "volatility"
    series: bool  # split by time
    needs_features: bool
    hyperparameters: dict[str, HP] = field(default_factory=dict)
    default_target: str = ""
    default_features: tuple[str, ...] = ()


MODEL_TYPES: dict[str, ModelType] = {
    "pd_logistic": ModelType(
        "pd_logistic", "PD model: logistic regression", "classification", False, True,
        {"C": HP(float, 1.0, 1e-6, 1e6, help="Inverse regularisation strength."),
         "max_iter": HP(int, 300, 10, 10_000, help="L-BFGS iterations at most.")},
        "default", ("rating", "ltv", "dti", "maturity_years", "sector", "exposure_class", "macro_factor"),
    ),
    "pd_gbm": ModelType(
        "pd_gbm", "PD model: gradient boosting", "classification", False, True,
        {"max_iter": HP(int, 200, 5, 5000, help="Boosting iterations (trees)."),
         "learning_rate": HP(float, 0.05, 1e-4, 1.0),
         "max_leaf_nodes": HP(int, 15, 2, 1024),
         "min_samples_leaf": HP(int, 100, 1, 100_000),
         "l2_regularization": HP(float, 0.0, 0.0, 1e4)},
        "default", ("rating", "ltv", "dti", "maturity_years", "sector", "exposure_class", "macro_factor"),
    ),
    "regime_mlp": ModelType(
        "regime_mlp", "Regime classifier: neural network (MLP)", "classification", True, True,
        {"hidden_layer_sizes": HP(list, [32, 16], help="Neurons per hidden layer, e.g. [32, 16]."),
         "epochs": HP(int, 40, 1, 2000),
         "learning_rate_init": HP(float, 0.001, 1e-6, 1.0),
         "alpha": HP(float, 1e-4, 0.0, 10.0, help="L2 penalty."),
         "batch_size": HP(int, 64, 1, 100_000)},
        "regime", ("abs_return", "rv_5", "rv_20", "rv_60"),
    ),
    "regime_hmm": ModelType(
        "regime_hmm", "Regime detector: Gaussian HMM", "unsupervised_regime", True, True,
        {"n_components": HP(int, 3, 2, 8, help="Hidden states."),
         "n_iter": HP(int, 100, 1, 2000, help="EM iterations at most."),
         "tol": HP(float, 1e-4, 0.0, 1.0, help="Stop when the log-likelihood gains less."),
         "covariance_type": HP(str, "diag", choices=("diag", "full", "spherical"))},
        "regime", ("return",),
    ),
    "vol_garch": ModelType(
        "vol_garch", "Volatility forecaster: GARCH(1,1)", "volatility", True, False,
        {"mean": HP(str, "constant", choices=("constant", "zero")),
         "dist": HP(str, "normal", choices=("normal", "t")),
         "scale": HP(float, 100.0, 1e-3, 1e6, help="Returns are multiplied by this for the optimiser.")},
        "return", (),
    ),
}
MODEL_TYPE_CHOICES = [(m.name, m.label) for m in MODEL_TYPES.values()]
# Columns that hold the truth of generated data: never features, used for the oracle's figures.
TRUTH_COLUMNS = ("true_pd", "true_variance", "regime", "regime_name")


def validate_hyperparameters(model_type: str, raw: Any) -> dict[str, Any]:
    """The hyperparameters with defaults filled in; raises TrainingInputError naming the bad one."""
    spec = MODEL_TYPES[model_type]
    raw = raw or {}
    if not isinstance(raw, dict):
        raise TrainingInputError("hyperparameters must be an object of names to values")
    unknown = sorted(set(raw) - set(spec.hyperparameters))
    if unknown:
        known = ", ".join(spec.hyperparameters) or "none"
        raise TrainingInputError(f"unknown hyperparameter(s) for {model_type}: {', '.join(unknown)} (known: {known})")
    out: dict[str, Any] = {}
    for name, hp in spec.hyperparameters.items():
        value = raw.get(name, hp.default)
        if hp.kind is list:
            if not (isinstance(value, list) and 1 <= len(value) <= 5 and all(
                    isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1024 for v in value)):
                raise TrainingInputError(f"{name}: a list of 1 to 5 layer sizes, each 1 to 1024")
        elif hp.kind is str:
            if value not in hp.choices:
                raise TrainingInputError(f"{name}: one of {', '.join(hp.choices)}")
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TrainingInputError(f"{name}: a number")
            if hp.kind is int:
                if float(value) != int(value):
                    raise TrainingInputError(f"{name}: a whole number")
                value = int(value)
            else:
                value = float(value)
            if not np.isfinite(value) or (hp.low is not None and value < hp.low) or (hp.high is not None and value > hp.high):
                raise TrainingInputError(f"{name}: between {hp.low:g} and {hp.high:g}")
        out[name] = value
    return out


# ---------------------------------------------------------------------------
# Data checks and split
# ---------------------------------------------------------------------------
def check_columns(frame: pd.DataFrame, *, model_type: str, target: str, features: list[str]) -> None:
    """Refuse unknown columns, NaN or infinities in the features, and a target with one class."""
    spec = MODEL_TYPES[model_type]
    missing = [c for c in [target, *features] if c not in frame.columns]
    if missing:
        raise TrainingInputError(f"unknown column(s): {', '.join(missing)}")
    if spec.needs_features and not features:
        raise TrainingInputError(f"{model_type} needs at least one feature")
    if target in features:
        raise TrainingInputError(f"the target {target!r} cannot also be a feature")
    leaks = [f for f in features if f in TRUTH_COLUMNS and f != target]
    if leaks and spec.task == "classification":
        raise TrainingInputError(f"truth column(s) cannot be features: {', '.join(leaks)}")
    for name in [*features] + ([target] if spec.task == "volatility" else []):
        col = frame[name]
        if col.isna().any():
            raise TrainingInputError(f"column {name!r} has {int(col.isna().sum())} missing value(s) (NaN)")
        if pd.api.types.is_numeric_dtype(col) and not np.isfinite(col.to_numpy(dtype=float)).all():
            raise TrainingInputError(f"column {name!r} has infinite values")
        if spec.task != "classification" and not pd.api.types.is_numeric_dtype(col):
            raise TrainingInputError(f"column {name!r} must be numeric for {model_type}")
    if spec.task == "volatility":
        return
    y = frame[target]
    if y.isna().any():
        raise TrainingInputError(f"target {target!r} has {int(y.isna().sum())} missing value(s)")
    classes = y.nunique()
    if classes < 2:
        raise TrainingInputError(f"target {target!r} has a single class ({y.iloc[0]!r}): nothing to learn")
    if classes > 50:
        raise TrainingInputError(f"target {target!r} has {classes} distinct values: not a class label")


def split_indices(n: int, *, fractions: tuple[float, float, float], seed: int, by_time: bool) -> tuple[np.ndarray, ...]:
    """Train, validation and test row indices: contiguous by time for series, shuffled by seed otherwise."""
    order = np.arange(n) if by_time else np.random.default_rng(seed).permutation(n)
    n_train = int(round(n * fractions[0]))
    n_val = int(round(n * fractions[1]))
    parts = order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
    if min(len(p) for p in parts) < 2:
        raise TrainingInputError(f"{n} rows are too few for this split: each part needs at least 2 rows")
    return parts


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------
def _f(x: Any) -> float | None:
    """A JSON-safe float with 6 significant digits (variances are tiny numbers)."""
    x = float(x)
    return float(f"{x:.6g}") if np.isfinite(x) else None


def classification_metrics(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> dict[str, Any]:
    from sklearn import metrics as m

    pred = classes[np.argmax(proba, axis=1)]
    binary = len(classes) == 2
    avg = "binary" if binary else "macro"
    pos = classes[1] if binary else None
    out: dict[str, Any] = {
        "test_accuracy": _f(m.accuracy_score(y, pred)),
        "test_precision": _f(m.precision_score(y, pred, average=avg, pos_label=pos if binary else 1, zero_division=0)),
        "test_recall": _f(m.recall_score(y, pred, average=avg, pos_label=pos if binary else 1, zero_division=0)),
        "test_f1": _f(m.f1_score(y, pred, average=avg, pos_label=pos if binary else 1, zero_division=0)),
        "test_log_loss": _f(m.log_loss(y, proba, labels=classes)),
    }
    onehot = (y[:, None] == classes[None, :]).astype(float)
    if binary:
        out["test_brier"] = _f(m.brier_score_loss(y == pos, proba[:, 1]))
    else:
        out["test_brier"] = _f(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    present = np.unique(y)
    if len(present) == len(classes):
        if binary:
            out["test_roc_auc"] = _f(m.roc_auc_score(y == pos, proba[:, 1]))
        else:
            out["test_roc_auc"] = _f(m.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
    else:
        out["test_roc_auc"] = None
    out["confusion_matrix"] = {
        "labels": [str(c) for c in classes],
        "matrix": m.confusion_matrix(y, pred, labels=classes).tolist(),
    }
    out["calibration"] = calibration_table(y == pos if binary else (pred == y),
                                           proba[:, 1] if binary else proba.max(axis=1))
    out["test_rows"] = int(len(y))
    return out


def calibration_table(observed: np.ndarray, predicted: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Rows grouped by predicted probability (deciles of the prediction): predicted vs observed rate."""
    edges = np.unique(np.quantile(predicted, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, max(len(edges) - 2, 0))
    table = []
    for b in range(max(len(edges) - 1, 1)):
        mask = which == b
        if mask.any():
            table.append({
                "bin": b + 1, "rows": int(mask.sum()),
                "predicted": _f(predicted[mask].mean()), "observed": _f(observed[mask].mean()),
            })
    return table


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------
@dataclass
class TrainingResult:
    metrics: dict[str, Any]
    model_bytes: bytes
    model_format: str  # "skops" | "json"


def _preprocessor(frame: pd.DataFrame, features: list[str], *, ordinal: bool):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric = [f for f in features if pd.api.types.is_numeric_dtype(frame[f]) and not pd.api.types.is_bool_dtype(frame[f])]
    categorical = [f for f in features if f not in numeric]
    if ordinal:
        transformers = [("num", "passthrough", numeric)] if numeric else []
        if categorical:
            transformers.append(("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                       encoded_missing_value=-1, dtype=np.float64), categorical))
    else:
        transformers = [("num", StandardScaler(), numeric)] if numeric else []
        if categorical:
            transformers.append(("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=True), numeric, categorical


def _as_features(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    out = frame[features].copy()
    for f in features:
        if not pd.api.types.is_numeric_dtype(out[f]) or pd.api.types.is_bool_dtype(out[f]):
            out[f] = out[f].astype(str).astype(object)
    return out


def _permutation_importance(model: Any, X: np.ndarray, y: np.ndarray, names: list[str], seed: int,
                            classes: np.ndarray) -> list[dict[str, Any]]:
    """Drop in test log loss when a feature's values are shuffled (on up to 20,000 test rows)."""
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(seed)
    if len(y) > 20_000:
        pick = rng.choice(len(y), 20_000, replace=False)
        X, y = X[pick], y[pick]
    base = log_loss(y, model.predict_proba(X), labels=classes)
    out = []
    for j, name in enumerate(names):
        losses = []
        for _ in range(3):
            Xp = X.copy()
            Xp[:, j] = Xp[rng.permutation(len(y)), j]
            losses.append(log_loss(y, model.predict_proba(Xp), labels=classes))
        out.append({"feature": name, "importance": _f(np.mean(losses) - base)})
    return sorted(out, key=lambda r: -(r["importance"] or 0))


def _skops_bytes(obj: Any) -> bytes:
    import skops.io as sio

    return sio.dumps(obj)


def train(frame: pd.DataFrame, *, model_type: str, target: str, features: list[str], hyperparameters: dict[str, Any],
          fractions: tuple[float, float, float], seed: int, step: Step, curve: Curve | None = None) -> TrainingResult:
    spec = MODEL_TYPES[model_type]
    hp = validate_hyperparameters(model_type, hyperparameters)
    check_columns(frame, model_type=model_type, target=target, features=features)
    train_idx, val_idx, test_idx = split_indices(len(frame), fractions=fractions, seed=seed, by_time=spec.series)
    common = {"model_type": model_type, "train_rows": int(len(train_idx)), "validation_rows": int(len(val_idx))}
    if spec.task == "classification":
        result = _train_classifier(frame, spec, target, features, hp, (train_idx, val_idx, test_idx), seed, step,
                                   curve or _no_curve)
    elif spec.task == "unsupervised_regime":
        result = _train_hmm(frame, target, features, hp, (train_idx, val_idx, test_idx), seed, step, curve or _no_curve)
    else:
        result = _train_garch(frame, target, hp, (train_idx, val_idx, test_idx), step)
    result.metrics = {**common, **result.metrics}
    return result


def _no_curve(curves: dict[str, Any]) -> None:
    """No one draws the curves while they grow (tests, the benchmark of the fit alone)."""


def _train_classifier(frame, spec: ModelType, target, features, hp, parts, seed, step, curve: Curve) -> TrainingResult:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline

    train_idx, val_idx, test_idx = parts
    X_all = _as_features(frame, features)
    y_all = frame[target].to_numpy()
    classes = np.unique(y_all[train_idx])
    if len(classes) < 2:
        raise TrainingInputError(f"target {target!r} has a single class in the training rows: nothing to learn")
    unseen = set(np.unique(y_all[test_idx]).tolist()) - set(classes.tolist())
    if unseen:
        raise TrainingInputError(f"test rows hold class(es) never seen in training: {sorted(map(str, unseen))}")
    gbm = spec.name == "pd_gbm"
    prep, numeric, categorical = _preprocessor(frame, features, ordinal=gbm)
    step(0.02, f"Preparing {len(features)} features ({len(numeric)} numeric, {len(categorical)} categorical)")
    X_train = prep.fit_transform(X_all.iloc[train_idx])
    X_val = prep.transform(X_all.iloc[val_idx])
    X_test = prep.transform(X_all.iloc[test_idx])
    y_train, y_val, y_test = y_all[train_idx], y_all[val_idx], y_all[test_idx]
    names = [str(n) for n in prep.get_feature_names_out()]
    # Loss curves on at most 50,000 rows of each part: enough to draw, cheap on a big book.
    rng = np.random.default_rng(seed)
    tr_pick = np.sort(rng.choice(len(y_train), min(50_000, len(y_train)), replace=False))
    va_pick = np.sort(rng.choice(len(y_val), min(50_000, len(y_val)), replace=False))
    curves: dict[str, list] = {"step": [], "train_loss": [], "validation_loss": []}

    def record(model: Any, at: int) -> None:
        curves["step"].append(at)
        curves["train_loss"].append(_f(log_loss(y_train[tr_pick], model.predict_proba(X_train[tr_pick]), labels=classes)))
        curves["validation_loss"].append(_f(log_loss(y_val[va_pick], model.predict_proba(X_val[va_pick]), labels=classes)))
        curve(curves)

    if spec.name == "pd_logistic":
        curves["unit"] = "L-BFGS iterations"
        chunk = 10
        model = LogisticRegression(C=hp["C"], max_iter=chunk, warm_start=True, solver="lbfgs")
        done = 0
        while done < hp["max_iter"]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X_train, y_train)
            done += int(np.max(model.n_iter_))
            record(model, done)
            step(0.05 + 0.8 * min(done / hp["max_iter"], 1.0),
                 f"iteration {done}: train loss {curves['train_loss'][-1]}, validation loss {curves['validation_loss'][-1]}")
            if int(np.max(model.n_iter_)) < chunk:
                break  # converged
    elif gbm:
        curves["unit"] = "trees"
        model = _fit_gbm(hp, names, categorical, X_train, y_train, X_val[va_pick], y_val[va_pick], classes,
                         seed, step, curves, curve)
    else:
        curves["unit"] = "epochs"
        model = MLPClassifier(
            hidden_layer_sizes=tuple(hp["hidden_layer_sizes"]), learning_rate_init=hp["learning_rate_init"],
            alpha=hp["alpha"], batch_size=min(hp["batch_size"], len(y_train)), random_state=seed, shuffle=True,
        )
        for epoch in range(1, hp["epochs"] + 1):
            model.partial_fit(X_train, y_train, classes=classes)
            record(model, epoch)
            step(0.05 + 0.8 * epoch / hp["epochs"],
                 f"epoch {epoch}/{hp['epochs']}: train loss {curves['train_loss'][-1]}, "
                 f"validation loss {curves['validation_loss'][-1]}")
    step(0.88, "Measuring on the held-out test rows")
    proba = model.predict_proba(X_test)
    metrics = classification_metrics(y_test, proba, classes)
    metrics["classes"] = [str(c) for c in classes]
    metrics["curves"] = curves
    if spec.name == "pd_logistic":
        coef = model.coef_[0] if model.coef_.shape[0] == 1 else np.abs(model.coef_).mean(axis=0)
        metrics["importance"] = sorted(
            [{"feature": n, "importance": _f(c)} for n, c in zip(names, coef)], key=lambda r: -abs(r["importance"] or 0)
        )
        metrics["importance_kind"] = "coefficient (standardised features)"
    else:
        metrics["importance"] = _permutation_importance(model, X_test, y_test, names, seed, classes)
        metrics["importance_kind"] = "permutation importance (increase in test log loss)"
    if "true_pd" in frame.columns and len(classes) == 2:
        metrics.update(_oracle_pd(frame["true_pd"].to_numpy(float)[test_idx], y_test, classes))
        if metrics.get("test_roc_auc") is not None and metrics.get("oracle_roc_auc") is not None:
            metrics["auc_gap_to_oracle"] = _f(metrics["oracle_roc_auc"] - metrics["test_roc_auc"])
    pipeline = Pipeline([("prep", prep), ("model", model)])
    return TrainingResult(metrics, _skops_bytes(pipeline), "skops")


class _BoostingProbe:
    """Between-tree hook of HistGradientBoosting: progress, cancel and the loss curve in one fit.

    scikit-learn calls an early-stopping scorer after every tree, first on a 10,000-row
    sample of the training rows, then on the validation rows given to `fit`: each pair
    of calls is one iteration. Every call reports progress (so a cancel stops the fit
    between two trees); every `every` trees both losses are measured for the curve.
    Early stopping itself never fires (`n_iter_no_change` exceeds the trees asked for).
    One fit, instead of warm-started stages, bins the rows and grows the trees once.
    """

    def __init__(self, *, total: int, classes: np.ndarray, curves: dict[str, Any], step: Step, curve: Curve) -> None:
        self.total, self.classes, self.curves, self.step, self.curve = total, classes, curves, step, curve
        self.every = max(1, -(-total // 25))  # about 25 points whatever the number of trees
        self.calls = 0
        self.last = 0.0

    def __call__(self, estimator: Any, X: np.ndarray, y: np.ndarray) -> float:
        from sklearn.metrics import log_loss

        self.calls += 1
        on_train = self.calls % 2 == 1
        trees = (self.calls - 1) // 2  # the first pair of calls scores the model before any tree
        fraction = 0.05 + 0.8 * trees / self.total
        if trees == 0 or (trees % self.every and trees != self.total):
            if not on_train:
                self.step(fraction, None)
            return self.last
        # During the fit, X is already binned and predict_proba reads it as such.
        loss = float(log_loss(y, estimator.predict_proba(X), labels=self.classes))
        if on_train:
            self.curves["step"].append(trees)
            self.curves["train_loss"].append(_f(loss))
        else:
            self.curves["validation_loss"].append(_f(loss))
            self.curve(self.curves)
            self.step(fraction, f"{trees}/{self.total} trees: train loss {self.curves['train_loss'][-1]}, "
                                f"validation loss {self.curves['validation_loss'][-1]}")
        self.last = -loss
        return self.last


def _fit_gbm(hp: dict[str, Any], names: list[str], categorical: list[str], X_train: np.ndarray, y_train: np.ndarray,
             X_val: np.ndarray, y_val: np.ndarray, classes: np.ndarray, seed: int, step: Step,
             curves: dict[str, Any], curve: Curve) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    total = hp["max_iter"]
    probe = _BoostingProbe(total=total, classes=classes, curves=curves, step=step, curve=curve)
    model = HistGradientBoostingClassifier(
        learning_rate=hp["learning_rate"], max_leaf_nodes=hp["max_leaf_nodes"], min_samples_leaf=hp["min_samples_leaf"],
        l2_regularization=hp["l2_regularization"], max_iter=total, random_state=seed,
        categorical_features=[n.startswith("cat__") for n in names] if categorical else None,
        early_stopping=True, scoring=probe, n_iter_no_change=total + 1,
    )
    model.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    # The probe served the fit only: the stored model keeps no reference to it (skops
    # loads plain scikit-learn types only), and its per-tree scores, stale between
    # measured trees, are dropped; the curve is in the metrics.
    model.set_params(scoring="loss")
    model._scorer = None
    model.train_score_ = np.empty(0)
    model.validation_score_ = np.empty(0)
    return model


def _oracle_pd(true_pd: np.ndarray, y: np.ndarray, classes: np.ndarray) -> dict[str, Any]:
    """What the true PD scores on the same test rows: the best any model could do."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    pos = y == classes[1]
    if pos.all() or not pos.any():
        return {}
    p = np.clip(true_pd, 1e-12, 1 - 1e-12)
    return {
        "oracle_roc_auc": _f(roc_auc_score(pos, p)),
        "oracle_log_loss": _f(log_loss(pos, np.column_stack([1 - p, p]), labels=[False, True])),
        "oracle_brier": _f(brier_score_loss(pos, p)),
    }


def _train_hmm(frame, target, features, hp, parts, seed, step, curve: Curve) -> TrainingResult:
    from hmmlearn.hmm import GaussianHMM
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import confusion_matrix

    train_idx, val_idx, test_idx = parts
    X = frame[features].to_numpy(float)
    labels = np.unique(frame[target].to_numpy())
    y = np.searchsorted(labels, frame[target].to_numpy())
    # Returns are small numbers; the EM is better conditioned on a unit scale (kept in the artifact).
    scale = 1.0 / max(float(X[train_idx].std(axis=0).mean()), 1e-12)
    Xs = X * scale
    # Regimes differ by their variance, not by the sign of the returns: start every state at
    # the overall mean with variances spread from a quarter to four times the overall one,
    # instead of k-means centres (which split near-zero returns by sign and stall EM there).
    n, n_feat = hp["n_components"], Xs.shape[1]
    factors = np.geomspace(0.25, 4.0, n)
    variance = Xs[train_idx].var(axis=0) + 1e-9
    model = GaussianHMM(n_components=n, covariance_type=hp["covariance_type"], n_iter=1,
                        tol=0.0, random_state=seed, init_params="st", params="stmc")
    model.n_features = n_feat
    model.means_ = np.tile(Xs[train_idx].mean(axis=0), (n, 1))
    if hp["covariance_type"] == "diag":
        model.covars_ = np.outer(factors, variance)
    elif hp["covariance_type"] == "full":
        model.covars_ = np.stack([np.diag(variance * f) for f in factors])
    else:
        model.covars_ = factors * float(variance.mean())
    curves: dict[str, list] = {"step": [], "train_loss": [], "validation_loss": [], "unit": "EM iterations",
                               "loss": "negative log-likelihood per day"}
    previous = -np.inf
    for it in range(1, hp["n_iter"] + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(Xs[train_idx])
        model.init_params = ""  # the next fit continues from these parameters: one EM step each
        ll = float(model.score(Xs[train_idx]))
        curves["step"].append(it)
        curves["train_loss"].append(_f(-ll / len(train_idx)))
        curves["validation_loss"].append(_f(-float(model.score(Xs[val_idx])) / len(val_idx)))
        curve(curves)
        step(0.05 + 0.8 * it / hp["n_iter"], f"EM iteration {it}: log-likelihood {ll:.2f}")
        if it > 1 and ll - previous < hp["tol"]:
            break
        previous = ll
    # Hidden states have no names: match them to the true regimes on the training rows
    # (the assignment maximising agreement), then judge the test rows with that matching.
    states_train = model.predict(Xs[train_idx])
    agreement = confusion_matrix(y[train_idx], states_train, labels=range(max(len(labels), hp["n_components"])))
    rows, cols = linear_sum_assignment(-agreement)
    state_to_class = {int(s): int(c) for c, s in zip(rows, cols) if s < hp["n_components"]}
    # A state left unmatched (more states than regimes) takes the regime it overlaps most.
    for s in range(hp["n_components"]):
        if s not in state_to_class:
            state_to_class[s] = int(np.argmax(agreement[:, s]))
    step(0.9, "Decoding the held-out test days")
    states_test = model.predict(Xs[test_idx])
    pred = np.array([state_to_class[int(s)] for s in states_test])
    truth = y[test_idx]
    cm = confusion_matrix(truth, pred, labels=range(len(labels)))
    majority = float(np.bincount(truth, minlength=len(labels)).max() / len(truth))
    metrics: dict[str, Any] = {
        "test_accuracy": _f((pred == truth).mean()),
        "chance_accuracy": _f(majority),
        "test_rows": int(len(truth)),
        "test_log_likelihood_per_day": _f(float(model.score(Xs[test_idx])) / len(test_idx)),
        "em_iterations": len(curves["step"]),
        "confusion_matrix": {"labels": [str(l) for l in labels], "matrix": cm.tolist()},
        "classes": [str(l) for l in labels],
        "curves": curves,
        "state_to_regime": {str(s): str(labels[c]) for s, c in sorted(state_to_class.items())},
    }
    params = {
        "format": "runsight.hmm/1",
        "n_components": hp["n_components"],
        "covariance_type": hp["covariance_type"],
        "features": features,
        "scale": scale,
        "startprob": model.startprob_.tolist(),
        "transmat": model.transmat_.tolist(),
        "means": model.means_.tolist(),
        "covars": model.covars_.tolist(),  # full matrices, whatever the covariance type
        "state_labels": [labels[state_to_class[s]].item() if hasattr(labels[state_to_class[s]], "item")
                         else labels[state_to_class[s]] for s in range(hp["n_components"])],
    }
    return TrainingResult(metrics, json.dumps(params, sort_keys=True).encode(), "json")


def garch_variance(returns: np.ndarray, *, mu: float, omega: float, alpha: float, beta: float,
                   initial_variance: float) -> np.ndarray:
    """One-step-ahead conditional variance of each day from the days before it (in the returns' units)."""
    out = np.empty(len(returns))
    var = initial_variance
    for t in range(len(returns)):
        out[t] = var
        var = omega + alpha * (returns[t] - mu) ** 2 + beta * var
    return out


def _regression(pred: np.ndarray, truth: np.ndarray, prefix: str) -> dict[str, Any]:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    return {
        f"{prefix}_mse": _f(mean_squared_error(truth, pred)),
        f"{prefix}_mae": _f(mean_absolute_error(truth, pred)),
        f"{prefix}_r2": _f(r2_score(truth, pred)),
        f"{prefix}_corr": _f(np.corrcoef(pred, truth)[0, 1]) if np.std(pred) > 0 and np.std(truth) > 0 else None,
    }


def _train_garch(frame, target, hp, parts, step) -> TrainingResult:
    from arch import arch_model

    train_idx, val_idx, test_idx = parts
    r = frame[target].to_numpy(float)
    scale = hp["scale"]
    step(0.05, f"Fitting GARCH(1,1) on {len(train_idx)} days")
    am = arch_model(r[train_idx] * scale, mean="Constant" if hp["mean"] == "constant" else "Zero",
                    vol="GARCH", p=1, q=1, dist="normal" if hp["dist"] == "normal" else "t", rescale=False)
    res = am.fit(disp="off", show_warning=False)
    step(0.8, f"Fitted: log-likelihood {res.loglikelihood:.2f}, converged: {res.convergence_flag == 0}")
    p = res.params
    mu = float(p.get("mu", 0.0)) / scale
    omega = float(p["omega"]) / scale**2
    alpha, beta = float(p["alpha[1]"]), float(p["beta[1]"])
    initial = float(np.var(r[train_idx]))
    forecast = garch_variance(r, mu=mu, omega=omega, alpha=alpha, beta=beta, initial_variance=initial)
    squared = (r - mu) ** 2
    metrics: dict[str, Any] = {
        "mu": _f(mu), "omega": omega, "alpha": _f(alpha), "beta": _f(beta),
        "persistence": _f(alpha + beta), "train_log_likelihood": _f(res.loglikelihood),
        "converged": bool(res.convergence_flag == 0), "test_rows": int(len(test_idx)),
    }
    if hp["dist"] == "t":
        metrics["nu"] = _f(p.get("nu", np.nan))
    metrics.update(_regression(forecast[test_idx], squared[test_idx], "test_vs_squared_returns"))
    if "true_variance" in frame.columns:
        true_var = frame["true_variance"].to_numpy(float)
        metrics.update(_regression(forecast[test_idx], true_var[test_idx], "test_vs_true_variance"))
        # The best any forecast of the squared return could do: the true variance itself.
        metrics.update(_regression(true_var[test_idx], squared[test_idx], "oracle_vs_squared_returns"))
    metrics["curves"] = {
        "unit": "test day", "loss": "variance",
        "step": [int(i) for i in test_idx[:: max(1, len(test_idx) // 400)]],
    }
    metrics["curves"]["forecast_variance"] = [_f(forecast[i]) for i in metrics["curves"]["step"]]
    if "true_variance" in frame.columns:
        metrics["curves"]["true_variance"] = [_f(frame["true_variance"].iloc[i]) for i in metrics["curves"]["step"]]
    params = {
        "format": "runsight.garch/1", "target": target, "mu": mu, "omega": omega, "alpha": alpha, "beta": beta,
        "initial_variance": initial, "dist": hp["dist"], "scale": scale,
        "nu": float(p["nu"]) if "nu" in p else None,
    }
    return TrainingResult(metrics, json.dumps(params, sort_keys=True).encode(), "json")
