"""Reads for the training pages: what the run page panel shows of a training run."""
from __future__ import annotations

from typing import Any

from runs.models import Run

# The headline figures, in the order the panel shows them, with what they mean.
HEADLINE = (
    ("test_roc_auc", "ROC AUC (test)"), ("oracle_roc_auc", "ROC AUC of the true PD (oracle)"),
    ("auc_gap_to_oracle", "AUC gap to the oracle"),
    ("test_accuracy", "Accuracy (test)"), ("chance_accuracy", "Majority-class accuracy (chance)"),
    ("test_log_loss", "Log loss (test)"), ("oracle_log_loss", "Log loss of the true PD"),
    ("test_brier", "Brier score (test)"), ("oracle_brier", "Brier score of the true PD"),
    ("test_precision", "Precision"), ("test_recall", "Recall"), ("test_f1", "F1"),
    ("test_vs_true_variance_r2", "R² of the forecast vs the true variance"),
    ("test_vs_true_variance_corr", "Correlation with the true variance"),
    ("test_vs_squared_returns_r2", "R² vs squared returns"),
    ("oracle_vs_squared_returns_r2", "R² of the true variance vs squared returns (oracle)"),
)


def training_panel(*, run: Run) -> dict[str, Any]:
    metrics = run.metrics or {}
    ready = run.status == "SUCCEEDED" and bool(metrics)
    shown = {k for k, _ in HEADLINE}
    headline = [(label, metrics[k]) for k, label in HEADLINE if metrics.get(k) is not None]
    others = sorted(
        (k, v) for k, v in metrics.items()
        if k not in shown and not isinstance(v, (list, dict)) and k != "model_type"
    )
    cm = metrics.get("confusion_matrix") or None
    curves = metrics.get("curves") or {}
    return {
        "ready": ready,
        "running": run.status in ("PENDING", "RUNNING"),
        "model_type": run.params.get("model_type", ""),
        "headline": headline,
        "others": others,
        "confusion": cm and {"labels": cm["labels"], "rows": list(zip(cm["labels"], cm["matrix"]))},
        "calibration": metrics.get("calibration") or [],
        "importance": (metrics.get("importance") or [])[:20],
        "importance_kind": metrics.get("importance_kind", ""),
        "state_to_regime": metrics.get("state_to_regime") or {},
        "charts": {"curves": curves, "calibration": metrics.get("calibration") or []},
        "has_curves": bool(curves.get("step")),
        # While the run fits, its metrics hold only the curves so far (published by the executor).
        "live_points": len(curves.get("step") or []),
        "unit": curves.get("unit", ""),
    }
