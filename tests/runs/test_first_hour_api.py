"""What a new user meets in the first hour on the run list and the API."""
from __future__ import annotations

import pytest

from accounts.roles import Role
from runs import services
from runs.models import RunTrigger

pytestmark = pytest.mark.django_db


def _launch(user, params, **extra):
    return services.run_create(kind="demo", params=params, trigger=RunTrigger.MANUAL, owner=user, **extra)


def test_it_keeps_the_kind_filter_after_the_schema_is_generated(client_for, analyst, demo_params):
    run = _launch(analyst, demo_params)
    client = client_for(analyst)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/schema/").status_code == 200
    api = client.get("/api/runs/?kind=demo")
    assert api.status_code == 200, api.content
    assert [r["run_id"] for r in api.json()["results"]] == [run.run_id]
    page = client.get("/runs/?kind=demo")
    assert page.status_code == 200
    assert "Select a valid choice" not in page.content.decode()
    assert run.run_id in page.content.decode()
    assert 'value="demo"' in page.content.decode()


def test_it_renders_the_browsable_run_detail(client_for, analyst, demo_params):
    run = _launch(analyst, demo_params, tags=["alpha"])
    response = client_for(analyst).get(f"/api/runs/{run.run_id}/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert run.run_id in response.content.decode()


def test_it_gives_a_role_without_kinds_an_empty_list(client_for, make_user, analyst, demo_params):
    _launch(analyst, demo_params)
    finops = make_user(Role.FINOPS_USER)
    client = client_for(finops)
    response = client.get("/api/runs/")
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert client.get("/api/runs/", HTTP_ACCEPT="text/html").status_code == 200
    assert client.get("/runs/").status_code in (200, 403)


@pytest.mark.parametrize("suffix", ["logs.txt", "logs.txt/"])
def test_it_serves_the_logs_as_text_on_the_api(client_for, analyst, demo_params, suffix):
    run = _launch(analyst, demo_params)
    response = client_for(analyst).get(f"/api/runs/{run.run_id}/{suffix}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert run.run_id in b"".join(response.streaming_content).decode()
