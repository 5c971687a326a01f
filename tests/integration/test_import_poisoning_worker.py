"""The import-poisoning scenario with real workers on Redis and PostgreSQL: the genuine run and the
later run are computed (or served) by a worker process, the crafted copy is imported in between."""
from __future__ import annotations

import io

import openpyxl
import pytest
from rest_framework.test import APIClient

from runs.models import Run, RunStatus
from runs.services import run_create
from runs.services.exchange import run_import
from simulations.models import CachedResult
from tests.security.test_import_poisoning import FORMULA, craft_bundle
from tests.support import wait_for

pytestmark = pytest.mark.services


def _finished(run: Run, worker_logs) -> Run:
    wait_for(
        lambda: Run.objects.filter(pk=run.pk, status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]).exists(),
        timeout=240, interval=0.1, what=f"{run.run_id} to finish\n{worker_logs()}",
    )
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, f"{run.error_message}\n{worker_logs()}"
    return run


def _products(client: APIClient, run: Run) -> set[str]:
    response = client.get(f"/api/simulations/runs/{run.run_id}/report/")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert not [c for s in workbook.worksheets for row in s.iter_rows() for c in row if c.data_type == "f"]
    rows = list(workbook["Stats by product"].iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row and row[0] == "product")
    return {row[0] for row in rows[header + 1:] if row and row[0]}


def test_a_crafted_import_reaches_no_run_a_worker_computes_or_serves(start_worker, analyst):
    worker = start_worker("w1")
    client = APIClient()
    client.force_authenticate(analyst)
    params = {"seed": 11, "n_positions": 5_000}
    genuine = _finished(run_create(kind="simulation", params=params, owner=analyst), worker.log)
    products = {row["product"] for row in genuine.metrics["stats_by_product"]}

    imported = run_import(file=craft_bundle(genuine), actor=analyst).run
    assert FORMULA in _products(client, imported)  # its own bytes, as text
    assert _products(client, genuine) == products

    later = _finished(run_create(kind="simulation", params=params, owner=analyst), worker.log)
    assert later.metrics["cache"]["hit"] is True and later.metrics["cache"]["computed_by"] == genuine.run_id
    assert later.checksum == genuine.checksum
    assert _products(client, later) == products
    assert not CachedResult.objects.filter(source_run=imported).exists()
