"""Provenance of imported runs: recorded by the import, never claimed by the file, shown on every surface."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from runs.models import Run, RunOrigin, RunTrigger
from runs.services.exchange import ImportKindRequired, run_import
from tests.runs.test_exchange_support import (  # noqa: F401  (fixtures)
    artifact_root,
    assert_refused,
    edit_json,
    export_bytes,
    finished_run,
    forget,
    parquet_bytes,
    rezip,
)

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_engine_run_is_of_engine_origin_and_says_so_in_its_export(finished_run):
    assert finished_run.origin == RunOrigin.ENGINE and finished_run.imported_at is None
    record = json.loads(export_bytes(finished_run, "json"))["run"]
    assert record["origin"] == "ENGINE" and record["imported_at"] is None


@pytest.mark.parametrize("fmt", ["json", "bundle"])
def test_an_import_is_of_import_origin_whatever_the_file_claims(fmt, finished_run, artifact_root, analyst):
    source_id, source_run_id = str(finished_run.pk), finished_run.run_id
    data = export_bytes(finished_run, fmt)
    forget(finished_run, artifact_root)

    def claim_engine(document):
        document["run"].update(origin="ENGINE", imported_at=None, imported_from="")

    if fmt == "json":  # (a bundle's run.json is covered by its manifest; the JSON claim is enough)
        data = edit_json(data, claim_engine)
    before = timezone.now()
    run = run_import(file=data, actor=analyst).run
    run.refresh_from_db()
    assert run.origin == RunOrigin.IMPORT and run.is_imported
    assert before <= run.imported_at <= timezone.now()
    assert run.import_format == fmt and source_run_id in run.imported_from and source_id in run.imported_from
    # Exported again, it says it was imported.
    record = json.loads(export_bytes(run, "json"))["run"]
    assert record["origin"] == "IMPORT" and record["imported_at"] and record["imported_from"] == run.imported_from


def test_an_imported_copy_keeps_the_original_times_so_it_never_starts_before_it_was_created(finished_run, analyst):
    Run.objects.filter(pk=finished_run.pk).update(created_at=timezone.now() - timedelta(days=3))
    finished_run.refresh_from_db()
    data = export_bytes(finished_run, "json")
    copy = run_import(file=data, actor=analyst, as_new=True).run
    copy.refresh_from_db()
    assert copy.trigger == RunTrigger.IMPORT and copy.origin == RunOrigin.IMPORT
    assert copy.created_at == finished_run.created_at
    assert copy.created_at <= copy.started_at <= copy.finished_at <= copy.imported_at


def test_the_api_page_list_and_csv_mark_an_imported_run(client_for, finished_run, artifact_root, analyst):
    data = export_bytes(finished_run, "json")
    copy = run_import(file=data, actor=analyst, as_new=True).run

    body = _api(analyst).get(f"/api/runs/{copy.run_id}/").json()
    assert body["origin"] == "IMPORT" and body["is_imported"] is True and body["imported_at"]
    listed = {r["run_id"]: r for r in _api(analyst).get("/api/runs/").json()["results"]}
    assert listed[copy.run_id]["is_imported"] is True and listed[finished_run.run_id]["is_imported"] is False
    assert listed[finished_run.run_id]["origin"] == "ENGINE"

    client = client_for(analyst)
    page = client.get(f"/runs/{copy.run_id}/").content.decode()
    assert 'id="run-imported"' in page and "Created (original)" in page and 'id="run-imported-at"' in page
    genuine_page = client.get(f"/runs/{finished_run.run_id}/").content.decode()
    assert 'id="run-imported"' not in genuine_page and "(original)" not in genuine_page
    listing = client.get("/runs/").content.decode()
    assert listing.count('class="pill pill-imported"') == 1

    response = client.get("/runs/export.csv?status=SUCCEEDED")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    origins = {row["run_id"]: row["origin"] for row in rows}
    assert origins == {copy.run_id: "IMPORT", finished_run.run_id: "ENGINE"}


@pytest.mark.parametrize(
    "content_type",
    ["application/json\r\nX-Injected: 1", "text/html\n", "json", "a/b\x7f", "application/json\r\n; x=1", "a/b;\tx"],
)
def test_a_content_type_that_is_not_a_media_type_is_refused_at_import(content_type, finished_run, artifact_root):
    data = export_bytes(finished_run, "json")
    forget(finished_run, artifact_root)

    def change(document):
        document["artifacts"][0]["content_type"] = content_type

    assert_refused(artifact_root, edit_json(data, change), "is not a media type")


def test_a_parquet_import_without_a_kind_names_the_option_to_give(tmp_path):
    with pytest.raises(ImportKindRequired) as info:
        run_import(file=parquet_bytes(), actor=None)
    assert "--kind" in info.value.message and "kind field" in info.value.message
    path = tmp_path / "t.parquet"
    path.write_bytes(parquet_bytes())
    with pytest.raises(CommandError, match="--kind"):
        call_command("import_run", str(path), stdout=StringIO())
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    "field, value, message",
    [("name", "summary.json\n", "is not a valid result name"), ("run_id", "run_x\n", "run.run_id must be")],
)
def test_a_trailing_newline_in_a_name_or_run_id_is_refused(field, value, message, finished_run, artifact_root):
    data = export_bytes(finished_run, "json")
    forget(finished_run, artifact_root)

    def change(document):
        if field == "name":
            document["artifacts"][0]["name"] = value
        else:
            document["run"]["run_id"] = value

    assert_refused(artifact_root, edit_json(data, change), message)


def test_runs_imported_before_provenance_was_kept_are_marked_by_the_migration(finished_run, analyst):
    import importlib

    from django.apps import apps

    from runs.models import RunLog

    migration = importlib.import_module("runs.migrations.0007_provenance")
    copy = run_import(file=export_bytes(finished_run, "bundle"), actor=analyst, as_new=True).run
    kept = run_import(file=export_bytes(finished_run, "json"), actor=analyst, as_new=True).run
    # As the rows stood before: no provenance, only the import's log line (and, for a copy, the trigger).
    Run.objects.filter(pk__in=[copy.pk, kept.pk]).update(origin="ENGINE", imported_at=None, imported_from="",
                                                         import_format="")
    Run.objects.filter(pk=kept.pk).update(trigger="MANUAL")
    migration.mark_imported_runs(apps, None)
    copy.refresh_from_db()
    kept.refresh_from_db()
    finished_run.refresh_from_db()
    assert copy.origin == kept.origin == "IMPORT" and copy.import_format == "bundle" and kept.import_format == "json"
    line = RunLog.objects.filter(run=kept, message__startswith="Imported by ").get()
    assert kept.imported_at == line.created_at
    assert finished_run.origin == "ENGINE" and finished_run.imported_at is None


def test_the_compare_page_marks_an_imported_run(client_for, finished_run, analyst):
    copy = run_import(file=export_bytes(finished_run, "json"), actor=analyst, as_new=True).run
    page = client_for(analyst).get(f"/runs/compare/?runs={finished_run.run_id}&runs={copy.run_id}")
    assert page.status_code == 200
    assert page.content.decode().count('class="pill pill-imported"') == 1
