"""Admin › Batch Runs pages: list (filters, sort, CSV), detail (sections A–E), logs, launch, reprocess."""
from __future__ import annotations

import csv
import io

import pytest

from accounts.roles import Role
from finops_admin.models import BatchRun
from runs.models import Run, RunStatus
from runs.services import run_create
from tests.finops.conftest import PERIODS


@pytest.fixture
def launch(finops_admin_user, django_capture_on_commit_callbacks):
    def _launch(**params) -> Run:
        params.setdefault("periods", ",".join(PERIODS))
        with django_capture_on_commit_callbacks(execute=True):
            run = run_create(kind="finops_batch", params=params, owner=finops_admin_user)
        run.refresh_from_db()
        return run

    return _launch


@pytest.fixture
def failed_run(sources, launch) -> Run:
    (sources / "public" / "focus_2026-11.csv").write_text("")
    run = launch()
    assert run.status == RunStatus.FAILED
    return run


def _body(response) -> str:
    return response.content.decode()


def test_the_list_shows_every_column(sources, launch, failed_run, client_for, finops_admin_user):
    ok = launch(periods="2026-10")
    html = _body(client_for(finops_admin_user).get("/finops/admin/runs/"))
    for header in ("Run ID", "Trigger", "Periods", "Status", "Start", "End", "Duration", "Domains", "Volumes",
                   "Errors", "Anomaly", "Actions"):
        assert header in html
    assert ok.run_id in html and failed_run.run_id in html
    # FAILED badge carries the short error as its tooltip, naming the failed block.
    assert 'badge badge-failed" data-status="FAILED" title="Failed block(s): Public' in html
    # Domain chips with each block's status.
    assert 'chip chip-failed" title="Public: FAILED"' in html and 'title="Open: SUCCEEDED"' in html
    assert f"/finops/admin/runs/{ok.run_id}/logs.txt" in html and f"/finops/admin/runs/{ok.run_id}/reprocess/" in html
    # Default sort: start, newest first.
    assert html.index(ok.run_id) < html.index(failed_run.run_id)


def test_filters_status_period_domain_trigger_search_anomalies(sources, launch, failed_run, client_for,
                                                              finops_admin_user):
    ok = launch(periods="2026-10", domains="open")
    client = client_for(finops_admin_user)

    def ids(**query) -> set[str]:
        response = client.get("/finops/admin/runs/", query)
        assert response.status_code == 200, response.content
        html = _body(response)
        return {r for r in (ok.run_id, failed_run.run_id) if f'data-run-id="{r}"' in html}

    assert ids(status="FAILED") == {failed_run.run_id}
    assert ids(status="SUCCEEDED") == {ok.run_id}
    assert ids(period="2026-11") == {failed_run.run_id}
    assert ids(period="2026-10") == {ok.run_id, failed_run.run_id}
    assert ids(domain="public") == {failed_run.run_id}
    assert ids(trigger="MANUAL") == {ok.run_id, failed_run.run_id}
    assert ids(trigger="CRON") == set()
    assert ids(q=ok.run_id) == {ok.run_id}
    assert ids(anomalies="true") == set()
    BatchRun.objects.filter(run=ok).update(is_anomalous=True, anomalies=["duration 4.1× the median of the last 10"])
    assert ids(anomalies="true") == {ok.run_id}
    today = ok.started_at.date().isoformat()
    assert ids(started_after=today, started_before=today) == {ok.run_id, failed_run.run_id}
    assert ids(started_after="2099-01-01") == set()


@pytest.mark.parametrize("query", [{"period": "2026-13"}, {"status": "NOPE"}, {"started_after": "yesterday"},
                                   {"domain": "<script>"}, {"trigger": "IMPORT"}])
def test_a_bad_filter_is_a_400_with_the_reason(client_for, finops_admin_user, query):
    response = client_for(finops_admin_user).get("/finops/admin/runs/", query)
    assert response.status_code == 400
    assert 'id="filter-errors"' in _body(response)
    assert client_for(finops_admin_user).get("/finops/admin/runs/export.csv", query).status_code == 400


def test_sortable_columns(sources, launch, failed_run, client_for, finops_admin_user):
    ok = launch(periods="2026-10", domains="open")
    client = client_for(finops_admin_user)
    for key in ("run_id", "trigger", "status", "started_at", "finished_at", "duration", "inserted", "views", "errors"):
        for ordering in (key, f"-{key}"):
            assert client.get("/finops/admin/runs/", {"ordering": ordering}).status_code == 200
    html = _body(client.get("/finops/admin/runs/", {"ordering": "status"}))
    assert html.index(f'data-run-id="{failed_run.run_id}"') < html.index(f'data-run-id="{ok.run_id}"')
    html = _body(client.get("/finops/admin/runs/", {"ordering": "-errors"}))
    assert html.index(f'data-run-id="{failed_run.run_id}"') < html.index(f'data-run-id="{ok.run_id}"')


def test_csv_of_the_filtered_list_keeps_text_cells_text(sources, launch, failed_run, client_for, finops_admin_user):
    ok = launch(periods="2026-10")
    BatchRun.objects.filter(run=ok).update(short_error="=HYPERLINK(\"http://x\")")
    response = client_for(finops_admin_user).get("/finops/admin/runs/export.csv", {"status": "SUCCEEDED"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["run_id"] for r in rows] == [ok.run_id]
    assert rows[0]["short_error"].startswith("'=")
    assert rows[0]["periods"] == "2026-10" and "open:SUCCEEDED" in rows[0]["domains"]
    assert int(rows[0]["readings_inserted"]) > 0 and rows[0]["views_refreshed"] == "5"


def test_detail_shows_sections_a_to_e(sources, launch, failed_run, client_for, finops_admin_user, settings):
    settings.LOGS_URL_TEMPLATE = "https://logs.example/?q={run_id}"
    html = _body(client_for(finops_admin_user).get(f"/finops/admin/runs/{failed_run.run_id}/"))
    for section in ("A. Summary", "B. Periods processed", "C. Blocks per domain", "D. Base &amp; aggregates", "E. Logs"):
        assert section in html
    assert failed_run.code_version in html
    assert "2026-11" in html and "2026-10" in html
    # The failed block names file, row and column of its first errors.
    assert 'data-domain="public"' in html and "empty file" in html
    assert "finops_agg_domain_month" in html  # refreshes with timestamps and durations
    assert f"https://logs.example/?q={failed_run.run_id}" in html
    assert 'id="finops-log-tail"' in html and "Failed block(s)" in html
    assert "<script>" not in html.replace('<script src="/static/js/finops_batch.js"></script>', "")


def test_periods_mark_the_current_month_and_the_previous_recompute(sources, launch, client_for, finops_admin_user):
    from finops_admin.forms import default_periods

    run = run_create(kind="finops_batch", params={}, owner=finops_admin_user, enqueue=False)
    assert run.params["periods"] == default_periods()
    html = _body(client_for(finops_admin_user).get(f"/finops/admin/runs/{run.run_id}/"))
    assert "(current month)" in html and "(previous month, recomputed)" in html
    # A PENDING run shows its domains as pending chips in the list and is live on its page.
    assert 'data-active="1"' in html
    listing = _body(client_for(finops_admin_user).get("/finops/admin/runs/"))
    assert 'chip chip-pending" title="Public: PENDING"' in listing


def test_logs_download(sources, launch, client_for, finops_admin_user):
    run = launch(periods="2026-11", domains="open")
    response = client_for(finops_admin_user).get(f"/finops/admin/runs/{run.run_id}/logs.txt")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    assert run.run_id in text and "Aggregate finops_agg_domain_month" in text


def test_launch_form(sources, client_for, finops_admin_user, django_capture_on_commit_callbacks):
    client = client_for(finops_admin_user)
    assert client.get("/finops/admin/runs/launch/").status_code == 200
    bad = client.post("/finops/admin/runs/launch/", {"periods": "2026-1x", "domains": "mars", "source": ""})
    assert bad.status_code == 400 and "Not a month" in _body(bad) and "Unknown domain" in _body(bad)
    assert not Run.objects.filter(kind="finops_batch").exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/finops/admin/runs/launch/", {"periods": "2026-11", "domains": "open", "source": ""})
    assert response.status_code == 302
    run = Run.objects.get(kind="finops_batch")
    assert response["Location"] == f"/finops/admin/runs/{run.run_id}/"
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.trigger == "MANUAL" and run.owner == finops_admin_user


def test_reprocess_form_previews_then_launches(sources, launch, client_for, finops_admin_user,
                                               django_capture_on_commit_callbacks):
    first = launch(periods="2026-11", domains="open,public")
    client = client_for(finops_admin_user)
    preview = client.get(f"/finops/admin/runs/{first.run_id}/reprocess/")
    assert preview.status_code == 200
    html = _body(preview)
    assert 'id="reprocess-preview"' in html and f'id="reprocess-total">{first.finops_batch.rows_inserted}<' in html
    assert Run.objects.filter(kind="finops_batch").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/finops/admin/runs/{first.run_id}/reprocess/")
    new = Run.objects.exclude(pk=first.pk).get(kind="finops_batch")
    assert response.status_code == 302 and response["Location"] == f"/finops/admin/runs/{new.run_id}/"
    new.refresh_from_db()
    assert new.trigger == "REPROCESS" and new.parent_id == first.pk and new.status == RunStatus.SUCCEEDED
    detail = _body(client.get(f"/finops/admin/runs/{new.run_id}/"))
    assert f"/finops/admin/runs/{first.run_id}/" in detail  # parent link


def test_menu_shows_the_section_only_to_its_roles(make_user, client_for, admin_user, finops_admin_user):
    link = "Admin › Batch Runs"
    assert link in _body(client_for(finops_admin_user).get("/"))
    assert link in _body(client_for(admin_user).get("/"))
    for role in (Role.FINOPS_USER, Role.VIEWER, Role.ANALYST, Role.ML_ADMIN):
        assert link not in _body(client_for(make_user(role)).get("/"))


def test_the_list_reads_a_fixed_number_of_queries_whatever_the_rows(sources, launch, client_for, finops_admin_user,
                                                                    django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(finops_admin_user)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/finops/admin/runs/").status_code == 200
            client.get("/api/finops/admin/runs/")
        return len(captured)

    launch(periods="2026-11", domains="open")
    few = queries()
    for _ in range(4):
        launch(periods="2026-10", domains="open,public")
    assert queries() == few
