"""Every admin change of a governed object goes through the services and is audited."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.models import ApiKey, AuditEvent
from accounts.services import api_key_create, api_key_revoke
from runs.models import Run, RunStatus
from runs.services import run_create
from tests.runs.test_manage_support import artifact_store, launch  # noqa: F401

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def root(db):
    return User.objects.create_superuser(username="root", password="root-pw-1234", email="r@example.com")


@pytest.fixture
def staff_analyst(make_user):
    return make_user("analyst", username="sa", is_staff=True)


# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------
def test_admin_delete_refuses_a_running_run_of_ones_own(client_for, staff_analyst, demo_params):
    run = run_create(kind="demo", params=demo_params, owner=staff_analyst)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    response = client_for(staff_analyst).post(f"/admin/runs/run/{run.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Run.objects.filter(pk=run.pk).exists()


def test_admin_delete_goes_through_the_service_removes_the_file_and_is_audited(
    client_for, staff_analyst, launch, artifact_store, django_capture_on_commit_callbacks
):
    run = launch(staff_analyst, seed=11)
    paths = [artifact_store / a.path for a in run.artifacts.all() if a.path]
    assert paths and all(p.exists() for p in paths)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(staff_analyst).post(f"/admin/runs/run/{run.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Run.objects.filter(pk=run.pk).exists()
    assert AuditEvent.objects.filter(action="run.delete", target=run.run_id, actor=staff_analyst).exists()
    assert not any(p.exists() for p in paths)


def test_admin_delete_of_someone_elses_run_is_refused(client_for, staff_analyst, make_user, demo_params):
    other = make_user("analyst", username="other")
    run = run_create(kind="demo", params=demo_params, owner=other)
    response = client_for(staff_analyst).post(f"/admin/runs/run/{run.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Run.objects.filter(pk=run.pk).exists()


# ---------------------------------------------------------------------------
# API keys
# ---------------------------------------------------------------------------
def _key_form(key: ApiKey, **overrides):
    data = {"name": key.name, "owner": str(key.owner_id), "revoked_at_0": "", "revoked_at_1": ""}
    data.update(overrides)
    return data


def test_a_revoked_key_cannot_be_unrevoked_or_moved_in_the_admin(client_for, make_user, root):
    analyst_b = make_user("analyst", username="b")
    key, secret = api_key_create(owner=analyst_b, name="b-laptop")
    api_key_revoke(key=key, actor=analyst_b)
    response = client_for(root).post(
        f"/admin/accounts/apikey/{key.pk}/change/", _key_form(key, owner=str(root.pk), name="renamed")
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and key.owner_id == analyst_b.pk and key.name == "renamed"
    assert AuditEvent.objects.filter(action="api_key.rename", target=str(key.pk), actor=root).exists()
    assert client_for(None).get("/api/runs/", HTTP_AUTHORIZATION=f"Api-Key {secret}").status_code == 401


def test_a_superuser_adds_a_key_in_the_admin_and_sees_the_secret_once(client_for, root):
    client = client_for(root)
    assert client.get("/admin/accounts/apikey/add/").status_code == 200
    response = client.post("/admin/accounts/apikey/add/", {"owner": str(root.pk), "name": "ci"})
    assert response.status_code == 200
    key = ApiKey.objects.get(name="ci")
    secret = response.context["secret"]
    assert secret.startswith("rsk_") and secret.encode() in response.content
    assert "no-store" in response["Cache-Control"]
    assert client_for(None).get("/api/runs/", HTTP_AUTHORIZATION=f"Api-Key {secret}").status_code == 200
    assert AuditEvent.objects.filter(action="api_key.create", target=str(key.pk), actor=root).exists()
    # Never again: the change page shows no secret.
    assert secret.encode() not in client.get(f"/admin/accounts/apikey/{key.pk}/change/").content


def test_a_staff_analyst_adds_a_key_for_themselves_only(client_for, staff_analyst, root):
    client = client_for(staff_analyst)
    assert client.get("/admin/accounts/apikey/add/").status_code == 200
    response = client.post("/admin/accounts/apikey/add/", {"owner": str(root.pk), "name": "steal"})
    assert response.status_code == 200 and not ApiKey.objects.filter(name="steal").exists()  # not a valid choice
    response = client.post("/admin/accounts/apikey/add/", {"owner": str(staff_analyst.pk), "name": "mine"})
    assert response.status_code == 200 and ApiKey.objects.get(name="mine").owner == staff_analyst


def test_governance_cannot_make_a_key_for_a_superuser(client_for, governance, root):
    response = client_for(governance).post("/admin/accounts/apikey/add/", {"owner": str(root.pk), "name": "x"})
    assert response.status_code == 200 and not ApiKey.objects.filter(name="x").exists()


def test_the_revoke_action_is_audited(client_for, root, analyst):
    key, _ = api_key_create(owner=analyst, name="old")
    client_for(root).post("/admin/accounts/apikey/", {"action": "revoke_keys", "_selected_action": [str(key.pk)]})
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEvent.objects.filter(action="api_key.revoke", target=str(key.pk), actor=root).exists()


def test_the_create_api_key_command_prints_the_secret_once(analyst, capsys):
    call_command("create_api_key", analyst.username, "--name", "laptop")
    out = capsys.readouterr().out
    key = ApiKey.objects.get(name="laptop")
    secret = next(word for word in out.split() if word.startswith("rsk_"))
    assert key.owner == analyst and key.prefix == secret[4:12]
    with pytest.raises(CommandError, match="no user"):
        call_command("create_api_key", "nobody", "--name", "x")
    with pytest.raises(CommandError, match="name"):
        call_command("create_api_key", analyst.username, "--name", "")


# ---------------------------------------------------------------------------
# Every admin change, of any model, reaches the audit trail
# ---------------------------------------------------------------------------
def test_an_admin_change_of_an_ungoverned_model_is_audited_too(client_for, root):
    from django_celery_beat.models import IntervalSchedule

    response = client_for(root).post(
        "/admin/django_celery_beat/intervalschedule/add/",
        {"every": "7", "period": "days", "periodictask_set-TOTAL_FORMS": "0", "periodictask_set-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 302, response.content[:1000]
    schedule = IntervalSchedule.objects.get(every=7)
    event = AuditEvent.objects.get(action="admin.add", target=f"django_celery_beat.intervalschedule:{schedule.pk}")
    assert event.actor == root
    client_for(root).post(f"/admin/django_celery_beat/intervalschedule/{schedule.pk}/delete/", {"post": "yes"})
    assert AuditEvent.objects.filter(action="admin.delete", actor=root).exists()


def test_an_admin_user_change_is_audited_by_the_service_and_by_the_admin(client_for, root, viewer):
    from tests.security.test_governance_users import _change_form

    client_for(root).post(f"/admin/accounts/user/{viewer.pk}/change/", _change_form(viewer, email="z@example.com"))
    assert AuditEvent.objects.filter(action="user.update", target=viewer.username).exists()
    assert AuditEvent.objects.filter(action="admin.change", target=f"accounts.user:{viewer.pk}").exists()
