"""A training script that logs with MLflow's own client shows up as a Runsight run."""
from __future__ import annotations

from typing import Any

import pytest

from runs.models import Run, RunOrigin, RunStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_logs_a_script_as_a_tracked_run(mlflow_env: Any, analyst: Any) -> None:
    import mlflow

    mlflow_env(analyst)
    mlflow.set_experiment("basel-tuning")
    with mlflow.start_run(run_name="first-try") as active:
        mlflow.log_param("positions", 100000)
        mlflow.log_param("mix", "retail")
        for step, value in enumerate([1.2, 1.4, 1.7]):
            mlflow.log_metric("lcr", value, step=step)
        mlflow.log_metrics({"rwa_total": 5.0e9, "loss": 0.25})
        mlflow.set_tag("team", "alm")
        run_id = active.info.run_id

    run = Run.objects.get(pk=run_id)
    assert run.kind == "tracked"
    assert run.owner == analyst
    assert run.status == RunStatus.SUCCEEDED
    assert run.origin == RunOrigin.ENGINE
    assert run.params == {"positions": "100000", "mix": "retail"}
    assert run.metrics == {"lcr": 1.7, "rwa_total": 5.0e9, "loss": 0.25}
    assert run.tracked.run_name == "first-try"
    assert run.tracked.tags["team"] == "alm"
    assert run.tags.filter(name="mlflow:basel-tuning").exists()
    assert [p.value for p in run.metric_points.filter(key="lcr").order_by("step")] == [1.2, 1.4, 1.7]
