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


def test_command_output_counts_in_proper_plurals(make_user, demo_params, django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import call_command

    from runs.services import run_create
    from runs.wording import plural, size_text

    assert (plural(1, "step"), plural(2, "step"), plural(0, "byte")) == ("1 step", "2 steps", "0 bytes")
    assert size_text(0) == "0 bytes" and size_text(1) == "1 byte" and size_text(2048) == "2.0 KB (2,048 bytes)"
    out = StringIO()
    call_command("setup_roles", stdout=out)
    assert " 1 permissions" not in out.getvalue() and " permission" in out.getvalue()
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="demo", params={**demo_params, "steps": 1}, owner=make_user("analyst"))
    assert "Demo run: 1 step of 0 s" in list(run.logs.values_list("message", flat=True))
    out = StringIO()
    call_command("cleanup_runs", "--days", "30", "--dry-run", stdout=out)
    assert "0 bytes (0 bytes)" not in out.getvalue() and ", 0 bytes;" in out.getvalue()


def test_the_home_page_links_the_api_schema(client_for, analyst):
    page = client_for(analyst).get("/").content.decode()
    assert 'href="/api/schema/"' in page and 'href="/api/schema/?format=json"' in page and 'href="/api/"' in page
