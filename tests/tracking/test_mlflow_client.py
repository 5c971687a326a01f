"""MLflow's own client against a live Runsight: a training script's run shows up as a Runsight
run, and search_runs answers as Runsight does."""
from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from projects.models import Experiment, RunPlacement
from runs.hashing import params_hash
from runs.models import Run, RunOrigin, RunStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_logs_a_script_as_a_tracked_run(mlflow_env: Any, analyst: Any) -> None:
    import mlflow

    mlflow_env(analyst)
    mlflow.set_experiment("Basel/tuning")
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
    assert run.status == RunStatus.SUCCEEDED and run.finished_at is not None
    assert run.origin == RunOrigin.ENGINE
    assert run.params == {"positions": "100000", "mix": "retail"}
    assert run.params_hash == params_hash(run.params)
    assert run.metrics == {"lcr": 1.7, "rwa_total": 5.0e9, "loss": 0.25}
    assert run.tracked.run_name == "first-try"
    assert run.tracked.tags["team"] == "alm"
    placement = RunPlacement.objects.select_related("project", "experiment").get(run=run)
    assert (placement.project.name, placement.experiment.name) == ("Basel", "tuning")
    assert [p.value for p in run.metric_points.filter(key="lcr").order_by("step")] == [1.2, 1.4, 1.7]


def test_it_reads_the_run_back_with_its_history(mlflow_env: Any, analyst: Any) -> None:
    import mlflow

    client = mlflow_env(analyst)
    with mlflow.start_run() as active:
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_param("lr", "0.01")
    run = client.get_run(active.info.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.experiment_id == "0"
    assert run.data.metrics == {"loss": pytest.approx(1 / 3)}
    assert run.data.params == {"lr": "0.01"}
    assert run.data.tags["runsight.kind"] == "tracked"
    history = client.get_metric_history(active.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]


def test_an_experiment_without_a_project_goes_to_the_mlflow_project(mlflow_env: Any, analyst: Any) -> None:
    client = mlflow_env(analyst)
    experiment_id = client.create_experiment("nightly")
    experiment = Experiment.objects.select_related("project").get(pk=int(experiment_id))
    assert (experiment.project.name, experiment.name) == ("MLflow", "nightly")
    assert client.get_experiment_by_name("MLflow/nightly").experiment_id == experiment_id
    assert client.get_experiment_by_name("nightly").experiment_id == experiment_id
    names = [e.name for e in client.search_experiments()]
    assert names == ["Default", "MLflow/nightly"]


def _computed_run(number: int, *, owner: Any, metrics: dict[str, Any]) -> Run:
    """A simulation run as the engine leaves it: SUCCEEDED, with its metrics."""
    now = timezone.now()
    return Run.objects.create(
        run_id=f"run_sim_{number:03d}", kind="simulation", status=RunStatus.SUCCEEDED, owner=owner,
        params={"positions": 1000 * number}, params_hash=params_hash({"positions": 1000 * number}),
        metrics=metrics, started_at=now, finished_at=now,
    )


def test_search_runs_answers_the_metric_query_in_order(mlflow_env: Any, analyst: Any, viewer: Any) -> None:
    import mlflow

    mlflow_env(analyst)
    logged = {}
    for name, lcr, rwa in (("a", 1.2, 9e9), ("b", 1.8, 4e9), ("c", 2.5, 7e9)):
        with mlflow.start_run(run_name=name) as active:
            mlflow.log_metrics({"lcr": lcr, "rwa_total": rwa})
        logged[name] = active.info.run_id
    sims = {
        "s1": _computed_run(1, owner=analyst, metrics={"lcr": 1.6, "rwa_total": 8e9, "lcr_pass": True}),
        "s2": _computed_run(2, owner=analyst, metrics={"lcr": 1.4, "rwa_total": 9.5e9}),
        "s3": _computed_run(3, owner=analyst, metrics={"lcr": 3.0, "rwa_total": 1e9}),
        "s4": _computed_run(4, owner=analyst, metrics={"rwa_total": 2e10}),  # no LCR: never matches
    }
    client = mlflow_env(viewer)  # reading needs only the right to see runs
    found = client.search_runs(["0"], filter_string="metrics.lcr > 1.5", order_by=["metrics.rwa_total DESC"])
    expected = [sims["s1"].pk.hex, logged["c"], logged["b"], sims["s3"].pk.hex]
    assert [r.info.run_id for r in found] == expected
    assert found[0].data.metrics["rwa_total"] == 8e9
    assert found[0].data.tags["runsight.run_id"] == "run_sim_001"

    # Runsight's query language is a superset: kinds, OR, NOT.
    kinds = client.search_runs(["0"], filter_string="metrics.lcr > 1.5 AND kind = 'simulation'",
                               order_by=["metrics.rwa_total DESC"])
    assert [r.info.run_id for r in kinds] == [sims["s1"].pk.hex, sims["s3"].pk.hex]
    by_param = client.search_runs(["0"], filter_string="params.positions = '3000'")
    assert [r.info.run_id for r in by_param] == [sims["s3"].pk.hex]
    finished = client.search_runs(["0"], filter_string="attributes.status = 'FINISHED' AND metrics.lcr < 1.5")
    assert {r.info.run_id for r in finished} == {logged["a"], sims["s2"].pk.hex}


def test_search_runs_pages_through_every_run(mlflow_env: Any, analyst: Any) -> None:
    import mlflow

    mlflow_env(analyst)
    ids = []
    for value in range(5):
        with mlflow.start_run() as active:
            mlflow.log_metric("score", value)
        ids.append(active.info.run_id)
    client = mlflow_env(analyst)
    first = client.search_runs(["0"], order_by=["metrics.score ASC"], max_results=2)
    assert [r.info.run_id for r in first] == ids[:2] and first.token
    rest = client.search_runs(["0"], order_by=["metrics.score ASC"], max_results=10, page_token=first.token)
    assert [r.info.run_id for r in rest] == ids[2:] and not rest.token


def test_the_client_is_refused_without_the_right_role(mlflow_env: Any, viewer: Any) -> None:
    from mlflow.exceptions import MlflowException

    client = mlflow_env(viewer)
    with pytest.raises(MlflowException) as refused:
        client.create_run("0")
    assert refused.value.error_code == "PERMISSION_DENIED"
    assert not Run.objects.filter(kind="tracked").exists()


def test_a_bad_filter_is_refused_with_its_position(mlflow_env: Any, analyst: Any) -> None:
    from mlflow.exceptions import MlflowException

    client = mlflow_env(analyst)
    with pytest.raises(MlflowException) as refused:
        client.search_runs(["0"], filter_string="metrics.lcr >> 1.5")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "(at character 14)" in refused.value.message


def test_mlflow_search_and_the_run_list_api_agree(mlflow_env: Any, analyst: Any, client_for: Any) -> None:
    """The same query through MLflow's client and through Runsight's own API: the same runs, in the same order."""
    import mlflow

    mlflow_env(analyst)
    for index, (lcr, rwa) in enumerate([(1.2, 9e9), (1.8, 4e9), (2.5, 7e9), (1.9, 7e9), (3.1, None)]):
        with mlflow.start_run():
            mlflow.log_metric("lcr", lcr)
            if rwa is not None:
                mlflow.log_metric("rwa_total", rwa)
    for number, (lcr, rwa) in enumerate([(1.6, 8e9), (1.4, 9.5e9), (3.0, 1e9)], start=1):
        _computed_run(number, owner=analyst, metrics={"lcr": lcr, "rwa_total": rwa})
    client = mlflow_env(analyst)
    through_mlflow = [
        r.info.run_id for r in client.search_runs(["0"], "metrics.lcr > 1.5", order_by=["metrics.rwa_total DESC"])
    ]
    answer = client_for(analyst).get(
        "/api/runs/", {"filter": "metrics.lcr > 1.5", "ordering": "-metrics.rwa_total", "page_size": 100}
    )
    assert answer.status_code == 200, answer.content
    through_api = [row["id"].replace("-", "") for row in answer.json()["results"]]
    assert through_mlflow == through_api
    assert len(through_mlflow) == 6  # the run without rwa_total comes last in both


def test_an_mlflow_tag_is_found_by_the_query_language(mlflow_env: Any, analyst: Any) -> None:
    import mlflow

    client = mlflow_env(analyst)
    with mlflow.start_run(tags={"team": "alm"}) as tagged:
        mlflow.set_tag("desk", "rates")
    with mlflow.start_run():
        mlflow.set_tag("team", "credit")
    found = client.search_runs(["0"], filter_string="tags.team = 'alm' AND tags.desk = 'rates'")
    assert [r.info.run_id for r in found] == [tagged.info.run_id]
    assert found[0].data.tags["team"] == "alm"
    assert "team:alm" in Run.objects.get(pk=tagged.info.run_id).tags.values_list("name", flat=True)
