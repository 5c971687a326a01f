"""Who reaches Admin › Batch Runs, on pages, API and the Django admin, with personas of every role."""
from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.roles import Role
from finops_admin.models import AllocationRule, Application, Domain
from runs.models import Run
from runs.services import run_create

SECTION = ["/finops/admin/runs/", "/finops/admin/runs/export.csv", "/finops/admin/runs/launch/"]


@pytest.fixture
def batch(sources, finops_admin_user, django_capture_on_commit_callbacks) -> Run:
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="finops_batch", params={"periods": "2026-11", "domains": "open"}, owner=finops_admin_user)
    return run


def _pages(run: Run) -> list[str]:
    return [*SECTION, f"/finops/admin/runs/{run.run_id}/", f"/finops/admin/runs/{run.run_id}/logs.txt",
            f"/finops/admin/runs/{run.run_id}/reprocess/"]


@pytest.mark.parametrize("role", [Role.FINOPS_ADMIN, Role.ADMIN])
def test_finops_admin_and_admin_reach_every_page(make_user, batch, role):
    client = Client()
    client.force_login(make_user(role))
    for path in _pages(batch):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("role", [Role.FINOPS_USER, Role.VIEWER, Role.ANALYST, Role.ML_ADMIN, Role.GOVERNANCE_ADMIN])
def test_other_roles_get_403_everywhere_and_no_menu(make_user, batch, role):
    client = Client()
    client.force_login(make_user(role))
    for path in _pages(batch):
        assert client.get(path).status_code == 403, path
    assert client.post("/finops/admin/runs/launch/", {}).status_code == 403
    assert client.post(f"/finops/admin/runs/{batch.run_id}/reprocess/").status_code == 403
    assert Run.objects.count() == 1
    assert "Batch Runs" not in client.get("/").content.decode()


def test_anonymous_goes_to_login(batch):
    for path in _pages(batch):
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path


def test_simulation_roles_see_no_finops_run_in_the_run_list(make_user, batch):
    for role in (Role.VIEWER, Role.ANALYST, Role.ML_ADMIN):
        client = APIClient()
        client.force_authenticate(make_user(role))
        assert batch.run_id not in [r["run_id"] for r in client.get("/api/runs/", {"page_size": 100}).json()["results"]]


def test_admin_sees_finops_runs_in_the_admin(make_user, batch):
    staff = make_user(Role.ADMIN, is_staff=True)
    client = Client()
    client.force_login(staff)
    listing = client.get("/admin/finops_admin/batchrun/")
    assert listing.status_code == 200 and batch.run_id in listing.content.decode()
    change = client.get(f"/admin/finops_admin/batchrun/{batch.pk}/change/")
    html = change.content.decode()
    assert change.status_code == 200 and "finops_agg_domain_month" in html and "Open" in html  # inlines
    assert client.get("/admin/finops_admin/costreading/?domain__id__exact=1").status_code == 200
    assert client.get("/admin/finops_admin/costreading/add/").status_code == 403
    assert client.get("/admin/django_celery_beat/periodictask/?q=FinOps").status_code == 200


def test_staff_without_finops_permissions_is_refused_in_the_admin(make_user, batch):
    ml = make_user(Role.ML_ADMIN, is_staff=True)
    client = Client()
    client.force_login(ml)
    assert client.get("/admin/finops_admin/batchrun/").status_code == 403
    assert client.get("/admin/finops_admin/application/").status_code == 403


def test_a_staff_finops_admin_edits_the_catalogue_audited(make_user, sources):
    user = make_user(Role.FINOPS_ADMIN, is_staff=True)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/finops_admin/batchrun/").status_code == 200
    app = Application.objects.filter(is_unallocated=False).first()
    response = client.post("/admin/finops_admin/allocationrule/add/", {
        "priority": 5, "domain": app.domain_id, "field": "provider", "tag_key": "", "value": "AWS",
        "application": app.pk, "is_active": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AllocationRule.objects.get(priority=5, value="AWS")
    event = AuditEvent.objects.get(action="finops.allocationrule.add")
    assert event.actor == user and event.detail["pk"] == str(rule.pk)
    client.post(f"/admin/finops_admin/allocationrule/{rule.pk}/delete/", {"post": "yes"})
    assert not AllocationRule.objects.filter(pk=rule.pk).exists()
    assert AuditEvent.objects.filter(action="finops.allocationrule.delete", actor=user).exists()
    # Readings stay read-only for them too.
    assert client.get("/admin/finops_admin/costreading/add/").status_code == 403
    assert Domain.objects.count() >= 4
