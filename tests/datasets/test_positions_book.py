"""A positions dataset as the input of a run: the book's metrics on a worker, pinned by version and SHA-256."""
from __future__ import annotations

import json

import pytest
from django.core.files.storage import storages

from runs.artifacts import artifact_read
from runs.models import RunStatus, RunTrigger
from runs.services import run_create
from simulations.format_doc import example_positions_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(upload):
    return upload(example_positions_csv().encode(), name="bank book", filename="book.csv")


def _launch(owner, django_capture_on_commit_callbacks, **params):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="positions_book", params=params, trigger=RunTrigger.MANUAL, owner=owner)
    run.refresh_from_db()
    return run


def test_it_weighs_the_book_and_records_the_dataset(book, analyst, client_for, django_capture_on_commit_callbacks):
    run = _launch(analyst, django_capture_on_commit_callbacks, positions_dataset=book.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.params["positions_dataset_version"] == 1 and run.params["positions_dataset_sha256"] == book.sha256
    assert run.metrics["positions"] == book.rows and "cet1_ratio" in run.metrics
    document = json.loads(artifact_read(run.artifacts.get(name="book_metrics.json")))
    assert document["dataset"] == {"id": book.pk, "name": "bank book", "version": 1, "sha256": book.sha256}
    page = client_for(analyst).get(f"/datasets/{book.pk}/").content.decode()
    assert run.run_id in page


def test_it_refuses_data_that_changed_after_launch(book, analyst, django_capture_on_commit_callbacks):
    storage = storages["artifacts"]
    with storage.open(book.path, "rb") as fh:
        data = bytearray(fh.read())
    data[-20] ^= 0xFF
    storage.delete(book.path)
    storage.save(book.path, __import__("io").BytesIO(bytes(data)))
    run = _launch(analyst, django_capture_on_commit_callbacks, positions_dataset=book.pk)
    assert run.status == RunStatus.FAILED and "refused" in run.error_message


def test_a_table_that_is_not_a_book_fails_naming_the_problem(upload, analyst, django_capture_on_commit_callbacks):
    other = upload(b"a,b\n1,2\n", name="not a book")
    run = _launch(analyst, django_capture_on_commit_callbacks, positions_dataset=other.pk)
    assert run.status == RunStatus.FAILED and "not in the positions format" in run.error_message


def test_a_wrong_checksum_or_capital_is_refused_at_launch(book, analyst):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="has checksum"):
        run_create(kind="positions_book", params={"positions_dataset": book.pk, "positions_dataset_sha256": "0" * 64},
                   owner=analyst, enqueue=False)
    with pytest.raises(ValidationError, match="capital|cet1|field"):
        run_create(kind="positions_book", params={"positions_dataset": book.pk, "capital": {"cet2": 1}},
                   owner=analyst, enqueue=False)


def test_viewers_may_not_launch_it(book, viewer):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        run_create(kind="positions_book", params={"positions_dataset": book.pk}, owner=viewer, enqueue=False)
