"""The run list reads plain values for its page (runs.selectors.listing.run_list_values):
what it returns must be exactly what RunListSerializer makes of the same runs as model
instances, field for field and in the same order."""
import json
import zoneinfo
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient, APIRequestFactory

from runs import selectors
from runs.api.serializers import RunListSerializer
from runs.models import Run, RunOrigin, RunStatus, RunTrigger
from runs.query.columns import parse_columns
from runs.selectors.listing import ListedRun, run_list_tag_names, run_list_values, with_columns
from runs.services import run_clone, run_create, runs_set_favourite

pytestmark = pytest.mark.django_db


@pytest.fixture
def varied(analyst, demo_params):
    """Runs that exercise every field: finished with metrics, tags in reverse order and a
    star; no owner; a clone (parent); an imported data-only table with an error and a worker."""
    now = timezone.now()
    done = run_create(kind="demo", params=demo_params, owner=analyst, tags=["zeta", "alpha"], notes="n")
    Run.objects.filter(pk=done.pk).update(
        status=RunStatus.SUCCEEDED, started_at=now - timedelta(seconds=3), finished_at=now,
        duration_seconds=2.5, heartbeat_at=now, progress=100,
        metrics={"lcr": 1.7, "flag": True, "table": {"a": [1, 2]}, "rwa_total": 12345678901.25},
    )
    orphan = run_create(kind="demo", params={**demo_params, "seed": 8}, owner=None)
    done.refresh_from_db()
    clone = run_clone(run=done, actor=analyst, params={"seed": 9})
    imported = run_create(kind="demo", params={**demo_params, "seed": 10}, owner=analyst, tags=["b"])
    Run.objects.filter(pk=imported.pk).update(
        origin=RunOrigin.IMPORT, imported_at=now, import_format="parquet", imported_from="results.parquet",
        trigger=RunTrigger.IMPORT, status=RunStatus.FAILED, error_message="boom", worker="w1",
        code_version="abc123", cancel_requested=True, seed=None, metrics={"lcr": "n/a"},
    )
    runs_set_favourite(runs=[done], actor=analyst, value=True)
    return done, orphan, clone, imported


def _as_json(data) -> list[dict]:
    return json.loads(JSONRenderer().render(data))


def _both(user, columns) -> tuple[list[dict], list[dict]]:
    request = APIRequestFactory().get("/api/runs/")
    request.user = user
    context = {"request": request, "columns": columns}
    queryset = with_columns(selectors.run_list(user=user), columns)
    from_instances = RunListSerializer(list(queryset), many=True, context=context).data
    rows = run_list_tag_names(list(run_list_values(queryset, columns)))
    from_rows = RunListSerializer(rows, many=True, context=context).data
    return _as_json(from_instances), _as_json(from_rows)


@pytest.mark.parametrize("columns", ["", "metrics.lcr,metrics.flag,metrics.table,metrics.missing,params.seed"])
def test_rows_serialise_exactly_as_instances(analyst, varied, columns):
    expected, got = _both(analyst, parse_columns(columns.split(",")) if columns else [])
    assert len(got) == 4
    assert [list(r) for r in got] == [list(r) for r in expected]  # same keys, same order
    assert got == expected
    by_id = {r["run_id"]: r for r in got}
    done, orphan, clone, imported = varied
    assert by_id[done.run_id]["tags"] == ["alpha", "zeta"] and by_id[done.run_id]["is_favourite"] is True
    assert by_id[orphan.run_id]["owner"] is None and by_id[clone.run_id]["parent"] == done.run_id
    assert by_id[imported.run_id]["is_data_only"] is True and by_id[imported.run_id]["seed"] is None


def test_rows_follow_the_callers_time_zone_as_instances_do(analyst, varied):
    with timezone.override(zoneinfo.ZoneInfo("Asia/Kolkata")):
        expected, got = _both(analyst, [])
    assert got == expected
    assert got[0]["created_at"].endswith("+05:30")


def test_the_api_list_returns_what_the_serializer_makes_of_instances(analyst, varied):
    client = APIClient()
    client.force_authenticate(analyst)
    body = client.get("/api/runs/?metrics=lcr,rwa_total&params=seed&page_size=100").json()
    expected, _ = _both(analyst, parse_columns(["metrics.lcr", "metrics.rwa_total", "params.seed"]))
    assert body["results"] == expected
    cursor_body = client.get("/api/runs/?metrics=lcr,rwa_total&params=seed&page_size=100&cursor=").json()
    assert cursor_body["results"] == expected


def test_the_list_reads_a_fixed_number_of_queries_whatever_the_page(analyst, demo_params):
    client = APIClient()
    client.force_authenticate(analyst)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/runs/?page_size=100&metrics=lcr").status_code == 200
        return len(captured)

    run_create(kind="demo", params=demo_params, owner=analyst, tags=["a"])
    few = queries()
    for seed in range(12):
        run_create(kind="demo", params={**demo_params, "seed": seed}, owner=analyst, tags=["a", f"t{seed}"])
    assert queries() == few


def test_the_run_table_renders_listed_runs_exactly_as_instances(analyst, varied):
    from django.template.loader import render_to_string

    columns = parse_columns(["metrics.lcr", "metrics.flag", "params.seed"])
    queryset = with_columns(selectors.run_list(user=analyst), columns)
    instances = list(queryset)
    listed = [ListedRun(row) for row in run_list_tag_names(list(run_list_values(queryset, columns)))]
    for run in [*instances, *listed]:
        run.column_values = [column.value(run) for column in columns]
    context = {"columns": columns, "sortable": True, "selectable": True, "ordering": "-created_at", "sort_querystring": ""}
    expected = render_to_string("runs/_run_table.html", {**context, "runs": instances})
    got = render_to_string("runs/_run_table.html", {**context, "runs": listed})
    assert got == expected
    assert "pill-imported" in got and "alpha" in got and "Your favourite" in got


def test_the_list_page_reads_a_fixed_number_of_queries(client_for, analyst, demo_params):
    client = client_for(analyst)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/runs/?page_size=100&columns=metrics.lcr").status_code == 200
        return len(captured)

    run_create(kind="demo", params=demo_params, owner=analyst, tags=["a"])
    few = queries()
    for seed in range(12):
        run_create(kind="demo", params={**demo_params, "seed": seed}, owner=analyst, tags=["a", f"t{seed}"])
    assert queries() == few
