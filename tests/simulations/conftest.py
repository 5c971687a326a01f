"""Fixtures of the simulations tests: a private artifact store, the app's URLs, launching runs."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from runs.models import Run, RunTrigger
from runs.services import run_create

SMALL = {"seed": 7, "n_positions": 2_000}


@pytest.fixture
def artifact_store(tmp_path: Path, settings: Any) -> Path:
    """An empty artifact store of the test's own: tests that damage files damage only theirs."""
    root = tmp_path / "artifacts"
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    settings.ARTIFACT_STORE = "file"
    return root


@pytest.fixture
def sim_env(artifact_store: Path) -> Path:
    return artifact_store


@pytest.fixture
def small_params() -> dict[str, Any]:
    return dict(SMALL)


@pytest.fixture
def launch(django_capture_on_commit_callbacks: Any) -> Callable[..., Run]:
    """Launch a simulation run and execute it eagerly; return it reloaded."""

    def _launch(owner: Any = None, trigger: str = RunTrigger.MANUAL, **params: Any) -> Run:
        with django_capture_on_commit_callbacks(execute=True):
            run = run_create(kind="simulation", params={**SMALL, **params}, trigger=trigger, owner=owner)
        run.refresh_from_db()
        return run

    return _launch
