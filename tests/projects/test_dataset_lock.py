"""A dataset attached to a project is one of its parts: a new version, a description or a deletion needs
membership and obeys the project's editing lock on every dataset surface (service, page, API, admin,
`dataset_load`); the uploader takes the free lock, and the project's timeline records the version."""
from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent
from datasets import services as dataset_services
from projects import services
from projects.models import ProjectLock
from simulations.training.models import Dataset

pytestmark = pytest.mark.django_db

CSV = b"id,amount\n1,10\n2,20\n"
MORE = b"id,amount\n1,10\n2,20\n3,30\n"


@pytest.fixture
def attached(project: Any, owner: Any) -> Dataset:
    """'ledger' v1, attached to the project; the lock released again."""
    dataset = dataset_services.dataset_upload(user=owner, file=io.BytesIO(CSV), name="ledger", filename="l.csv")
    services.project_dataset_attach(actor=owner, project=project, dataset_name="ledger")
    services.project_lock_release(actor=owner, project=project)
    return dataset


@pytest.fixture
def locked_by_member(attached: Any, project: Any, member: Any) -> Dataset:
    services.project_lock_take(actor=member, project=project)
    return attached


def upload(user: Any, data: bytes = MORE) -> Dataset:
    return dataset_services.dataset_upload(user=user, file=io.BytesIO(data), name="ledger", filename="l.csv")


# --- the services --------------------------------------------------------------------------
def test_a_member_adds_a_version_taking_the_free_lock_and_the_timeline_says_so(
    attached: Any, project: Any, member: Any
) -> None:
    second = upload(member)
    assert second.version == 2
    assert ProjectLock.objects.get(project=project).holder == member
    event = AuditEvent.objects.get(action="project.dataset_version")
    assert event.target == services.target_of(project) and event.detail["version"] == 2


def test_a_new_version_is_refused_while_another_member_holds_the_lock(locked_by_member: Any, owner: Any) -> None:
    with pytest.raises(services.ProjectLocked, match="being edited by max"):
        upload(owner)
    with pytest.raises(services.ProjectLocked):
        dataset_services.dataset_update(user=owner, dataset=locked_by_member, description="mine")
    assert Dataset.objects.filter(name="ledger").count() == 1
    locked_by_member.refresh_from_db()
    assert locked_by_member.description == ""


def test_the_holder_edits(locked_by_member: Any, member: Any) -> None:
    assert upload(member).version == 2
    dataset_services.dataset_update(user=member, dataset=locked_by_member, description="reviewed")


def test_a_non_member_may_not_touch_a_project_dataset(attached: Any, outsider: Any) -> None:
    with pytest.raises(PermissionDenied, match="only its members"):
        upload(outsider)
    with pytest.raises(PermissionDenied, match="only its members"):
        dataset_services.dataset_update(user=outsider, dataset=attached, description="x")
    assert not ProjectLock.objects.exists()


def test_even_an_admin_deletes_only_once_the_lock_is_free(locked_by_member: Any, project: Any, admin_user: Any) -> None:
    with pytest.raises(services.ProjectLocked):
        dataset_services.dataset_delete(user=admin_user, dataset=locked_by_member)
    services.project_lock_break(actor=admin_user, project=project)
    dataset_services.dataset_delete(user=admin_user, dataset=locked_by_member)
    assert not Dataset.objects.filter(name="ledger").exists()


def test_a_dataset_in_no_project_is_unaffected(project: Any, member: Any, outsider: Any) -> None:
    services.project_lock_take(actor=member, project=project)
    loose = dataset_services.dataset_upload(user=outsider, file=io.BytesIO(CSV), name="loose", filename="x.csv")
    dataset_services.dataset_update(user=outsider, dataset=loose, description="fine")


def test_the_lock_expires_for_datasets_too(locked_by_member: Any, project: Any, owner: Any, settings: Any) -> None:
    settings.PROJECT_LOCK_IDLE_SECONDS = 0
    assert upload(owner).version == 2
    assert ProjectLock.objects.get(project=project).holder == owner


# --- the surfaces ---------------------------------------------------------------------------
def test_the_upload_page_names_the_holder_and_stores_nothing(locked_by_member: Any, owner: Any, client_for: Any) -> None:
    answer = client_for(owner).post("/datasets/upload/", {"file": SimpleUploadedFile("l.csv", MORE), "name": "ledger"})
    assert answer.status_code == 409 and "being edited by max" in answer.content.decode()
    assert Dataset.objects.filter(name="ledger").count() == 1


def test_the_dataset_page_shows_the_lock_and_offers_no_edit(locked_by_member: Any, owner: Any, client_for: Any) -> None:
    page = client_for(owner).get(f"/datasets/{locked_by_member.pk}/").content.decode()
    assert "being edited by max" in page and 'id="dataset-edit"' not in page and 'id="dataset-new-version"' not in page
    refused = client_for(owner).post(f"/datasets/{locked_by_member.pk}/edit/", {"description": "x"}, follow=True)
    assert "being edited by max" in refused.content.decode()


def test_the_holder_sees_the_edit_forms(locked_by_member: Any, member: Any, client_for: Any) -> None:
    page = client_for(member).get(f"/datasets/{locked_by_member.pk}/").content.decode()
    assert 'id="dataset-edit"' in page and 'id="dataset-new-version"' in page


def test_the_api_answers_409_naming_the_holder(locked_by_member: Any, owner: Any, outsider: Any,
                                               client_for: Any) -> None:
    client = client_for(owner)
    answer = client.patch(f"/api/datasets/{locked_by_member.pk}/", {"description": "x"},
                          content_type="application/json")
    assert answer.status_code == 409 and answer.json()["holder"] == "max" and answer.json()["taken_at"]
    uploaded = client.post("/api/datasets/", {"file": SimpleUploadedFile("l.csv", MORE), "name": "ledger"})
    assert uploaded.status_code == 409 and uploaded.json()["holder"] == "max"
    assert client_for(outsider).patch(f"/api/datasets/{locked_by_member.pk}/", {"description": "x"},
                                      content_type="application/json").status_code == 403
    assert Dataset.objects.filter(name="ledger").count() == 1


def test_the_admin_refuses_the_description_while_another_holds_the_lock(
    locked_by_member: Any, admin_user: Any, client_for: Any
) -> None:
    answer = client_for(admin_user).post(f"/admin/simulations/dataset/{locked_by_member.pk}/change/",
                                         {"description": "admin's"})
    assert answer.status_code == 200 and "being edited by max" in answer.content.decode()
    locked_by_member.refresh_from_db()
    assert locked_by_member.description == ""


def test_dataset_load_obeys_the_lock(locked_by_member: Any, tmp_path: Any) -> None:
    path = tmp_path / "ledger.csv"
    path.write_bytes(MORE)
    for user in ("olivia", None):  # a member, and the operator: neither over max's live lock
        with pytest.raises(CommandError, match="being edited by max"):
            call_command("dataset_load", str(path), "--name", "ledger", *(["--user", user] if user else []),
                         stdout=io.StringIO())
    call_command("dataset_load", str(path), "--name", "ledger", "--user", "max", stdout=io.StringIO())
    assert Dataset.objects.filter(name="ledger").count() == 2
