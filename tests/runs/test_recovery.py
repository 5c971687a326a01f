"""No run stuck PENDING: the control pass resends lost messages and fails runs nobody took,
with the true reason; transient database errors are retried; the control pass has its own queue."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError, transaction
from django.test import override_settings
from django.utils import timezone

from config.celery_app import app as celery_app
from runs.context import db_retry
from runs.models import LogLevel, Run, RunStatus
from runs.services import run_create, runs_recover_pending
from runs.tasks import execute_run, reap_stale_runs

pytestmark = pytest.mark.django_db


def _pending(user, params, *, age_seconds: float, enqueue_count: int = 1):
    run = run_create(kind="demo", params=params, owner=user, enqueue=False)
    then = timezone.now() - timedelta(seconds=age_seconds)
    Run.objects.filter(pk=run.pk).update(created_at=then, queued_at=then, enqueue_count=enqueue_count)
    return Run.objects.get(pk=run.pk)


@override_settings(RUN_PENDING_RESEND_SECONDS=60, RUN_PENDING_TIMEOUT=1800)
def test_a_run_whose_message_was_lost_is_sent_again_and_executes(analyst, demo_params):
    lost = _pending(analyst, demo_params, age_seconds=90)
    recent = _pending(analyst, demo_params, age_seconds=10)
    resent, failed = runs_recover_pending()  # eager tasks: the resent message executes at once
    assert [r.pk for r in resent] == [lost.pk] and failed == []
    lost.refresh_from_db(), recent.refresh_from_db()
    assert lost.status == RunStatus.SUCCEEDED and lost.attempt == 1  # executed exactly once
    assert lost.logs.filter(level=LogLevel.WARNING, message__contains="task message sent again").exists()
    assert recent.status == RunStatus.PENDING and recent.enqueue_count == 1


@override_settings(RUN_PENDING_RESEND_SECONDS=60, RUN_PENDING_TIMEOUT=1800)
def test_a_run_nobody_took_is_failed_with_the_true_reason(analyst, demo_params):
    run = _pending(analyst, demo_params, age_seconds=1900, enqueue_count=31)
    resent, failed = runs_recover_pending()
    assert resent == [] and [r.pk for r in failed] == [run.pk]
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error_message.startswith("Never picked up by a worker after 31 attempts over 19")
    assert run.error_message.endswith("is a worker running?")
    assert run.logs.filter(level=LogLevel.ERROR, message__startswith="Failed: Never picked up").exists()


@override_settings(RUN_PENDING_TIMEOUT=1800)
def test_a_run_never_queued_says_the_queue_was_unreachable(analyst, demo_params):
    run = _pending(analyst, demo_params, age_seconds=1900, enqueue_count=0)
    runs_recover_pending()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error_message.startswith("Never queued: the task queue")


def test_a_run_meant_for_in_process_execution_is_not_sent(analyst, demo_params):
    run = run_create(kind="demo", params=demo_params, owner=analyst, enqueue=False)
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=120))
    assert runs_recover_pending() == ([], [])
    assert Run.objects.get(pk=run.pk).status == RunStatus.PENDING


@override_settings(RUN_PENDING_RESEND_SECONDS=60)
def test_the_control_task_reaps_and_recovers_in_one_pass(analyst, demo_params):
    lost = _pending(analyst, demo_params, age_seconds=90)
    assert reap_stale_runs.apply().get() == {"reaped": 0, "resent": 1, "pending_failed": 0}
    assert Run.objects.get(pk=lost.pk).status == RunStatus.SUCCEEDED


def test_the_control_pass_has_a_queue_of_its_own():
    router = celery_app.amqp.router
    assert router.route({}, "runs.reap_stale_runs")["queue"].name == "runs.control"
    assert router.route({}, "runs.execute_run")["queue"].name == "celery"
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["reap-stale-runs"]
    assert entry["options"]["queue"] == "runs.control"
    assert entry["options"]["expire_seconds"] == max(2 * settings.RUN_REAPER_INTERVAL, 10)  # never piling up


def test_a_claim_failing_on_a_transient_database_error_is_retried_with_backoff():
    assert set(execute_run.autoretry_for) >= {OperationalError}
    assert execute_run.retry_backoff and execute_run.max_retries and execute_run.retry_backoff_max <= 60


@pytest.mark.django_db(transaction=True)
@override_settings(RUN_DB_RETRY_SECONDS=5)
def test_writes_retry_a_transient_database_error():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("server closed the connection unexpectedly")
        return "written"

    assert db_retry(flaky) == "written" and len(calls) == 3


@pytest.mark.django_db(transaction=True)
@override_settings(RUN_DB_RETRY_SECONDS=0.5)
def test_a_database_that_stays_down_ends_the_retries():
    def down():
        raise OperationalError("connection refused")

    with pytest.raises(OperationalError):
        db_retry(down)


def test_inside_a_transaction_nothing_is_retried():
    calls = []

    def broken():
        calls.append(1)
        raise OperationalError("in a broken transaction")

    with transaction.atomic(), pytest.raises(OperationalError):
        db_retry(broken)
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_simulate_wait_gives_up_after_its_timeout_saying_why(tmp_path):
    import io
    import time

    from django.core.management import CommandError, call_command

    from tests.support import broker

    queue = tmp_path / "queue"
    queue.mkdir()
    options = {"data_folder_in": str(queue), "data_folder_out": str(queue), "control_folder": str(tmp_path / "control")}
    started = time.monotonic()
    with broker(broker_url="filesystem://", broker_transport_options=options):  # no worker listens
        with pytest.raises(CommandError) as raised:
            call_command(
                "simulate", "--positions", "2000", "--wait", "--timeout", "1",
                stdout=io.StringIO(), stderr=io.StringIO(),
            )
    assert time.monotonic() - started < 10
    run = Run.objects.get()
    assert f"Stopped waiting for {run.run_id} after 1 s: it is PENDING" in str(raised.value)
    assert "is a worker running?" in str(raised.value)
    assert run.status == RunStatus.PENDING  # the run itself goes on


def test_simulate_refuses_a_timeout_that_is_not_positive():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--timeout must be a positive"):
        call_command("simulate", "--positions", "2000", "--wait", "--timeout", "0")
    assert not Run.objects.exists()


@override_settings(RUN_PENDING_RESEND_SECONDS=60, RUN_PENDING_TIMEOUT=1800)
def test_later_resends_come_at_doubling_intervals(analyst, demo_params):
    # Sent twice already, the last time 90 s ago: the next send waits 2 x 60 s.
    twice = _pending(analyst, demo_params, age_seconds=90, enqueue_count=2)
    assert runs_recover_pending() == ([], [])
    assert Run.objects.get(pk=twice.pk).status == RunStatus.PENDING
    resent, _ = runs_recover_pending(now=timezone.now() + timedelta(seconds=31))
    assert [r.pk for r in resent] == [twice.pk]
