"""Who sees FinOps batch runs: finops_admin and admin; simulation roles never (pages and API)."""
from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.roles import Role
from runs.models import Run
from runs.services import run_create


@pytest.fixture
def finops_run(sources, finops_admin_user) -> Run:
    return run_create(kind="finops_batch", params={"periods": "2026-11"}, owner=finops_admin_user, enqueue=False)


def _api_ids(user) -> list[str]:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get("/api/runs/", {"page_size": 100})
    assert response.status_code in (200, 403)
    return [r["run_id"] for r in response.json().get("results", [])] if response.status_code == 200 else []


def _page(user, path: str):
    client = Client()
    client.force_login(user)
    return client.get(path)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ANALYST, Role.ML_ADMIN, Role.GOVERNANCE_ADMIN, Role.FINOPS_USER])
def test_other_roles_do_not_see_finops_runs(make_user, finops_run, role):
    user = make_user(role)
    assert finops_run.run_id not in _api_ids(user)
    listing = _page(user, "/runs/")
    assert finops_run.run_id not in listing.content.decode()
    assert _page(user, f"/runs/{finops_run.run_id}/").status_code in (403, 404)
    client = APIClient()
    client.force_authenticate(user)
    assert client.get(f"/api/runs/{finops_run.run_id}/").status_code in (403, 404)


def test_an_analyst_cannot_launch_a_finops_batch(analyst, sources):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        run_create(kind="finops_batch", params={}, owner=analyst, enqueue=False)


def test_admin_sees_finops_runs(admin_user, finops_run):
    assert finops_run.run_id in _api_ids(admin_user)
    page = _page(admin_user, f"/runs/{finops_run.run_id}/")
    assert page.status_code == 200 and "finops-batch-panel" in page.content.decode()


def test_the_run_page_shows_the_blocks(admin_user, sources, finops_admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="finops_batch", params={"periods": "2026-11"}, owner=finops_admin_user)
    html = _page(admin_user, f"/runs/{run.run_id}/").content.decode()
    assert 'id="finops-blocks"' in html and "Public" in html and "SUCCEEDED" in html
