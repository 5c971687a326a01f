"""The lock and the roles on every surface: pages, API, admin, commands, launch form, run list."""
from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import AuditEvent
from projects import services
from projects.models import Experiment, Project, ProjectLock, RunPlacement

pytestmark = pytest.mark.django_db


@pytest.fixture
def locked_by_member(project: Any, member: Any) -> Any:
    services.project_lock_take(actor=member, project=project)
    return project


# --- pages -----------------------------------------------------------------------
def test_the_page_shows_who_holds_the_lock_and_offers_no_edit(locked_by_member: Any, owner: Any, client_for: Any) -> None:
    page = client_for(owner).get(f"/projects/{locked_by_member.pk}/")
    text = page.content.decode()
    assert page.status_code == 200 and "Held by max" in text
    assert 'id="project-edit-form"' not in text and 'id="experiment-create-form"' not in text


def test_a_page_edit_while_another_holds_the_lock_is_refused(locked_by_member: Any, owner: Any, client_for: Any) -> None:
    client = client_for(owner)
    answer = client.post(f"/projects/{locked_by_member.pk}/edit/", {"name": "Taken over", "description": ""},
                         follow=True)
    assert "being edited by max" in answer.content.decode()
    locked_by_member.refresh_from_db()
    assert locked_by_member.name == "Basel book review"
    client.post(f"/projects/{locked_by_member.pk}/experiments/", {"name": "e1"})
    assert not Experiment.objects.exists()


def test_the_page_lock_expires(locked_by_member: Any, owner: Any, client_for: Any, settings: Any) -> None:
    settings.PROJECT_LOCK_IDLE_SECONDS = 30
    ProjectLock.objects.update(last_active_at=timezone.now() - timedelta(seconds=31))
    client = client_for(owner)
    text = client.get(f"/projects/{locked_by_member.pk}/").content.decode()
    assert "Held by max" not in text and 'id="project-edit-form"' in text
    client.post(f"/projects/{locked_by_member.pk}/edit/", {"name": "Taken over", "description": ""})
    locked_by_member.refresh_from_db()
    assert locked_by_member.name == "Taken over" and ProjectLock.objects.get(project=locked_by_member).holder == owner


def test_a_non_member_gets_403_on_every_edit_page(project: Any, outsider: Any, client_for: Any) -> None:
    client = client_for(outsider)
    for path, data in (("edit/", {"name": "x"}), ("experiments/", {"name": "e"}), ("members/", {"username": "nina"}),
                       ("datasets/", {"dataset": "d"}), ("lock/", {"action": "take"})):
        assert client.post(f"/projects/{project.pk}/{path}", data).status_code == 403, path
    assert client.get(f"/projects/{project.pk}/").status_code == 200  # reading is fine


def test_a_member_edits_through_the_page_and_takes_the_free_lock(project: Any, owner: Any, client_for: Any) -> None:
    client = client_for(owner)
    client.post(f"/projects/{project.pk}/experiments/", {"name": "lcr", "purpose": "p", "parameters": '{"seed": 3}'})
    experiment = Experiment.objects.get()
    assert experiment.parameters == {"seed": 3}
    assert ProjectLock.objects.get(project=project).holder == owner
    answer = client.post(f"/projects/experiments/{experiment.pk}/", {"name": "lcr", "purpose": "q", "parameters": "[1]",
                                                                      "status": "active"})
    assert answer.status_code == 400 and "Expected a JSON object" in answer.content.decode()


def test_only_an_admin_breaks_the_lock_on_the_page(locked_by_member: Any, owner: Any, admin_user: Any,
                                                    client_for: Any) -> None:
    assert client_for(owner).post(f"/projects/{locked_by_member.pk}/lock/", {"action": "break"}).status_code == 403
    assert ProjectLock.objects.filter(project=locked_by_member).exists()
    client_for(admin_user).post(f"/projects/{locked_by_member.pk}/lock/", {"action": "break"})
    assert not ProjectLock.objects.filter(project=locked_by_member).exists()
    assert AuditEvent.objects.filter(action="project.lock_break", actor=admin_user).exists()


def test_viewers_read_but_cannot_create(viewer: Any, project: Any, client_for: Any) -> None:
    client = client_for(viewer)
    assert client.get("/projects/").status_code == 200
    assert client.get("/projects/new/").status_code == 403
    assert client.post("/projects/new/", {"name": "v"}).status_code == 403
    assert not Project.objects.filter(name="v").exists()


# --- API -------------------------------------------------------------------------
def test_the_api_answers_409_naming_the_holder(locked_by_member: Any, owner: Any, client_for: Any) -> None:
    answer = client_for(owner).patch(f"/api/projects/{locked_by_member.pk}/", {"description": "x"},
                                     content_type="application/json")
    assert answer.status_code == 409
    assert answer.json()["holder"] == "max" and "being edited by max" in answer.json()["detail"]
    state = client_for(owner).get(f"/api/projects/{locked_by_member.pk}/lock/").json()
    assert state["held"] and state["holder"] == "max" and not state["held_by_me"]


def test_the_api_lock_expires(locked_by_member: Any, owner: Any, client_for: Any, settings: Any) -> None:
    settings.PROJECT_LOCK_IDLE_SECONDS = 30
    ProjectLock.objects.update(last_active_at=timezone.now() - timedelta(seconds=31))
    client = client_for(owner)
    assert client.post(f"/api/projects/{locked_by_member.pk}/lock/").json()["held_by_me"] is True
    assert client.delete(f"/api/projects/{locked_by_member.pk}/lock/").json()["held"] is False


def test_the_api_break_is_for_admins_only(locked_by_member: Any, owner: Any, member: Any, admin_user: Any,
                                          client_for: Any) -> None:
    for user in (owner, member):
        assert client_for(user).post(f"/api/projects/{locked_by_member.pk}/lock/break/").status_code == 403
    answer = client_for(admin_user).post(f"/api/projects/{locked_by_member.pk}/lock/break/")
    assert answer.status_code == 200 and answer.json()["held"] is False


def test_a_non_member_cannot_edit_through_the_api(project: Any, outsider: Any, client_for: Any) -> None:
    client = client_for(outsider)
    assert client.patch(f"/api/projects/{project.pk}/", {"name": "x"}, content_type="application/json").status_code == 403
    assert client.post("/api/experiments/", {"project": project.pk, "name": "e"},
                       content_type="application/json").status_code == 403
    assert not Experiment.objects.exists()


def test_the_api_creates_a_project_experiment_and_files_a_run(analyst: Any, client_for: Any, demo_run: Any,
                                                              owner: Any) -> None:
    client = client_for(owner)
    created = client.post("/api/projects/", {"name": "API project", "description": "d"}, content_type="application/json")
    assert created.status_code == 201 and created.json()["lock"]["held_by_me"]
    pk = created.json()["id"]
    experiment = client.post("/api/experiments/", {"project": pk, "name": "e1", "parameters": {"a": 1}},
                             content_type="application/json")
    assert experiment.status_code == 201
    filed = client.post(f"/api/projects/{pk}/runs/", {"run_id": demo_run.run_id, "experiment": experiment.json()["id"]},
                        content_type="application/json")
    assert filed.status_code == 200
    listed = client.get(f"/api/runs/?project={pk}&experiment={experiment.json()['id']}").json()
    assert [r["run_id"] for r in listed["results"]] == [demo_run.run_id]
    assert client.get(f"/api/runs/?project=999999").status_code == 400
    timeline = client.get(f"/api/projects/{pk}/timeline/").json()
    assert timeline[0]["action"] == "project.run_place"


def test_the_api_export_and_import_round_trip(project: Any, owner: Any, client_for: Any) -> None:
    client = client_for(owner)
    exported = client.get(f"/api/projects/{project.pk}/export/")
    data = b"".join(exported.streaming_content)
    assert exported["Content-Type"] == "application/zip" and exported["X-Project-Checksum"]
    again = client.post("/api/projects/import/", {"file": io.BytesIO(data)}, format="multipart")
    assert again.status_code == 200 and "nothing was added" in again.json()["summary"]
    refused = client.post("/api/projects/import/", {"file": io.BytesIO(b"\x80\x04pickle")}, format="multipart")
    assert refused.status_code == 400 and "pickle" in refused.json()["detail"]


# --- admin -----------------------------------------------------------------------
def test_the_admin_refuses_an_edit_while_another_holds_the_lock(locked_by_member: Any, admin_user: Any,
                                                                client_for: Any) -> None:
    answer = client_for(admin_user).post(f"/admin/projects/project/{locked_by_member.pk}/change/",
                                         {"name": "Admin rename", "description": "x"})
    assert answer.status_code == 200 and "being edited by max" in answer.content.decode()
    locked_by_member.refresh_from_db()
    assert locked_by_member.name == "Basel book review"


def test_the_admin_saves_through_the_services(project: Any, admin_user: Any, client_for: Any) -> None:
    answer = client_for(admin_user).post(f"/admin/projects/project/{project.pk}/change/",
                                         {"name": "Admin rename", "description": "x"})
    assert answer.status_code == 302
    project.refresh_from_db()
    assert project.name == "Admin rename"
    assert AuditEvent.objects.filter(action="project.update", actor=admin_user).exists()


def test_the_admin_break_action_is_for_admins_only(locked_by_member: Any, member: Any, admin_user: Any,
                                                   client_for: Any) -> None:
    member.is_staff = True
    member.save()
    data = {"action": "break_lock", "_selected_action": [locked_by_member.pk]}
    client_for(member).post("/admin/projects/project/", data)
    assert ProjectLock.objects.filter(project=locked_by_member).exists()
    client_for(admin_user).post("/admin/projects/project/", data)
    assert not ProjectLock.objects.filter(project=locked_by_member).exists()


# --- launch form and run list ------------------------------------------------------------
def test_the_launch_form_files_the_run_under_the_experiment(project: Any, owner: Any, client_for: Any,
                                                            demo_params: dict[str, Any]) -> None:
    experiment = services.experiment_create(actor=owner, project=project, name="e1")
    data = {f"p-{k}": v for k, v in demo_params.items()} | {"project": project.pk, "experiment": experiment.pk}
    answer = client_for(owner).post("/runs/launch/demo/", data)
    assert answer.status_code == 302
    placement = RunPlacement.objects.get()
    assert placement.project == project and placement.experiment == experiment
    listed = client_for(owner).get(f"/runs/?project={project.pk}")
    assert placement.run.run_id in listed.content.decode()


def test_the_launch_form_refuses_a_project_the_user_may_not_edit(project: Any, outsider: Any, client_for: Any,
                                                                 demo_params: dict[str, Any]) -> None:
    from runs.models import Run

    data = {f"p-{k}": v for k, v in demo_params.items()} | {"project": project.pk}
    answer = client_for(outsider).post("/runs/launch/demo/", data)
    assert answer.status_code == 400 and not Run.objects.exists()


# --- commands ------------------------------------------------------------------------
def test_the_export_command_streams_a_bundle_with_its_checksum(project: Any, tmp_path: Any) -> None:
    out = io.StringIO()
    target = tmp_path / "p.zip"
    call_command("project_export", project.name, "-o", str(target), stdout=out)
    assert target.stat().st_size > 0 and "project checksum" in out.getvalue()


def test_the_import_command_as_a_user_obeys_the_lock(locked_by_member: Any, owner: Any, tmp_path: Any) -> None:
    from projects.exchange import project_export

    data = b"".join(project_export(project=locked_by_member, actor=None).chunks)
    experiment_doc_changed = tmp_path / "p.zip"
    experiment_doc_changed.write_bytes(data)
    services.project_lock_break(actor=None, project=locked_by_member)
    services.experiment_create(actor=owner, project=locked_by_member, name="later")  # owner holds the lock now
    with pytest.raises(CommandError, match="No active account"):
        call_command("project_import", str(experiment_doc_changed), "--user", "ghost", stdout=io.StringIO())
    out = io.StringIO()
    call_command("project_import", str(experiment_doc_changed), "--user", owner.username, stdout=out)
    assert "nothing was added" in out.getvalue()
