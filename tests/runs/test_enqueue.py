"""Enqueueing through a real broker: only committed runs reach the queue; a broker
that is down leaves the run PENDING, sent once the broker is back."""
from pathlib import Path
from typing import Iterator

import pytest
from django.db import transaction

from datetime import timedelta

from django.utils import timezone

from runs.models import LogLevel, Run, RunStatus
from runs.services import run_create, runs_recover_pending
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
def test_an_unreachable_broker_leaves_the_run_pending_to_be_queued_when_it_returns(analyst, demo_params, caplog):
    # Nothing listens on the discard port: the publish is refused at once.
    with broker(broker_url="redis://127.0.0.1:9/0", broker_transport_options={"max_retries": 0}):
        run = run_create(kind="demo", params=demo_params, owner=analyst)
    assert run.queue_unreachable is True
    run.refresh_from_db()
    assert run.status == RunStatus.PENDING and run.error_message == ""
    assert run.queued_at is not None and run.enqueue_count == 0
    assert run.logs.filter(level=LogLevel.WARNING, message__startswith="Task queue unreachable").exists()
    assert "task queue unreachable; will be queued when it returns" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_run_stored_while_the_broker_was_down_is_queued_once_it_returns(fs_queue, analyst, demo_params, settings):
    settings.RUN_PENDING_RESEND_SECONDS = 60
    with broker(broker_url="redis://127.0.0.1:9/0", broker_transport_options={"max_retries": 0}):
        run = run_create(kind="demo", params=demo_params, owner=analyst)
    # Back on the working queue; the control pass finds the run once the resend delay is over.
    with broker(broker_url="filesystem://", broker_transport_options={
        "data_folder_in": str(fs_queue), "data_folder_out": str(fs_queue),
        "control_folder": str(fs_queue.parent / "control"),
    }):
        assert runs_recover_pending() == ([], [])  # too early: nothing sent
        assert list(fs_queue.iterdir()) == []
        resent, failed = runs_recover_pending(now=timezone.now() + timedelta(seconds=61))
    assert [r.pk for r in resent] == [run.pk] and failed == []
    assert len(list(fs_queue.iterdir())) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.PENDING and run.enqueue_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_committed_run_counts_its_message(fs_queue, analyst, demo_params):
    run = run_create(kind="demo", params=demo_params, owner=analyst)
    run.refresh_from_db()
    assert run.enqueue_count == 1 and run.queued_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_202_with_the_stored_state_when_the_queue_is_down(analyst, demo_params):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(analyst)
    with broker(broker_url="redis://127.0.0.1:9/0", broker_transport_options={"max_retries": 0}):
        response = client.post("/api/runs/", {"kind": "demo", "params": demo_params}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    run = Run.objects.get(run_id=body["run_id"])
    assert body["status"] == run.status == RunStatus.PENDING  # the answer matches the database


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_201_when_the_run_is_queued(fs_queue, analyst, demo_params):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(analyst)
    response = client.post("/api/runs/", {"kind": "demo", "params": demo_params}, format="json")
    assert response.status_code == 201 and response.json()["status"] == RunStatus.PENDING


@pytest.mark.django_db(transaction=True)
def test_the_launch_page_says_the_run_is_stored_when_the_queue_is_down(analyst):
    from django.contrib.messages import get_messages
    from django.test import Client

    client = Client()
    client.force_login(analyst)
    form = {"p-steps": 2, "p-step_seconds": 0, "p-fail_at_step": 0, "p-seed": 3, "tags": "", "notes": ""}
    with broker(broker_url="redis://127.0.0.1:9/0", broker_transport_options={"max_retries": 0}):
        response = client.post("/runs/launch/demo/", form)
    assert response.status_code == 302
    flashed = [str(m) for m in get_messages(response.wsgi_request)]
    run = Run.objects.get()
    assert flashed == [f"{run.run_id} stored; will be queued when the task queue is back."]
    assert run.status == RunStatus.PENDING
