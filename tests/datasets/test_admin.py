"""The admin adds, edits and deletes datasets through the services (roles, audit, refusals)."""
from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from simulations.training.models import Dataset
from tests.datasets.conftest import CSV, uploaded

pytestmark = pytest.mark.django_db


def test_adding_in_the_admin_uploads_through_the_service(client_for, admin_user):
    client = client_for(admin_user)
    response = client.post("/admin/simulations/dataset/add/",
                           {"name": "adm", "description": "", "file": uploaded(CSV, "adm.csv"), "sheet": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    dataset = Dataset.objects.get(name="adm")
    assert dataset.version == 1 and dataset.rows == 5 and dataset.format == "parquet"
    assert AuditEvent.objects.filter(action="dataset.upload", target="adm v1").exists()


def test_a_bad_file_in_the_admin_is_a_form_error_and_stores_nothing(client_for, admin_user):
    response = client_for(admin_user).post("/admin/simulations/dataset/add/",
                                           {"name": "bad", "file": uploaded(b"a,b\n1\n", "bad.csv"), "sheet": ""})
    assert response.status_code == 200 and "Line 2 of the CSV file" in response.content.decode()
    assert not Dataset.objects.exists()


def test_changing_in_the_admin_edits_only_the_description(client_for, admin_user, upload):
    dataset = upload(CSV)
    response = client_for(admin_user).post(f"/admin/simulations/dataset/{dataset.pk}/change/",
                                           {"description": "from the admin"})
    assert response.status_code == 302
    dataset.refresh_from_db()
    assert dataset.description == "from the admin" and dataset.name == "sales"
    assert AuditEvent.objects.filter(action="dataset.edit").exists()


def test_ml_admin_may_not_delete_in_the_admin(client_for, ml_admin, upload):
    ml_admin.is_staff = True
    ml_admin.save()
    dataset = upload(CSV)
    response = client_for(ml_admin).post(f"/admin/simulations/dataset/{dataset.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403 and Dataset.objects.filter(pk=dataset.pk).exists()
