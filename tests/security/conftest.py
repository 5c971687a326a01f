"""Fixtures of the security tests: launching real simulation runs, API clients."""
from __future__ import annotations

from typing import Any, Callable

import pytest
from rest_framework.test import APIClient

from runs.models import Run, RunTrigger
from runs.services import run_create

SMALL = {"seed": 7, "n_positions": 2_000}


@pytest.fixture
def launch(django_capture_on_commit_callbacks: Any) -> Callable[..., Run]:
    """Launch a simulation run through the run core and execute it eagerly; return it reloaded."""

    def _launch(owner: Any = None, **params: Any) -> Run:
        with django_capture_on_commit_callbacks(execute=True):
            run = run_create(kind="simulation", params={**SMALL, **params}, trigger=RunTrigger.MANUAL, owner=owner)
        run.refresh_from_db()
        return run

    return _launch


@pytest.fixture
def api_for() -> Callable[[Any], APIClient]:
    def _client(user: Any) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return _client
