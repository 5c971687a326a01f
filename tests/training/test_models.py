"""Each model type trains on generated data and is judged against the data's known truth."""
from __future__ import annotations

import pytest

from runs.models import RunStatus
from simulations.training.loading import load_fitted

pytestmark = pytest.mark.django_db


def _ok(run):
    assert run.status == RunStatus.SUCCEEDED, (run.error_message, list(run.logs.values_list("message", flat=True)))
    names = set(run.artifacts.values_list("name", flat=True))
    assert "metadata.json" in names and run.checksum
    return run.metrics


def test_pd_logistic_auc_within_003_of_the_oracle(train, credit):
    m = _ok(train(model_type="pd_logistic", dataset=credit.pk, seed=1))
    assert m["oracle_roc_auc"] > 0.7
    assert abs(m["oracle_roc_auc"] - m["test_roc_auc"]) <= 0.03
    assert m["test_rows"] == 4_000
    assert len(m["calibration"]) == 10 and sum(b["rows"] for b in m["calibration"]) == 4_000
    assert sum(map(sum, m["confusion_matrix"]["matrix"])) == 4_000
    assert m["curves"]["step"] and len(m["curves"]["train_loss"]) == len(m["curves"]["step"])
    assert {r["feature"] for r in m["importance"]} >= {"num__ltv", "num__rating"}


def test_pd_gbm_auc_within_003_of_the_oracle(train, credit):
    run = train(model_type="pd_gbm", dataset=credit.pk, seed=1, hyperparameters={"max_iter": 100, "learning_rate": 0.05, "max_leaf_nodes": 8})
    m = _ok(run)
    assert abs(m["oracle_roc_auc"] - m["test_roc_auc"]) <= 0.03
    assert m["curves"]["step"][-1] == 100
    fitted = load_fitted(run)
    frame = credit_frame(credit)
    proba = fitted.predict_proba(frame.head(50))
    assert proba.shape == (50, 2)
    assert set(fitted.predict(frame.head(50))) <= {0, 1}


def credit_frame(dataset):
    from simulations.training.datasets import dataset_read_frame

    return dataset_read_frame(dataset=dataset)


def test_regime_mlp_well_above_chance_with_epoch_curves(train, market):
    run = train(model_type="regime_mlp", dataset=market.pk, seed=2, hyperparameters={"epochs": 25})
    m = _ok(run)
    majority = max(map(sum, m["confusion_matrix"]["matrix"])) / m["test_rows"]
    assert m["test_accuracy"] > majority + 0.05
    assert m["curves"]["step"] == list(range(1, 26))
    assert m["curves"]["validation_loss"][-1] < m["curves"]["validation_loss"][0]
    assert load_fitted(run).predict_proba(credit_frame(market).head(10)).shape == (10, 3)


def test_regime_hmm_accuracy_well_above_chance(train, market):
    run = train(model_type="regime_hmm", dataset=market.pk, seed=2)
    m = _ok(run)
    assert m["test_accuracy"] > m["chance_accuracy"] + 0.1
    assert set(run.artifacts.values_list("name", flat=True)) == {"model.json", "metadata.json"}
    fitted = load_fitted(run)
    frame = credit_frame(market)
    assert set(fitted.predict(frame.tail(100))) <= {0, 1, 2}


def test_garch_forecast_tracks_the_true_variance(train, market):
    run = train(model_type="vol_garch", dataset=market.pk, seed=2)
    m = _ok(run)
    assert m["test_vs_true_variance_corr"] > 0.7
    assert m["test_vs_true_variance_r2"] > 0.3
    # One GARCH over regime switches sees near-integrated variance: persistence close to 1.
    assert 0.5 < m["persistence"] <= 1.0
    # Scoring the stored parameters again gives the forecast the metrics were computed from.
    fitted = load_fitted(run)
    frame = credit_frame(market)
    variance = fitted.predict(frame)
    assert variance.shape == (len(frame),) and (variance > 0).all()
