"""Server-rendered pages: login, roles, launch form, error pages."""
import pytest

from runs.models import Run, RunStatus
from runs.services import run_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(analyst, demo_params):
    return run_create(kind="demo", params=demo_params, owner=analyst, tags=["weekly"])


@pytest.mark.parametrize("url", ["/", "/runs/", "/runs/launch/", "/runs/launch/demo/", "/runs/run_20260101_001/"])
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_anonymous_post_to_cancel_is_sent_to_login(client, run):
    response = client.post(f"/runs/{run.run_id}/cancel/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Run.objects.get(pk=run.pk).status == RunStatus.PENDING


def test_login_page_signs_a_user_in(client, viewer):
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": viewer.username, "password": "pw-for-tests-1"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_a_form_error(client, viewer):
    response = client.post("/login/", {"username": viewer.username, "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_home_shows_counts_and_latest_runs(client_for, viewer, run):
    response = client_for(viewer).get("/")
    assert response.status_code == 200
    assert response.context["status_counts"]["PENDING"] == 1
    assert run.run_id.encode() in response.content


def test_the_navigation_shows_only_what_roles_allow(client_for, viewer, analyst):
    viewer_page = client_for(viewer).get("/").content.decode()
    analyst_page = client_for(analyst).get("/").content.decode()
    assert 'href="/runs/launch/"' not in viewer_page
    assert 'href="/runs/launch/"' in analyst_page
    assert 'href="/admin/"' not in viewer_page


def test_the_run_list_filters_sorts_and_paginates(client_for, viewer, run, analyst, demo_params):
    other = run_create(kind="demo", params=demo_params, owner=analyst)
    client = client_for(viewer)
    response = client.get("/runs/?tag=weekly")
    assert [r.run_id for r in response.context["runs"]] == [run.run_id]
    response = client.get("/runs/?ordering=run_id&page_size=10")
    assert [r.run_id for r in response.context["runs"]] == [run.run_id, other.run_id]
    response = client.get("/runs/?ordering=-run_id")
    assert [r.run_id for r in response.context["runs"]] == [other.run_id, run.run_id]
    assert b"demo</span>" in response.content  # demo runs are marked


def test_the_run_list_refuses_users_without_run_roles(client_for, finops_admin):
    assert client_for(finops_admin).get("/runs/").status_code == 403


def test_the_detail_page_shows_the_run(client_for, viewer, run):
    response = client_for(viewer).get(f"/runs/{run.run_id}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert run.run_id in body and "badge-pending" in body and "Created by" in body
    assert "Cancel run" not in body  # a viewer may not cancel


def test_the_owner_sees_the_cancel_button_and_can_cancel(client_for, analyst, run):
    client = client_for(analyst)
    assert "Cancel run" in client.get(f"/runs/{run.run_id}/").content.decode()
    response = client.post(f"/runs/{run.run_id}/cancel/", follow=True)
    assert Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED
    assert b"Cancel requested" in response.content


def test_a_viewer_cannot_cancel_through_the_page(client_for, viewer, run):
    assert client_for(viewer).post(f"/runs/{run.run_id}/cancel/").status_code == 403
    assert Run.objects.get(pk=run.pk).status == RunStatus.PENDING


def test_a_viewer_cannot_open_the_launch_form(client_for, viewer):
    assert client_for(viewer).get("/runs/launch/demo/").status_code == 403
    assert client_for(viewer).post("/runs/launch/demo/", {"p-steps": 1}).status_code == 403
    assert not Run.objects.exists()


def test_an_analyst_launches_from_the_form(client_for, analyst, django_capture_on_commit_callbacks):
    client = client_for(analyst)
    assert client.get("/runs/launch/").status_code == 200
    form = {"p-steps": 2, "p-step_seconds": 0, "p-fail_at_step": 0, "p-seed": 3, "tags": "a, b", "notes": "hello"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/runs/launch/demo/", form)
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.run_id}/"
    assert run.status == RunStatus.SUCCEEDED and run.notes == "hello"
    assert sorted(run.tags.values_list("name", flat=True)) == ["a", "b"]


def test_the_launch_form_shows_errors_and_stores_nothing(client_for, analyst):
    response = client_for(analyst).post("/runs/launch/demo/", {"p-steps": 0, "p-step_seconds": "x"})
    assert response.status_code == 400
    assert b"errorlist" in response.content
    assert not Run.objects.exists()


def test_an_unknown_kind_is_a_404(client_for, analyst):
    assert client_for(analyst).get("/runs/launch/nope/").status_code == 404


def test_error_pages_leak_nothing(client_for, viewer):
    response = client_for(viewer).get("/runs/run_29990101_001/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Not found" in body and "Traceback" not in body and "settings" not in body.lower()
    forbidden = client_for(viewer).get("/runs/launch/")
    assert forbidden.status_code == 403 and "Your roles do not allow" in forbidden.content.decode()


def test_a_server_error_page_is_plain(client_for, viewer, settings):
    from config.error_views import server_error

    response = server_error(None)
    assert response.status_code == 500 and b"Something went wrong" in response.content
    assert b"Traceback" not in response.content


def test_static_assets_are_local(client_for, viewer):
    body = client_for(viewer).get("/").content.decode()
    assert "/static/css/runsight.css" in body
    assert "https://" not in body and "http://" not in body
