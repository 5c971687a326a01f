"""Console › Health: checks, page and API per role, /healthz, manage.py health."""
from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.urls import reverse

from accounts.console import health
from accounts.console.heartbeat import heartbeat_last, heartbeat_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _health_state(settings, tmp_path):
    # Heartbeats in a folder of this test's own; a crowded disk must not turn a test red.
    settings.VAR_DIR = tmp_path
    settings.HEALTH_DISK_AMBER_PERCENT = 0
    settings.HEALTH_DISK_RED_PERCENT = 0
    from django.core.cache import cache

    cache.delete_many(["health:beat:beat", "health:beat:reaper"])


def _all_fresh():
    heartbeat_record("beat")
    heartbeat_record("reaper")


@pytest.mark.parametrize("fixture,code", [
    ("admin_user", 200), ("governance", 200), ("ml_admin", 200),
    ("analyst", 403), ("viewer", 403), ("finops_admin", 403),
])
def test_health_page_and_api_per_role(request, client_for, fixture, code):
    client = client_for(request.getfixturevalue(fixture))
    assert client.get(reverse("console_ops:health")).status_code == code
    response = client.get(reverse("console_ops:api_health"))
    assert response.status_code == code
    if code == 200:
        names = [c["name"] for c in response.json()["checks"]]
        assert {"database", "cache", "broker", "workers", "beat", "reaper", "stuck_pending", "artifact_space",
                "version"} <= set(names)


def test_anonymous_is_sent_to_login_or_refused(client):
    assert client.get(reverse("console_ops:health")).status_code == 302
    assert client.get(reverse("console_ops:api_health")).status_code == 401


def test_healthz_says_only_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"up"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.django_db(transaction=True)  # outside a test transaction: the connection may be replaced
def test_healthz_is_down_when_the_database_cannot_be_reached(client, settings, monkeypatch):
    # The connection cannot be opened: what a stopped server or a wrong address gives, on any
    # vendor (a pooled PostgreSQL connection would otherwise be handed out again).
    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection to server failed: Connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    response = client.get("/healthz")
    report = health.health_report(liveness_only=True)
    monkeypatch.undo()
    assert response.status_code == 503
    assert response.content == b"down"  # no detail: not the error, not the version
    database = next(c for c in report["checks"] if c["name"] == "database")
    assert database["status"] == "red" and "OperationalError" in database["why"]


def test_a_check_that_raises_is_red_with_why():
    def broken() -> health.CheckResult:
        raise RuntimeError("disk on fire")

    health.register_check("test_broken", broken)
    try:
        report = health.health_report()
    finally:
        health._registry.pop("test_broken")
    check = next(c for c in report["checks"] if c["name"] == "test_broken")
    assert check["status"] == "red" and "disk on fire" in check["why"]
    assert report["status"] == "red"


def test_beat_and_reaper_are_red_until_recorded_then_green(settings):
    from accounts.tasks import beat_tick
    from runs.tasks import reap_stale_runs

    assert health.check_beat().status == "red"
    assert health.check_reaper().status == "red"
    beat_tick.delay()
    reap_stale_runs.delay()
    assert heartbeat_last("beat") is not None
    assert health.check_beat().status == "green"
    assert health.check_reaper().status == "green"


def test_stale_heartbeats_turn_amber_then_red(settings):
    import time

    settings.HEALTH_BEAT_INTERVAL = 30
    heartbeat_record("beat", time.time() - 60)
    assert health.check_beat().status == "amber"
    heartbeat_record("beat", time.time() - 1000)
    # The newest of the cache and the file wins: both were written by the line above.
    assert health.check_beat().status == "red"


def test_runs_stuck_pending_are_reported(settings, analyst):
    from datetime import timedelta

    from django.utils import timezone

    from runs.models import Run, RunStatus

    assert health.check_stuck_pending().status == "green"
    settings.HEALTH_PENDING_STUCK_SECONDS = 60
    settings.HEALTH_PENDING_STUCK_RED = 2
    run = Run.objects.create(kind="demo", owner=analyst, params={}, status=RunStatus.PENDING)
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    check = health.check_stuck_pending()
    assert check.status == "amber" and run.run_id in check.why


def test_health_command_exit_codes(capsys):
    with pytest.raises(SystemExit) as exited:
        call_command("health")
    assert exited.value.code == 1
    assert "RED" in capsys.readouterr().out
    _all_fresh()
    call_command("health")  # all green or amber: returns normally (exit 0)
    call_command("health", "--json")
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    assert report["status"] in ("green", "amber")
