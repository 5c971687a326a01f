"""A world built once per test module, inside a transaction rolled back at its end.

Each test still runs in its own savepoint (pytest-django's `db`), and every request
in its own rolled-back savepoint (tests/crawl/requests.py), so tests share the
world without seeing each other's changes. Artifacts go to a folder of the module.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from django.db import transaction
from django.test import override_settings

from tests.crawl.requests import clients_for
from tests.crawl.world import World, build_world


def _storages(root: Path) -> dict[str, Any]:
    from django.conf import settings

    return {
        **settings.STORAGES,
        "artifacts": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }


@pytest.fixture(scope="module")
def world_artifacts(tmp_path_factory: Any) -> Path:
    return tmp_path_factory.mktemp("world-artifacts")


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any, world_artifacts: Path) -> Iterator[World]:
    with django_db_blocker.unblock(), override_settings(
        ARTIFACT_ROOT=world_artifacts, ARTIFACT_STORE="file", STORAGES=_storages(world_artifacts)
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build_world()
            built.clients = clients_for(built)  # signed in once: their sessions live in the world
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)  # nothing of the world survives into the next module


@pytest.fixture
def in_world(world: World, db: Any, settings: Any, world_artifacts: Path) -> World:
    """The world, inside this test's savepoint, with the world's artifact store."""
    settings.ARTIFACT_ROOT = world_artifacts
    settings.ARTIFACT_STORE = "file"
    settings.STORAGES = _storages(world_artifacts)
    return world


@pytest.fixture
def clients(in_world: World) -> dict[str, Any]:
    return in_world.clients
