"""Fixtures of the training tests: generated datasets and eager training runs."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from runs.models import Run, RunTrigger
from runs.services import run_create
from simulations.training.datasets import dataset_generate_credit, dataset_generate_market


@pytest.fixture
def credit(db: Any):
    return dataset_generate_credit(rows=20_000, seed=11)


@pytest.fixture
def market(db: Any):
    return dataset_generate_market(days=2_500, seed=5)


@pytest.fixture
def train(django_capture_on_commit_callbacks: Any) -> Callable[..., Run]:
    """Launch a training run, execute it eagerly, return it reloaded."""

    def _train(owner: Any = None, **params: Any) -> Run:
        with django_capture_on_commit_callbacks(execute=True):
            run = run_create(kind="training", params=params, trigger=RunTrigger.MANUAL, owner=owner)
        run.refresh_from_db()
        return run

    return _train
