"""The tracking API refuses what MLflow would refuse, in MLflow's shape (error_code, message),
with the HTTP status MLflow gives it, and writes nothing."""
from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.services import api_key_create, api_key_revoke
from runs.hashing import params_hash
from runs.models import Run, RunStatus
from tracking.models import MetricPoint

pytestmark = pytest.mark.django_db

BASE = "/api/2.0/mlflow/"


def _bearer(user: Any) -> dict[str, str]:
    _, secret = api_key_create(owner=user, name="script")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _post(client: Client, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.post(BASE + path, data=json.dumps(body), content_type="application/json", **headers)


def _create(client: Client, headers: dict[str, str]) -> str:
    answer = _post(client, "runs/create", {"experiment_id": "0", "run_name": "r"}, headers)
    assert answer.status_code == 200, answer.content
    return answer.json()["run"]["info"]["run_id"]


def test_it_answers_401_in_mlflows_shape_without_credentials(client: Client) -> None:
    answer = _post(client, "runs/search", {"experiment_ids": ["0"]}, {})
    assert answer.status_code == 401
    assert answer.json()["error_code"] == "UNAUTHENTICATED"
    assert answer["WWW-Authenticate"] == "Bearer"


def test_a_revoked_key_is_refused(client: Client, analyst: Any) -> None:
    key, secret = api_key_create(owner=analyst, name="old")
    api_key_revoke(key=key, actor=analyst)
    answer = _post(client, "runs/create", {}, {"HTTP_AUTHORIZATION": f"Bearer {secret}"})
    assert answer.status_code == 401
    assert answer.json() == {"error_code": "UNAUTHENTICATED", "message": "This API key has been revoked."}
    assert not Run.objects.exists()


def test_a_viewer_reads_but_may_not_create(client: Client, viewer: Any) -> None:
    headers = _bearer(viewer)
    assert _post(client, "runs/search", {"experiment_ids": ["0"]}, headers).status_code == 200
    answer = _post(client, "runs/create", {"experiment_id": "0"}, headers)
    assert answer.status_code == 403
    assert answer.json()["error_code"] == "PERMISSION_DENIED"
    answer = _post(client, "experiments/create", {"name": "P/e"}, headers)
    assert answer.status_code == 403
    assert not Run.objects.exists()


def test_a_role_that_sees_no_runs_may_not_search(client: Client, finops_admin: Any) -> None:
    answer = _post(client, "runs/search", {"experiment_ids": ["0"]}, _bearer(finops_admin))
    assert answer.status_code == 403
    assert answer.json()["error_code"] == "PERMISSION_DENIED"


def test_an_unknown_run_is_404(client: Client, viewer: Any) -> None:
    answer = client.get(BASE + "runs/get", {"run_id": "0" * 32}, **_bearer(viewer))
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_an_unknown_experiment_is_404(client: Client, viewer: Any) -> None:
    headers = _bearer(viewer)
    assert client.get(BASE + "experiments/get", {"experiment_id": "999"}, **headers).status_code == 404
    answer = _post(client, "runs/search", {"experiment_ids": ["999"]}, headers)
    assert answer.status_code == 404 and answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"experiment_ids": ["0"], "filter": "metrics.lcr > 'high'"}, "Expected a number"),
        ({"experiment_ids": ["0"], "filter": "metrics.lcr >"}, "(at character 14)"),
        ({"experiment_ids": ["0"], "filter": "colour = 'red'"}, "Unknown attribute 'colour'"),
        ({"experiment_ids": ["0"], "order_by": ["attributes.colour DESC"]}, "Unknown attribute 'colour'"),
        ({"experiment_ids": ["0"], "max_results": 0}, "max_results"),
        ({"experiment_ids": ["0"], "page_token": "not-a-token"}, "page_token"),
        ({}, "experiment_ids"),
    ],
)
def test_bad_search_input_is_400(client: Client, viewer: Any, body: dict[str, Any], words: str) -> None:
    answer = _post(client, "runs/search", body, _bearer(viewer))
    assert answer.status_code == 400, answer.content
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert words in answer.json()["message"]


def test_a_param_logged_again_with_another_value_refuses_the_whole_batch(client: Client, analyst: Any) -> None:
    headers = _bearer(analyst)
    run_id = _create(client, headers)
    assert _post(client, "runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.1"}, headers).status_code == 200
    answer = _post(client, "runs/log-batch", {
        "run_id": run_id,
        "metrics": [{"key": "loss", "value": 0.5, "timestamp": 1, "step": 0}],
        "params": [{"key": "lr", "value": "0.2"}],
    }, headers)
    assert answer.status_code == 400
    assert "Changing param values is not allowed" in answer.json()["message"]
    run = Run.objects.get(pk=run_id)
    assert run.params == {"lr": "0.1"} and run.metrics == {}
    assert not MetricPoint.objects.exists()


def test_bad_metric_values_and_names_are_400(client: Client, analyst: Any) -> None:
    headers = _bearer(analyst)
    run_id = _create(client, headers)
    for body in (
        {"run_id": run_id, "key": "loss", "value": "high"},
        {"run_id": run_id, "key": "../etc", "value": 1},
        {"run_id": run_id, "key": "loss", "value": 1, "step": "first"},
        {"run_id": run_id, "key": "loss"},
    ):
        answer = _post(client, "runs/log-metric", body, headers)
        assert answer.status_code == 400, body
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert not MetricPoint.objects.exists()


def test_only_tracked_runs_take_logged_values(client: Client, analyst: Any) -> None:
    run = Run.objects.create(
        run_id="run_sim_001", kind="simulation", status=RunStatus.SUCCEEDED, owner=analyst,
        params={}, params_hash=params_hash({}), metrics={"lcr": 1.2}, finished_at=timezone.now(),
    )
    answer = _post(client, "runs/log-metric", {"run_id": run.pk.hex, "key": "lcr", "value": 9}, _bearer(analyst))
    assert answer.status_code == 400
    assert "only tracked runs" in answer.json()["message"]
    run.refresh_from_db()
    assert run.metrics == {"lcr": 1.2}


def test_another_users_run_is_not_logged_into(client: Client, analyst: Any, make_user: Any) -> None:
    run_id = _create(client, _bearer(analyst))
    other = make_user("analyst", username="other")
    answer = _post(client, "runs/log-metric", {"run_id": run_id, "key": "x", "value": 1}, _bearer(other))
    assert answer.status_code == 403
    assert answer.json()["error_code"] == "PERMISSION_DENIED"


def test_a_finished_run_takes_nothing_more(client: Client, analyst: Any) -> None:
    headers = _bearer(analyst)
    run_id = _create(client, headers)
    assert _post(client, "runs/update", {"run_id": run_id, "status": "FINISHED"}, headers).status_code == 200
    answer = _post(client, "runs/log-metric", {"run_id": run_id, "key": "x", "value": 1}, headers)
    assert answer.status_code == 400
    assert "must be running" in answer.json()["message"]


def test_a_failed_run_keeps_no_metrics_as_every_failed_run(client: Client, analyst: Any) -> None:
    headers = _bearer(analyst)
    run_id = _create(client, headers)
    _post(client, "runs/log-metric", {"run_id": run_id, "key": "loss", "value": 0.3}, headers)
    answer = _post(client, "runs/update", {"run_id": run_id, "status": "FAILED"}, headers)
    assert answer.json()["run_info"]["status"] == "FAILED"
    run = Run.objects.get(pk=run_id)
    assert run.status == RunStatus.FAILED and run.metrics == {}


def test_killed_is_cancelled(client: Client, analyst: Any) -> None:
    headers = _bearer(analyst)
    run_id = _create(client, headers)
    answer = _post(client, "runs/update", {"run_id": run_id, "status": "KILLED"}, headers)
    assert answer.json()["run_info"]["status"] == "KILLED"
    assert Run.objects.get(pk=run_id).status == RunStatus.CANCELLED


def test_an_experiment_name_is_taken_once(client: Client, analyst: Any) -> None:
    headers = _bearer(analyst)
    assert _post(client, "experiments/create", {"name": "Basel/eu"}, headers).status_code == 200
    answer = _post(client, "experiments/create", {"name": "Basel/eu"}, headers)
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    answer = _post(client, "experiments/create", {"name": ""}, headers)
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_a_run_goes_only_into_a_project_its_client_may_edit(client: Client, analyst: Any, make_user: Any) -> None:
    experiment_id = _post(client, "experiments/create", {"name": "Basel/eu"}, _bearer(analyst)).json()["experiment_id"]
    outsider = make_user("analyst", username="outsider")
    answer = _post(client, "runs/create", {"experiment_id": experiment_id}, _bearer(outsider))
    assert answer.status_code == 403
    assert not Run.objects.filter(owner=outsider).exists()
