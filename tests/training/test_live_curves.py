"""The loss curve a fit publishes while it runs is dropped with a cancelled run, and a
gradient-boosting fit reports, measures and stops between trees (one fit, no warm-started stages).
The curve growing on a running run and on its page: tests/integration (real worker, Chromium)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from django.db import OperationalError

from accounts.roles import Role
from runs.models import Run, RunArtifact, RunLog, RunStatus
from runs.services import run_cancel, run_create, run_execute
from simulations.training import fit
from simulations.training.data import generate_credit_data
from simulations.training.datasets import dataset_generate_credit, dataset_generate_market
from simulations.training.loading import load_fitted


def _read(query):
    """A read from a watching thread; on SQLite's shared in-memory test database a write of the
    executing thread can hold the table for a moment: then the watcher looks again."""
    try:
        return query()
    except OperationalError:
        return None


def _cancel(run_pk: int, actor) -> None:
    """Cancel from the watching thread, trying again while the executing thread holds a table."""
    for _ in range(100):
        try:
            run_cancel(run=Run.objects.get(pk=run_pk), actor=actor)
            return
        except OperationalError:
            time.sleep(0.05)
    raise AssertionError("the run could not be cancelled: the database stayed locked")


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_fit_keeps_no_curve(make_user):
    analyst = make_user(Role.ANALYST)
    market = dataset_generate_market(days=3_000, seed=7)
    run = run_create(kind="training", owner=analyst, enqueue=False,
                     params={"model_type": "regime_mlp", "dataset": market.pk, "hyperparameters": {"epochs": 2000}})

    def cancel_once_a_curve_is_published() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            metrics = _read(lambda: Run.objects.filter(pk=run.pk).values_list("metrics", flat=True).get()) or {}
            if (metrics.get("curves") or {}).get("step"):
                _cancel(run.pk, analyst)
                return
            time.sleep(0.05)

    canceller = threading.Thread(target=cancel_once_a_curve_is_published)
    canceller.start()
    run_execute(run_pk=run.pk, worker="test")
    canceller.join()
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.metrics == {}


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_boosting_fit_between_trees(make_user):
    analyst = make_user(Role.ANALYST)
    credit = dataset_generate_credit(rows=20_000, seed=3)
    run = run_create(kind="training", owner=analyst, enqueue=False,
                     params={"model_type": "pd_gbm", "dataset": credit.pk, "hyperparameters": {"max_iter": 5000}})
    cancelled_at: list[float] = []

    def cancel_after_the_first_trees() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if _read(lambda: Run.objects.filter(pk=run.pk, progress__gte=6).exists()):  # 5 % is the fit's start
                _cancel(run.pk, analyst)
                cancelled_at.append(time.monotonic())
                return
            time.sleep(0.05)

    canceller = threading.Thread(target=cancel_after_the_first_trees)
    canceller.start()
    run_execute(run_pk=run.pk, worker="test")
    ended = time.monotonic()
    canceller.join()
    run.refresh_from_db()
    assert cancelled_at and run.status == RunStatus.CANCELLED
    assert ended - cancelled_at[0] < 5
    assert run.progress < 50 and not RunArtifact.objects.filter(run=run).exists()
    assert not RunLog.objects.filter(run=run, message__startswith="5000/5000 trees").exists()


def test_boosting_reports_after_every_tree_and_draws_about_25_points():
    frame = generate_credit_data(rows=6_000, seed=2)
    steps: list[float] = []
    published: list[int] = []
    result = fit.train(
        frame, model_type="pd_gbm", target="default", features=list(fit.MODEL_TYPES["pd_gbm"].default_features),
        hyperparameters={"max_iter": 60, "max_leaf_nodes": 8}, fractions=(0.6, 0.2, 0.2), seed=1,
        step=lambda fraction, message=None: steps.append(fraction),
        curve=lambda curves: published.append(len(curves["step"])),
    )
    curves = result.metrics["curves"]
    # A point every 3 trees (60 / 25, rounded up), the last tree always measured.
    assert curves["step"] == list(range(3, 61, 3))
    assert published == list(range(1, 21))
    assert len(curves["train_loss"]) == len(curves["validation_loss"]) == 20
    assert curves["train_loss"][-1] < curves["train_loss"][0]
    # Progress after every tree (and cancel with it): 60 reports inside the fit, rising.
    inside = [f for f in steps if 0.05 < f < 0.86]
    assert len(inside) >= 60 and inside == sorted(inside)
    assert abs(result.metrics["oracle_roc_auc"] - result.metrics["test_roc_auc"]) <= 0.03


@pytest.mark.django_db
def test_the_stored_boosting_model_is_plain_scikit_learn(train):
    credit = dataset_generate_credit(rows=5_000, seed=9)
    run = train(model_type="pd_gbm", dataset=credit.pk, seed=2, hyperparameters={"max_iter": 20})
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    fitted = load_fitted(run)  # skops with trusted types only: nothing of the training probe is left
    model = fitted._model.named_steps["model"]
    assert model.get_params()["scoring"] == "loss" and model.n_iter_ == 20
    assert np.asarray(model.validation_score_).size == 0
