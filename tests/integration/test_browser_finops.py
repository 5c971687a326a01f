"""FinOps › Admin › Batch Runs in a real browser: a finops_admin filters FAILED runs, opens one, sees its
blocks, downloads its logs, launches a reprocess and watches it finish on a real worker."""
from __future__ import annotations

from datetime import date

import pytest

from finops_admin.generate import generate
from finops_admin.services.catalogue import catalogue_load
from runs.models import Run, RunStatus
from runs.services import run_create, run_execute
from tests.finops.conftest import finops_dirs  # noqa: F401  (fixture)
from tests.integration.test_browser import page  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.services]


def _batch(owner, **params) -> Run:
    run = run_create(kind="finops_batch", params=params, owner=owner, enqueue=False)
    run_execute(run_pk=run.pk)  # the history is executed in-process; the reprocess goes to the worker
    return Run.objects.get(pk=run.pk)


def test_finops_admin_filters_opens_downloads_and_reprocesses(page, start_worker, finops_dirs, make_user,  # noqa: F811
                                                              tmp_path):
    from accounts.roles import Role

    user = make_user(Role.FINOPS_ADMIN)
    generate(out=finops_dirs, months=2, applications=16, rows_per_month=400, seed=5, last_month=date(2026, 11, 1))
    catalogue_load(path=finops_dirs / "catalogue.csv")
    ok = _batch(user, periods="2026-10,2026-11")
    bad_file = finops_dirs / "public" / "focus_public_2026-11b.csv"
    bad_file.write_text("")  # an empty export: the Public block fails, naming the file
    failed = _batch(user, periods="2026-10,2026-11")
    assert ok.status == RunStatus.SUCCEEDED and failed.status == RunStatus.FAILED
    bad_file.unlink()  # the file is fixed before the reprocess
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    start_worker("finops-browser", env={"FINOPS_SOURCE_DIR": str(finops_dirs),
                                        "FINOPS_SOURCE_ROOTS": str(finops_dirs.parent)})

    page.goto("/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("#login-form button[type=submit]")
    page.click("nav >> text=Admin › Batch Runs")
    page.wait_for_url("**/finops/admin/runs/")
    assert page.locator("#finops-runs tbody tr[data-run-id]").count() == 2
    # The FAILED badge says why in its tooltip.
    badge = page.locator(f'tr[data-run-id="{failed.run_id}"] .badge[data-status="FAILED"]')
    assert badge.get_attribute("title").startswith("Failed block(s): Public")

    page.check('#filter-status input[value="FAILED"]')
    page.click("#finops-filter-submit")
    page.wait_for_url("**/finops/admin/runs/?*status=FAILED*")
    rows = page.locator("#finops-runs tbody tr[data-run-id]")
    assert rows.count() == 1 and rows.first.get_attribute("data-run-id") == failed.run_id

    page.click(f'tr[data-run-id="{failed.run_id}"] >> text=Detail')
    page.wait_for_url(f"**/finops/admin/runs/{failed.run_id}/")
    blocks = page.locator("#finops-blocks tbody > tr[data-domain]")
    assert blocks.count() == 4
    assert page.locator('#finops-blocks tr[data-domain="public"] .badge').inner_text() == "FAILED"
    assert page.locator('#finops-blocks tr[data-domain="open"] .badge').inner_text() == "SUCCEEDED"
    assert "focus_public_2026-11b.csv" in page.locator('#finops-blocks tr[data-domain="public"]').inner_text()

    with page.expect_download() as download_info:
        page.click("#finops-download-logs")
    log_path = tmp_path / "batch.log"
    download_info.value.save_as(log_path)
    assert failed.run_id in log_path.read_text() and "Public: FAILED" in log_path.read_text()

    page.click("#finops-reprocess-link")
    page.wait_for_url(f"**/finops/admin/runs/{failed.run_id}/reprocess/")
    assert page.locator("#reprocess-preview tbody tr").count() == 8  # 2 months × 4 domains
    page.click("#finops-reprocess-form button[type=submit]")
    page.wait_for_url("**/finops/admin/runs/run_*/")
    new = Run.objects.get(parent=failed)
    assert new.run_id in page.url and new.trigger == "REPROCESS"
    # The page follows the run live and reloads on its final state.
    page.wait_for_selector('#finops-status .badge[data-status="SUCCEEDED"]', timeout=90_000)
    assert page.locator("#finops-blocks tbody > tr[data-domain] .badge", has_text="SUCCEEDED").count() == 4
    assert failed.run_id in page.locator("#finops-summary").inner_text()  # the parent link
    page.screenshot(path=str(tmp_path / "finops-detail.png"), full_page=True)
    page.goto("/finops/admin/runs/")
    page.screenshot(path=str(tmp_path / "finops-list.png"), full_page=True)
    assert not errors, errors
