"""Pages a new user meets in the first hour."""
from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_shows_the_login_error_once(analyst):
    response = Client().post("/login/", {"username": analyst.username, "password": "wrong"})
    assert response.status_code == 200
    assert response.content.decode().count("Please enter a correct username and password") == 1


def test_dates_are_iso_everywhere_the_admin_included(client_for, admin_user, demo_params):
    from django.template import Context, Template
    from django.utils import timezone

    from runs.services import run_create

    moment = timezone.datetime(2026, 11, 30, 13, 5, tzinfo=timezone.get_current_timezone())
    assert Template("{{ d|date }} {{ d }}").render(Context({"d": moment})) == "2026-11-30 2026-11-30 13:05"
    run = run_create(kind="demo", params=demo_params, owner=admin_user)
    changelist = client_for(admin_user).get("/admin/runs/run/").content.decode()
    assert timezone.localtime(run.created_at).strftime("%Y-%m-%d %H:%M") in changelist
    assert " p.m." not in changelist and " a.m." not in changelist


def test_the_launch_and_run_pages_show_numbers_as_people_write_them(client_for, analyst):
    from runs.services import run_create

    form = client_for(analyst).get("/runs/launch/simulation/").content.decode()
    assert 'value="10000000000"' in form and "10000000000.0" not in form
    run = run_create(kind="simulation", params={"seed": 1234567, "n_positions": 1000}, owner=analyst)
    page = client_for(analyst).get(f"/runs/{run.run_id}/").content.decode()
    params = page[page.index('id="run-params"'):]
    params = params[: params.index("</table>")]
    assert "10,000,000,000" in params and "<td>1234567</td>" in params and "<td>1,000</td>" in params
    assert "True" not in params and "False" not in params and "<td>yes</td>" in params
    clone = client_for(analyst).get(f"/runs/{run.run_id}/clone/").content.decode()
    assert "10000000000.0" not in clone


def test_the_run_list_filters_with_checkboxes(client_for, analyst):
    page = client_for(analyst).get("/runs/?status=FAILED&kind=demo").content.decode()
    assert "<select name=\"status\"" not in page
    assert 'type="checkbox" name="status" value="FAILED" checked' in page
    assert 'type="checkbox" name="kind" value="demo" checked' in page
    assert 'type="checkbox" name="kind" value="simulation" >' in page


def test_every_page_has_an_icon(client_for, analyst):
    page = client_for(analyst).get("/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in page
    redirect = Client().get("/favicon.ico")
    assert redirect.status_code == 301 and redirect["Location"] == "/static/favicon.svg"
