"""CSV export of the filtered list, logs as text, the validation panel; the list's rows
read as plain values (runs.selectors.listing.run_list_values), which must come out
exactly as the list serializer and the run table make them of model instances."""
import csv
import io
import json
import zoneinfo
from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient, APIRequestFactory

from runs import selectors
from runs.api.serializers import RunListSerializer
from runs.models import Run, RunOrigin, RunStatus, RunTrigger
from runs.query.columns import parse_columns
from runs.selectors.listing import CSV_COLUMNS, ListedRun, run_list_tag_names, run_list_values, with_columns
from runs.services import run_clone, run_create, run_log, runs_set_favourite

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(analyst, demo_params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        done = run_create(kind="demo", params=demo_params, owner=analyst, tags=["b", "a"], notes="line, with comma")
    pending = run_create(kind="demo", params=demo_params, owner=analyst)
    done.refresh_from_db()
    return done, pending


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_has_every_column_and_exactly_the_filtered_runs(client_for, viewer, runs):
    done, pending = runs
    rows = _csv(client_for(viewer).get("/runs/export.csv?status=SUCCEEDED"))
    assert [r["run_id"] for r in rows] == [done.run_id]
    row = rows[0]
    assert list(row) == CSV_COLUMNS
    assert row["tags"] == "a;b" and row["notes"] == "line, with comma"
    assert row["started_at"] and row["finished_at"] and float(row["duration_seconds"]) >= 0
    assert row["checksum"] == done.checksum


def test_the_api_csv_uses_the_same_filters(viewer, runs):
    client = APIClient()
    client.force_authenticate(viewer)
    rows = _csv(client.get("/api/runs/csv/?status=PENDING"))
    assert [r["run_id"] for r in rows] == [runs[1].run_id]


def test_a_bad_filter_in_the_csv_export_is_a_400(client_for, viewer, runs):
    assert client_for(viewer).get("/runs/export.csv?status=NOPE").status_code == 400


def test_the_csv_is_refused_without_run_roles(client_for, finops_admin, runs):
    assert client_for(finops_admin).get("/runs/export.csv").status_code == 403


def test_logs_download_as_text_filtered_by_level(client_for, viewer, runs):
    done, _ = runs
    text = b"".join(client_for(viewer).get(f"/runs/{done.run_id}/logs.txt").streaming_content).decode()
    assert "Created by" in text and "Succeeded" in text and "WARNING" in text
    warnings = b"".join(client_for(viewer).get(f"/runs/{done.run_id}/logs.txt?level=WARNING").streaming_content).decode()
    assert "Half-way" in warnings and "Created by" not in warnings
    assert client_for(viewer).get(f"/runs/{done.run_id}/logs.txt?level=LOUD").status_code == 400


def test_the_detail_page_paginates_and_filters_logs(client_for, viewer, runs):
    _, pending = runs
    for i in range(450):
        run_log(run=pending, message=f"line {i}")
    client = client_for(viewer)
    last = client.get(f"/runs/{pending.run_id}/")
    assert last.context["log_page"].number == 3 and "line 449" in last.content.decode()
    first = client.get(f"/runs/{pending.run_id}/?log_page=1")
    assert "line 0<" in first.content.decode() and "line 449" not in first.content.decode()
    errors = client.get(f"/runs/{pending.run_id}/?log_level=ERROR")
    assert errors.context["log_page"].paginator.count == 0


def test_the_validation_panel_passes_on_an_intact_run(client_for, viewer, runs):
    response = client_for(viewer).get(f"/runs/{runs[0].run_id}/validation/")
    assert response.status_code == 200 and response.context["all_ok"]


def test_the_validation_panel_detects_altered_result_bytes(client_for, viewer, runs):
    done, _ = runs
    artifact = done.artifacts.get()
    storage = storages["artifacts"]
    with storage.open(artifact.path, "wb") as fh:
        fh.write(b'{"values": [0]}')
    response = client_for(viewer).get(f"/runs/{done.run_id}/validation/")
    assert not response.context["all_ok"]
    failed = [c.label for c in response.context["checks"] if not c.ok]
    assert failed == ["result.json intact", "Run checksum"]


def test_the_validation_panel_flags_nan_metrics(client_for, viewer, runs):
    done, _ = runs
    Run.objects.filter(pk=done.pk).update(metrics={"mean": None, "steps": 3})
    response = client_for(viewer).get(f"/runs/{done.run_id}/validation/")
    check = next(c for c in response.context["checks"] if c.label.startswith("Metrics"))
    assert not check.ok and "mean" in check.detail


# The list's rows as plain values

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
