"""Personas and objects shared by the project tests: an owner (analyst), a member (ml_admin),
a non-member analyst, a viewer and an admin."""
from __future__ import annotations

from typing import Any

import pytest

from accounts.roles import Role
from projects import services


@pytest.fixture
def owner(make_user: Any) -> Any:
    return make_user(Role.ANALYST, username="olivia")


@pytest.fixture
def member(make_user: Any) -> Any:
    return make_user(Role.ML_ADMIN, username="max")


@pytest.fixture
def outsider(make_user: Any) -> Any:
    return make_user(Role.ANALYST, username="nina")


@pytest.fixture
def project(owner: Any, member: Any) -> Any:
    """A project owned by olivia with max as a member; olivia's creation lock is released."""
    created = services.project_create(actor=owner, name="Basel book review", description="Q4", members=[member])
    services.project_lock_release(actor=owner, project=created)
    return created


@pytest.fixture
def demo_run(owner: Any, demo_params: dict[str, Any]) -> Any:
    from runs.services import run_create

    return run_create(kind="demo", params=demo_params, owner=owner, enqueue=False)
