"""Shared personas and helpers for every test.

Personas are users holding one role each, created through the same role groups
the product uses, so a test of "a viewer cannot…" tests the real role matrix.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.roles import Role

REQUIRE_SERVICES = os.environ.get("RUNSIGHT_REQUIRE_SERVICES") == "1"
# `make test-services` sets it: keep only the selection of tests/service_leg.txt.
SERVICE_LEG = os.environ.get("RUNSIGHT_SERVICE_LEG") == "1"
ROOT = Path(__file__).resolve().parent.parent


def _service_leg_paths() -> list[str]:
    listing = ROOT / "tests" / "service_leg.txt"
    paths = [line.split("#", 1)[0].strip() for line in listing.read_text().splitlines()]
    paths = [path.rstrip("/") for path in paths if path]
    missing = [path for path in paths if not (ROOT / path).exists()]
    if missing:
        raise pytest.UsageError(f"tests/service_leg.txt names paths that do not exist: {', '.join(missing)}")
    return paths


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """In the service leg, run what needs services or runs differently on PostgreSQL:
    every `services`/`browser` test, wherever it is, and the paths of tests/service_leg.txt."""
    if not SERVICE_LEG:
        return
    paths = _service_leg_paths()
    keep, drop = [], []
    for item in items:
        where = Path(str(item.path)).resolve().relative_to(ROOT).as_posix()
        listed = any(where == path or where.startswith(path + "/") for path in paths)
        marked = item.get_closest_marker("services") or item.get_closest_marker("browser")
        (keep if listed or marked else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any):
    """In the service leg, a service or browser test that skips fails instead."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped and (
        item.get_closest_marker("services") or item.get_closest_marker("browser")
    ):
        report.outcome = "failed"
        report.longrepr = f"service test skipped in the service leg: {report.longrepr}"


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(settings: Any, tmp_path_factory: Any) -> None:
    """Each test writes artifacts to a folder of its own, never to var/ (files are
    content-addressed: a test that alters one must not alter another test's)."""
    root = tmp_path_factory.mktemp("artifacts")
    settings.ARTIFACT_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    from django.contrib.auth import get_user_model

    created: dict[str, int] = {}

    def _make(*role_names: str, username: str | None = None, **extra: Any):
        base = username or ("_".join(role_names) or "norole")
        created[base] = created.get(base, 0) + 1
        name = base if created[base] == 1 else f"{base}{created[base]}"
        user = get_user_model().objects.create_user(username=name, password="pw-for-tests-1", **extra)
        if role_names:
            user.groups.set(Group.objects.filter(name__in=role_names))
        return user

    return _make


@pytest.fixture
def viewer(make_user):
    return make_user(Role.VIEWER)


@pytest.fixture
def analyst(make_user):
    return make_user(Role.ANALYST)


@pytest.fixture
def ml_admin(make_user):
    return make_user(Role.ML_ADMIN)


@pytest.fixture
def admin_user(make_user):
    return make_user(Role.ADMIN, username="boss", is_staff=True)


@pytest.fixture
def governance(make_user):
    return make_user(Role.GOVERNANCE_ADMIN, is_staff=True)


@pytest.fixture
def finops_admin(make_user):
    return make_user(Role.FINOPS_ADMIN)


@pytest.fixture
def client_for() -> Callable[[Any], Client]:
    def _client(user: Any) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return _client


@pytest.fixture
def demo_params() -> dict[str, Any]:
    return {"steps": 3, "step_seconds": 0, "fail_at_step": 0, "seed": 7}
