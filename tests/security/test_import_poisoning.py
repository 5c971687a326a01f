"""The import-poisoning attack, scripted: a genuine simulation export is edited
(formulas in product names), its digests and run checksum recomputed, given a
new identity while keeping `metrics.cache.params_hash`, and imported. Nothing
it holds may reach the genuine run, the cache, a later run, or be blessed by
the validation panel or verify_checksums.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
import zipfile
from io import StringIO
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from runs.models import Run, RunArtifact, RunOrigin
from runs.services.exchange import run_export, run_import
from simulations.models import CachedResult

FORMULA = '=HYPERLINK("http://x","y")'


def _export(run: Run, fmt: str) -> bytes:
    return b"".join(run_export(run=run, fmt=fmt).chunks)


def _poisoned_stats(data: bytes) -> bytes:
    rows = json.loads(data)
    for row in rows:
        row["product"] = FORMULA
    return json.dumps(rows, sort_keys=True, separators=(",", ":")).encode()


def _checksum(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(files[name])
    return digest.hexdigest()


def _retarget(run: dict[str, Any], checksum: str, *, metrics_too: bool = True) -> None:
    """A new identity and checksum; the cache key in the metrics is kept on purpose. A careful
    forger also rewrites the product names in the metrics, so they agree with the documents."""
    run["id"] = str(uuid.uuid4())
    run["run_id"] = "run_crafted_001"
    run["checksum"] = checksum
    assert run["metrics"]["cache"]["params_hash"]
    if metrics_too:
        for row in run["metrics"]["stats_by_product"]:
            row["product"] = FORMULA


def craft_json(genuine: Run, *, metrics_too: bool = True) -> bytes:
    document = json.loads(_export(genuine, "json"))
    files: dict[str, bytes] = {}
    for entry in document["artifacts"]:
        data = base64.b64decode(entry["data"])
        if entry["name"] == "stats_by_product.json":
            data = _poisoned_stats(data)
            entry["data"] = base64.b64encode(data).decode()
            entry["sha256"], entry["size_bytes"] = hashlib.sha256(data).hexdigest(), len(data)
        files[entry["name"]] = data
    _retarget(document["run"], _checksum(files), metrics_too=metrics_too)
    return json.dumps(document).encode()


def craft_bundle(genuine: Run) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(_export(genuine, "bundle")))
    members = {info.filename: source.read(info) for info in source.infolist()}
    members["results/stats_by_product.json"] = _poisoned_stats(members["results/stats_by_product.json"])
    document = json.loads(members["run.json"])
    files = {name[len("results/"):]: data for name, data in members.items() if name.startswith("results/")}
    for entry in document["artifacts"]:
        data = files[entry["name"]]
        entry["sha256"], entry["size_bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    _retarget(document["run"], _checksum(files))
    members["run.json"] = json.dumps(document).encode()
    manifest = json.loads(members["manifest.json"])
    manifest.update(id=document["run"]["id"], run_id=document["run"]["run_id"], checksum=document["run"]["checksum"])
    for member in manifest["members"]:
        data = members[member["name"]]
        member["sha256"], member["size_bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    members["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return out.getvalue()


def _report(client: Client, run: Run) -> openpyxl.Workbook | None:
    response = client.get(f"/api/simulations/runs/{run.run_id}/report/")
    if response.status_code != 200:
        return None
    return openpyxl.load_workbook(io.BytesIO(response.content))


def _cells(workbook: openpyxl.Workbook) -> list[Any]:
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def _products(workbook: openpyxl.Workbook) -> set[str]:
    sheet = workbook["Stats by product"]
    rows = list(sheet.iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row and row[0] == "product")
    return {row[0] for row in rows[header + 1:] if row and row[0]}


def _assert_genuine(workbook: openpyxl.Workbook, genuine_products: set[str]) -> None:
    assert workbook is not None
    assert _products(workbook) == genuine_products
    assert not [c.coordinate for c in _cells(workbook) if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert not [c.coordinate for c in _cells(workbook) if c.data_type == "f"]


@pytest.mark.parametrize("craft", [craft_json, craft_bundle], ids=["json", "bundle"])
@pytest.mark.parametrize("genuine_report_first", [False, True], ids=["attacker-first", "genuine-first"])
def test_an_imported_crafted_export_never_reaches_other_runs_or_the_caches(
    craft, genuine_report_first, launch, analyst, api_for
):
    client = api_for(analyst)
    genuine = launch(owner=analyst)
    genuine_products = {row["product"] for row in genuine.metrics["stats_by_product"]}
    if genuine_report_first:
        _assert_genuine(_report(client, genuine), genuine_products)

    imported = run_import(file=craft(genuine), actor=analyst).run
    imported.refresh_from_db()
    assert imported.origin == RunOrigin.IMPORT
    assert imported.metrics["cache"]["params_hash"] == genuine.metrics["cache"]["params_hash"]

    # The attacker asks for their run's report first, then everyone else asks for theirs.
    own = _report(client, imported)
    if own is not None:  # built from its own bytes, and nothing in it is a live formula
        assert not [c.coordinate for c in _cells(own) if c.data_type == "f"]
        assert FORMULA in _products(own)
    _assert_genuine(_report(client, genuine), genuine_products)

    later = launch(owner=analyst)
    assert later.checksum == genuine.checksum
    assert (later.metrics.get("cache") or {}).get("computed_by") != imported.run_id
    _assert_genuine(_report(client, later), genuine_products)

    # No cache entry was produced by, or holds the bytes of, the imported run.
    crafted = set(RunArtifact.objects.filter(run=imported).values_list("sha256", flat=True))
    genuine_digests = set(RunArtifact.objects.filter(run=genuine).values_list("sha256", flat=True))
    assert not CachedResult.objects.filter(source_run=imported).exists()
    assert not CachedResult.objects.filter(sha256__in=crafted - genuine_digests).exists()
    for entry in CachedResult.objects.filter(kind="report"):
        assert entry.results_checksum == genuine.checksum and entry.source_run_id != imported.pk

    # The validation panel does not bless the crafted run: it says it is imported, not computed here.
    page_client = Client()
    page_client.force_login(analyst)
    panel = page_client.get(f"/runs/{imported.run_id}/validation/").content.decode()
    assert "All checks pass" not in panel and "imported" in panel.lower()
    assert "All checks pass" in page_client.get(f"/runs/{genuine.run_id}/validation/").content.decode()

    # verify_checksums names the imported run as imported, never as computed here.
    out = StringIO()
    call_command("verify_checksums", stdout=out)
    text = out.getvalue()
    assert f"IMPORTED  {imported.run_id}" in text
    assert "0 mismatch" in text


def test_a_report_cached_from_an_imported_run_is_never_served_and_is_reported(
    launch, analyst, api_for, django_capture_on_commit_callbacks
):
    """An entry left by an older version (a report an imported run produced) is not trusted."""
    client = api_for(analyst)
    genuine = launch(owner=analyst)
    genuine_products = {row["product"] for row in genuine.metrics["stats_by_product"]}
    imported = run_import(file=craft_json(genuine), actor=analyst).run
    _assert_genuine(_report(client, genuine), genuine_products)
    entry = CachedResult.objects.get(kind="report")
    # Plant what the attack used to leave behind: the genuine key, the imported producer, other bytes.
    crafted_workbook = openpyxl.Workbook()
    crafted_workbook.active["A1"] = FORMULA
    buffer = io.BytesIO()
    crafted_workbook.save(buffer)
    data = buffer.getvalue()
    CachedResult.objects.filter(pk=entry.pk).update(
        source_run=imported, storage="db", path="", blob=data, size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    _assert_genuine(_report(client, genuine), genuine_products)
    assert not CachedResult.objects.filter(source_run=imported).exists()

    # The same as a file: dropped, and the file nobody else uses goes with it.
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    from runs.artifacts import artifact_path

    path = artifact_path(hashlib.sha256(data).hexdigest())
    storages["artifacts"].save(path, ContentFile(data))
    CachedResult.objects.filter(kind="report").update(
        source_run=imported, storage="file", path=path, blob=None, size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        _assert_genuine(_report(client, genuine), genuine_products)
    assert not storages["artifacts"].exists(path)

    CachedResult.objects.filter(kind="report").update(source_run=imported)
    page_client = Client()
    page_client.force_login(analyst)
    panel = page_client.get(f"/runs/{genuine.run_id}/validation/").content.decode()
    assert "Some checks fail" in panel and "not computed by this installation" in panel
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_checksums", stdout=out)
    assert "not computed by this installation" in out.getvalue()


def test_a_crafted_export_whose_metrics_disagree_with_its_documents_is_refused(launch, analyst):
    from runs.services.exchange import ImportRefused

    genuine = launch(owner=analyst)
    before = Run.objects.count()
    with pytest.raises(ImportRefused, match="metrics do not match its result documents"):
        run_import(file=craft_json(genuine, metrics_too=False), actor=analyst)
    assert Run.objects.count() == before
