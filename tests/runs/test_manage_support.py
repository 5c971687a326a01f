"""Fixtures shared by the test_manage_* modules (they import them from here).

Runs are built through the real services: the demo kind executed eagerly gives
real artifacts and checksums. Artifact files go to a temporary store so that a
test overwriting a file never touches another test's bytes.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

import pytest
from django.utils import timezone

from runs.kinds import RunKind
from runs.demo_kind import DemoParamsForm, execute_demo
from runs.models import Run
from runs.services.lifecycle import run_create

# A kind only admins (accounts.manage_users) may see: analysts and ML admins do not.
SECRET_KIND = RunKind(
    name="secret_demo", label="Secret demo", params_form=DemoParamsForm, execute=execute_demo,
    view_permission="accounts.manage_users", is_demo=True,
)


@pytest.fixture
def artifact_store(settings: Any, tmp_path: Any) -> Any:
    root = tmp_path / "artifacts"
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    settings.ARTIFACT_STORE = "file"
    return root


@pytest.fixture
def secret_kind(monkeypatch: Any) -> RunKind:
    from runs import kinds

    monkeypatch.setitem(kinds._REGISTRY, SECRET_KIND.name, SECRET_KIND)
    return SECRET_KIND


@pytest.fixture
def launch(artifact_store: Any, django_capture_on_commit_callbacks: Any) -> Callable[..., Run]:
    """Launch and execute a demo run; `age_days` moves its creation back in time."""

    def _launch(owner: Any = None, *, seed: int = 7, age_days: float = 0, kind: str = "demo",
                parent: Run | None = None, favourite: bool = False, **params: Any) -> Run:
        values = {"steps": 3, "step_seconds": 0, "fail_at_step": 0, "seed": seed, **params}
        with django_capture_on_commit_callbacks(execute=True):
            run = run_create(kind=kind, params=values, owner=owner, parent=parent)
        updates: dict[str, Any] = {}
        if age_days:
            updates["created_at"] = timezone.now() - timedelta(days=age_days)
        if favourite:
            updates["is_favourite"] = True
        if updates:
            Run.objects.filter(pk=run.pk).update(**updates)
        run.refresh_from_db()
        return run

    return _launch
