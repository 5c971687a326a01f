"""Tag names are shown only from the runs the caller may see."""
from __future__ import annotations

import pytest

from tests.runs.test_manage_support import secret_kind  # noqa: F401

from runs.services import run_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(analyst, demo_params):
    run_create(kind="demo", params=demo_params, owner=analyst, tags=["board-secret", "alpha"])


def test_a_role_that_sees_no_run_sees_no_tag(client_for, finops_admin, tagged):
    response = client_for(finops_admin).get("/api/tags/")
    assert response.status_code == 200 and response.json() == []
    assert client_for(finops_admin).get("/api/tags/?q=board").json() == []


def test_tags_of_kinds_the_caller_cannot_see_are_hidden(client_for, analyst, viewer, demo_params, secret_kind):
    run_create(kind=secret_kind.name, params=demo_params, owner=None, tags=["hidden-tag"])
    run_create(kind="demo", params=demo_params, owner=analyst, tags=["shown-tag"])
    assert client_for(viewer).get("/api/tags/").json() == ["shown-tag"]


def test_tags_are_counted_over_visible_runs_only(client_for, viewer, analyst, demo_params, secret_kind):
    for _ in range(3):
        run_create(kind=secret_kind.name, params=demo_params, owner=None, tags=["b"])
    run_create(kind="demo", params=demo_params, owner=analyst, tags=["a", "b"])
    run_create(kind="demo", params=demo_params, owner=analyst, tags=["a"])
    assert client_for(viewer).get("/api/tags/").json() == ["a", "b"]
