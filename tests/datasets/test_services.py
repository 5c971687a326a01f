"""Uploads as versions, checksums of real bytes, nothing stored on refusal, roles and the audit trail."""
from __future__ import annotations

import hashlib
import io
import pickle

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import storages

from accounts.models import AuditEvent
from datasets.ingest import IngestError
from datasets.services import dataset_delete, dataset_update, dataset_upload
from simulations.training.models import Dataset
from simulations.training.params import TrainingParamsForm
from tests.datasets.conftest import CSV

pytestmark = pytest.mark.django_db


def _stored_files() -> list[str]:
    storage = storages["artifacts"]
    found = []
    for top in storage.listdir("")[0]:
        for sub in storage.listdir(top)[0]:
            found += storage.listdir(f"{top}/{sub}")[1]
    return found


def test_it_numbers_versions_per_name_and_keeps_the_old_ones(upload):
    first = upload(CSV)
    second = upload(CSV + b"6,west,1,false\n")
    other = upload(CSV, name="costs")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert Dataset.objects.get(pk=first.pk).rows == 5 and second.rows == 6


def test_its_checksum_is_the_sha256_of_the_stored_parquet(upload):
    dataset = upload(CSV)
    with storages["artifacts"].open(dataset.path, "rb") as fh:
        data = fh.read()
    assert data[:4] == b"PAR1" and hashlib.sha256(data).hexdigest() == dataset.sha256
    assert dataset.size_bytes == len(data) and dataset.source_size_bytes == len(CSV)
    assert dataset.source_format == "csv" and dataset.source_filename == "sales.csv"


def test_a_refused_file_stores_nothing(upload):
    with pytest.raises(IngestError):
        upload(b"a,b\n1,2\n3\n")
    with pytest.raises(IngestError):
        upload(pickle.dumps([1]), filename="x.csv")
    assert not Dataset.objects.exists() and _stored_files() == []


def test_a_file_over_the_limit_is_refused_before_reading(upload, settings):
    settings.DATASET_MAX_UPLOAD_BYTES = 10 * 1024
    with pytest.raises(ValidationError, match="limit"):
        upload(b"a\n" + b"1\n" * 10_000)
    assert not Dataset.objects.exists()


def test_viewers_may_not_upload_and_only_admin_deletes(viewer, ml_admin, admin_user, upload):
    with pytest.raises(PermissionDenied):
        dataset_upload(user=viewer, file=io.BytesIO(CSV), name="x", filename="x.csv")
    dataset = upload(CSV, user=ml_admin)
    with pytest.raises(PermissionDenied):
        dataset_delete(user=ml_admin, dataset=dataset)
    dataset_delete(user=admin_user, dataset=dataset)
    assert not Dataset.objects.exists()


def test_uploads_edits_and_deletes_are_audited(upload, analyst, admin_user):
    dataset = upload(CSV)
    dataset_update(user=analyst, dataset=dataset, description="Q3 sales")
    dataset_delete(user=admin_user, dataset=dataset)
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-3:] == ["dataset.upload", "dataset.edit", "dataset.delete"]


def test_a_guard_can_refuse_a_write(upload):
    from datasets import services

    def locked(*, user, action, name, dataset, project):
        raise PermissionDenied(f"{name} is locked")

    services.register_dataset_guard(locked)
    try:
        with pytest.raises(PermissionDenied, match="locked"):
            upload(CSV)
    finally:
        services._GUARDS.remove(locked)
    assert not Dataset.objects.exists()


def test_training_launch_form_takes_an_uploaded_dataset_and_records_its_version(upload):
    upload(b"x1,x2,y\n" + b"".join(f"{i},{i % 7},{i % 2}\n".encode() for i in range(200)), name="toy")
    dataset = upload(b"x1,x2,y\n" + b"".join(f"{i},{i % 5},{i % 2}\n".encode() for i in range(200)), name="toy")
    form = TrainingParamsForm(data={"model_type": "pd_logistic", "dataset": dataset.pk, "target": "y",
                                    "features": "x1, x2", "hyperparameters": "{}", "train_fraction": 0.6,
                                    "validation_fraction": 0.2, "test_fraction": 0.2, "seed": 1})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["dataset_version"] == 2 and form.cleaned_data["dataset_sha256"] == dataset.sha256
