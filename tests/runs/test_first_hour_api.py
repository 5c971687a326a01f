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


def test_the_schema_is_shown_in_a_browser_and_documents_the_text_logs(client_for, analyst):
    client = client_for(analyst)
    page = client.get("/api/schema/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "openapi: 3" in page.content.decode() and 'href="?format=json"' in page.content.decode()
    as_json = client.get("/api/schema/?format=json")
    assert as_json.status_code == 200 and as_json["Content-Type"].startswith("application/json")
    paths = as_json.json()["paths"]
    assert "text/plain" in paths["/api/runs/{run_id}/logs.txt"]["get"]["responses"]["200"]["content"]
    assert "/api/runs/{run_id}/logs.txt/" not in paths
    assert client.get("/api/schema/").content.startswith(b"openapi: 3")  # API clients: YAML as before


def test_the_api_root_lists_every_top_level_endpoint(client_for, analyst):
    root = client_for(analyst).get("/api/", HTTP_ACCEPT="application/json").json()
    for name in ("runs", "kinds", "tags", "compare", "comparisons", "runs-import", "cleanup-plan",
                 "simulations-compute", "schema", "docs"):
        assert name in root, name
    assert root["kinds"].endswith("/api/kinds/")
    assert client_for(analyst).get("/api/", HTTP_ACCEPT="text/html").status_code == 200


@pytest.mark.parametrize("path", ["/api/runs/", "/api/runs/{run}/", "/api/runs/{run}/logs/", "/api/kinds/", "/api/tags/",
                                  "/api/runs/{run}/clone/", "/api/runs/{run}/cancel/", "/api/runs/bulk/"])
def test_the_browsable_api_renders_every_run_endpoint(client_for, analyst, demo_params, path):
    run = _launch(analyst, demo_params, tags=["alpha"])
    response = client_for(analyst).get(path.format(run=run.run_id), HTTP_ACCEPT="text/html")
    assert response.status_code in (200, 405), response.status_code
