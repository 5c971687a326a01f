"""Enqueueing through a real broker: only committed runs reach the queue."""
from pathlib import Path
from typing import Iterator

import pytest
from django.db import transaction

from runs.models import Run, RunStatus
from runs.services import run_create
from tests.support import broker


@pytest.fixture
def fs_queue(tmp_path: Path) -> Iterator[Path]:
    queue = tmp_path / "queue"
    queue.mkdir()
    options = {"data_folder_in": str(queue), "data_folder_out": str(queue), "control_folder": str(queue.parent / "control")}
    with broker(broker_url="filesystem://", broker_transport_options=options):
        yield queue


@pytest.mark.django_db(transaction=True)
def test_a_committed_run_is_queued_once(fs_queue, analyst, demo_params):
    with transaction.atomic():
        run_create(kind="demo", params=demo_params, owner=analyst)
        assert list(fs_queue.iterdir()) == []  # not before the commit
    assert len(list(fs_queue.iterdir())) == 1


@pytest.mark.django_db(transaction=True)
def test_a_run_created_in_a_rolled_back_transaction_enqueues_nothing(fs_queue, analyst, demo_params):
    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        with transaction.atomic():
            run_create(kind="demo", params=demo_params, owner=analyst)
            raise Abort
    assert list(fs_queue.iterdir()) == []
    assert not Run.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_broker_fails_the_run_with_a_clear_message(analyst, demo_params):
    # Nothing listens on the discard port: the publish is refused at once.
    with broker(broker_url="redis://127.0.0.1:9/0", broker_transport_options={"max_retries": 0}):
        run = run_create(kind="demo", params=demo_params, owner=analyst)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "Could not reach the task queue" in run.error_message
