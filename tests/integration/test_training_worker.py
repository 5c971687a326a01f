"""Real Celery workers on Redis and PostgreSQL train each model type; cancel and a killed worker.

Metrics are checked against the generated data's truth, not against numbers copied
from a run. The workers share the test's artifact store (tests/support.Worker).
"""
from __future__ import annotations

import time

import pytest

from runs.models import Run, RunStatus
from runs.services import run_cancel, run_create
from simulations.training.datasets import dataset_generate_credit, dataset_generate_market
from simulations.training.loading import load_fitted
from tests.support import wait_for

pytestmark = pytest.mark.services

CONTROL_ENV = {"RUN_HEARTBEAT_TIMEOUT": "3", "RUN_REAPER_INTERVAL": "1", "RUN_PENDING_RESEND_SECONDS": "2"}


def _ended(run: Run, worker, timeout: float = 240) -> Run:
    wait_for(
        lambda: Run.objects.filter(pk=run.pk).exclude(status__in=[RunStatus.PENDING, RunStatus.RUNNING]).exists(),
        timeout=timeout, interval=0.2, what=f"{run.run_id} to end\n{worker.log()}",
    )
    run.refresh_from_db()
    return run


def _running_past(run: Run, worker, progress: int) -> None:
    # A fresh worker imports the scientific stack at its first fit: minutes on a busy 2-core host.
    wait_for(lambda: Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, progress__gte=progress).exists(),
             timeout=300, what=f"{run.run_id} to be running\n{worker.log()}")


def _curve_points(run: Run) -> int:
    metrics = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).values_list("metrics", flat=True).first() or {}
    return len((metrics.get("curves") or {}).get("step") or [])


def test_each_model_type_trains_on_a_real_worker(start_worker, analyst):
    worker = start_worker("trainer")
    credit = dataset_generate_credit(rows=20_000, seed=11)
    market = dataset_generate_market(days=2_500, seed=5)
    launches = {
        "pd_logistic": {"dataset": credit.pk},
        "pd_gbm": {"dataset": credit.pk, "hyperparameters": {"max_iter": 100, "max_leaf_nodes": 8}},
        "regime_mlp": {"dataset": market.pk, "hyperparameters": {"epochs": 25}},
        "regime_hmm": {"dataset": market.pk},
        "vol_garch": {"dataset": market.pk},
    }
    runs = {t: run_create(kind="training", params={"model_type": t, "seed": 1, **p}, owner=analyst)
            for t, p in launches.items()}
    for model_type, run in runs.items():
        run = _ended(run, worker)
        assert run.status == RunStatus.SUCCEEDED, f"{model_type}: {run.error_message}\n{worker.log()}"
        assert run.worker.startswith("trainer@") and len(run.checksum) == 64
        m = run.metrics
        if model_type.startswith("pd_"):
            assert abs(m["oracle_roc_auc"] - m["test_roc_auc"]) <= 0.03, m
        elif model_type == "regime_mlp":
            majority = max(map(sum, m["confusion_matrix"]["matrix"])) / m["test_rows"]
            assert m["test_accuracy"] > majority + 0.05
        elif model_type == "regime_hmm":
            assert m["test_accuracy"] > m["chance_accuracy"] + 0.1
        else:
            assert m["test_vs_true_variance_corr"] > 0.7
        assert load_fitted(run).model_type == model_type
        assert run.logs.filter(message__contains="Reading dataset").exists()


def test_cancel_stops_a_long_fit_within_seconds(start_worker, analyst):
    worker = start_worker("trainer")
    market = dataset_generate_market(days=3_000, seed=2)
    run = run_create(kind="training", owner=analyst,
                     params={"model_type": "regime_mlp", "dataset": market.pk, "hyperparameters": {"epochs": 2000}})
    _running_past(run, worker, 7)
    # While it fits, the worker publishes the loss curve so far on the run (the run page draws it).
    first = wait_for(lambda: _curve_points(run), timeout=60, what=f"a first curve point\n{worker.log()}")
    wait_for(lambda: _curve_points(run) > first, timeout=60, what=f"the curve to grow\n{worker.log()}")
    asked = time.monotonic()
    run_cancel(run=Run.objects.get(pk=run.pk), actor=analyst)
    run = _ended(run, worker, timeout=30)
    assert run.status == RunStatus.CANCELLED and time.monotonic() - asked < 10
    assert run.progress < 100 and not run.artifacts.exists() and run.metrics == {}


def test_a_killed_training_worker_ends_failed_through_the_reaper(start_worker, analyst):
    victim = start_worker("victim", queues="celery")
    market = dataset_generate_market(days=3_000, seed=3)
    run = run_create(kind="training", owner=analyst,
                     params={"model_type": "regime_mlp", "dataset": market.pk, "hyperparameters": {"epochs": 2000}})
    _running_past(run, victim, 7)
    victim.kill()
    control = start_worker("control", queues="runs.control", beat=True, env=CONTROL_ENV)
    wait_for(lambda: Run.objects.filter(pk=run.pk, status=RunStatus.FAILED).exists(), timeout=30,
             what=f"the reaper\n{control.log()}")
    run.refresh_from_db()
    assert "No heartbeat" in run.error_message and not run.artifacts.exists()
