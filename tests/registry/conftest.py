"""Fixtures of the registry tests: role personas, a small credit dataset, trained runs."""
from __future__ import annotations

from typing import Any, Callable

import pytest
from accounts.roles import Role
from runs.models import Run, RunTrigger
from runs.services import run_create
from simulations.registry.scoring import cache_clear
from simulations.training.datasets import dataset_generate_credit


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    cache_clear()
    yield
    cache_clear()


@pytest.fixture
def users(make_user) -> dict[str, Any]:
    return {role.value: make_user(role.value, username=f"r_{role.value}") for role in Role}


@pytest.fixture
def credit(db: Any):
    return dataset_generate_credit(rows=3_000, seed=11)


@pytest.fixture
def train(django_capture_on_commit_callbacks: Any) -> Callable[..., Run]:
    def _train(owner: Any = None, **params: Any) -> Run:
        with django_capture_on_commit_callbacks(execute=True):
            run = run_create(kind="training", params=params, trigger=RunTrigger.MANUAL, owner=owner)
        run.refresh_from_db()
        return run

    return _train


@pytest.fixture
def logistic_run(train, credit) -> Run:
    run = train(model_type="pd_logistic", dataset=credit.pk, seed=1)
    assert run.status == "SUCCEEDED", run.error_message
    return run


@pytest.fixture
def credit_rows(credit) -> list[dict[str, Any]]:
    from simulations.training.datasets import dataset_read_frame

    frame = dataset_read_frame(dataset=credit).head(20)
    return frame.to_dict(orient="records")
