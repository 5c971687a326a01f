"""The real MLflow client against a live Runsight server, signed in with a Runsight API key."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from accounts.services import api_key_create


@pytest.fixture
def mlflow_env(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], Any]:
    """Point MLflow's client at the live server as `user` (its API key as MLFLOW_TRACKING_TOKEN);
    answers an MlflowClient. Retries off: a refusal must surface at once."""
    import mlflow
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", live_server.url)
    mlflow.set_tracking_uri(live_server.url)

    def _as(user: Any) -> Any:
        _, secret = api_key_create(owner=user, name="mlflow client")
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", secret)
        return MlflowClient(tracking_uri=live_server.url)

    return _as


@pytest.fixture(autouse=True)
def _fresh_mlflow_state() -> Iterator[None]:
    """MLflow's fluent API keeps the active run and experiment in the process: start each test without."""
    import os

    import mlflow.tracking.fluent as fluent

    # set_experiment writes the process environment itself, out of monkeypatch's reach.
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    fluent._active_experiment_id = None
    yield
    while fluent.active_run() is not None:
        fluent.end_run()
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    fluent._active_experiment_id = None
