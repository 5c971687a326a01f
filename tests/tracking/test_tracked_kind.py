"""The `tracked` kind follows the run lifecycle: created by its client, never launched onto a
worker, reaped only after TRACKED_RUN_HEARTBEAT_TIMEOUT of silence from its client."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from runs.kinds import kinds_launchable_by
from runs.models import Run, RunStatus
from runs.services.lifecycle import runs_reap_stale
from tracking.services import tracked_run_create

pytestmark = pytest.mark.django_db


def test_it_is_not_offered_for_launch(analyst: Any, client_for: Any) -> None:
    assert "tracked" not in [kind.name for kind in kinds_launchable_by(analyst)]
    assert client_for(analyst).get("/runs/launch/tracked/").status_code == 403


def test_the_launch_api_refuses_it(analyst: Any, client_for: Any) -> None:
    answer = client_for(analyst).post("/api/runs/", {"kind": "tracked", "params": {}}, content_type="application/json")
    assert answer.status_code == 400
    assert "created by their own client" in str(answer.json())
    assert not Run.objects.exists()


def test_a_created_run_is_running_for_its_client(analyst: Any) -> None:
    run = tracked_run_create(actor=analyst, experiment_id="0", run_name="r")
    assert run.status == RunStatus.RUNNING and run.attempt == 1 and run.started_at is not None
    assert run.logs.filter(message__startswith="Started on MLflow client of analyst").exists()


def test_a_silent_client_is_reaped_after_its_own_timeout(analyst: Any, settings: Any) -> None:
    settings.RUN_HEARTBEAT_TIMEOUT = 120
    run = tracked_run_create(actor=analyst, experiment_id="0")
    from tracking.kind import TRACKED_KIND

    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(heartbeat_at=now - timedelta(seconds=600))
    assert runs_reap_stale(now=now) == []  # a worker's timeout does not apply
    Run.objects.filter(pk=run.pk).update(heartbeat_at=now - timedelta(seconds=TRACKED_KIND.heartbeat_timeout + 1))
    assert [r.pk for r in runs_reap_stale(now=now)] == [run.pk]
    assert Run.objects.get(pk=run.pk).status == RunStatus.FAILED


def test_a_run_cancelled_in_runsight_refuses_its_client_and_ends(analyst: Any, django_capture_on_commit_callbacks: Any) -> None:
    from runs.services.lifecycle import run_cancel
    from tracking.errors import TrackingError
    from tracking.services import MetricValue, run_log_batch

    run = tracked_run_create(actor=analyst, experiment_id="0")
    run_cancel(run=run, actor=analyst)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(TrackingError) as refused:
        run_log_batch(actor=analyst, run=run, metrics=[MetricValue("loss", 0.1, 1, 0)])
    assert "cancelled in Runsight" in refused.value.message
    assert Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED


def test_a_tracked_run_shows_on_the_run_pages(analyst: Any, viewer: Any, client_for: Any) -> None:
    from tracking.services import MetricValue, run_log_batch

    run = tracked_run_create(actor=analyst, experiment_id="0", run_name="script")
    run_log_batch(actor=analyst, run=run, metrics=[MetricValue("lcr", 1.7, 1, 0)], params={"mix": "retail"})
    client = client_for(viewer)
    assert run.run_id in client.get("/runs/?kind=tracked").content.decode()
    page = client.get(f"/runs/{run.run_id}/")
    assert page.status_code == 200
    assert "retail" in page.content.decode()
    api = client.get(f"/api/runs/{run.run_id}/").json()
    assert api["kind"] == "tracked" and api["metrics"] == {"lcr": 1.7}
