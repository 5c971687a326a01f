"""Console › Health against a real worker: red within one refresh when it is killed, green when it returns."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support import wait_for

pytestmark = pytest.mark.services

FAST = {"HEALTH_BEAT_INTERVAL": "1", "RUN_REAPER_INTERVAL": "1"}


def _checks(client) -> dict[str, dict]:
    response = client.get(reverse("console_ops:api_health"))
    assert response.status_code == 200
    return {c["name"]: c for c in response.json()["checks"]}


def test_health_turns_red_when_the_worker_is_killed_and_green_when_it_returns(
    start_worker, settings, client_for, admin_user,
):
    settings.HEALTH_BEAT_INTERVAL = 1
    settings.RUN_REAPER_INTERVAL = 1
    settings.HEALTH_INSPECT_TIMEOUT = 1.0
    client = client_for(admin_user)
    worker = start_worker("health", queues="celery,runs.control", beat=True, env=FAST)

    def all_green():
        checks = _checks(client)
        return checks if all(checks[n]["status"] == "green" for n in ("workers", "beat", "reaper", "broker")) else None

    checks = wait_for(all_green, timeout=30, interval=0.5, what="workers, beat and reaper green")
    listed = checks["workers"]["detail"]["workers"]
    assert [w["name"] for w in listed if w["alive"]] == [next(w["name"] for w in listed if w["alive"])]
    assert {"celery", "runs.control"} <= set(listed[0]["queues"])

    worker.kill()
    checks = _checks(client)  # one refresh
    assert checks["workers"]["status"] == "red", checks["workers"]
    assert "no worker answered" in checks["workers"]["why"]
    gone = checks["workers"]["detail"]["workers"]
    assert gone and not gone[0]["alive"] and gone[0]["last_seen"]

    start_worker("health", queues="celery,runs.control", beat=True, env=FAST)
    wait_for(all_green, timeout=30, interval=0.5, what="green again after the worker returned")
