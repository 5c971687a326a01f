"""Bulk deletion and cleanup take bounded id lists and never echo a huge list back."""
from __future__ import annotations

import pytest

from runs.models import Run
from runs.services import run_create
from tests.runs.test_manage_support import artifact_store, launch  # noqa: F401

pytestmark = pytest.mark.django_db


def test_bulk_delete_refuses_more_ids_than_the_limit_and_echoes_nothing(client_for, admin_user, demo_params):
    run = run_create(kind="demo", params=demo_params, owner=admin_user)
    ids = [run.run_id] + [f"nope-{i:05d}" for i in range(5000)]
    response = client_for(admin_user).post("/api/runs/bulk-delete/", {"runs": ids}, content_type="application/json")
    assert response.status_code == 400
    assert "At most 1000 run ids" in str(response.json())
    assert len(response.content) < 2000
    assert Run.objects.filter(pk=run.pk).exists()


def test_bulk_delete_of_many_missing_ids_names_a_few(client_for, admin_user):
    ids = [f"nope-{i:05d}" for i in range(900)]
    response = client_for(admin_user).post("/api/runs/bulk-delete/", {"runs": ids}, content_type="application/json")
    assert response.status_code == 404
    assert "and 890 more" in response.json()["detail"] and len(response.content) < 2000


def test_cleanup_execute_refuses_more_ids_than_the_limit(client_for, admin_user):
    ids = [f"nope-{i:05d}" for i in range(1001)]
    response = client_for(admin_user).post(
        "/api/cleanup/execute/", {"days": 30, "runs": ids}, content_type="application/json"
    )
    assert response.status_code == 400 and "At most 1000 run ids" in str(response.json())


def test_a_stale_cleanup_names_a_few_problems_only(client_for, admin_user, launch):
    ids = [launch(admin_user, seed=i, age_days=40).run_id for i in range(12)]
    ids += [f"gone-{i:03d}" for i in range(30)]
    response = client_for(admin_user).post(
        "/api/cleanup/execute/", {"days": 30, "runs": ids}, content_type="application/json"
    )
    assert response.status_code == 409
    assert "and 20 more" in response.json()["detail"]
    assert Run.objects.count() == 12


def test_the_limit_is_a_setting(client_for, admin_user, settings, demo_params):
    settings.RUN_BULK_MAX_IDS = 2
    runs = [run_create(kind="demo", params=demo_params, owner=admin_user).run_id for _ in range(3)]
    response = client_for(admin_user).post("/api/runs/bulk-delete/", {"runs": runs}, content_type="application/json")
    assert response.status_code == 400 and "At most 2 run ids" in str(response.json())
    page = client_for(admin_user).post("/runs/bulk/", {"runs": runs, "action": "favourite"}, follow=True)
    assert b"at most 2 runs" in page.content
    assert client_for(admin_user).get("/runs/bulk/delete/?" + "&".join(f"runs={r}" for r in runs)).status_code == 400
