"""FinOps cost views in a real browser: a finops_user walks Dashboard → Domain → Family → Application →
History, sees the charts drawn (no script error under the CSP) and exports a table as CSV and Excel
(a loading notice while the file is prepared); without JavaScript the tables are all there."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.db.models import Sum

from finops_admin.generate import generate
from finops_admin.models import CostReading
from finops_admin.services.catalogue import catalogue_load
from runs.models import Run, RunStatus
from runs.services import run_create, run_execute
from tests.finops.conftest import finops_dirs  # noqa: F401  (fixture)
from tests.integration.test_browser import page  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.services]


def test_finops_user_drills_down_reads_history_and_exports(page, real_services, finops_dirs, make_user,  # noqa: F811
                                                           tmp_path):
    from accounts.roles import Role

    loader = make_user(Role.FINOPS_ADMIN)
    user = make_user(Role.FINOPS_USER)
    generate(out=finops_dirs, months=3, applications=16, rows_per_month=200, seed=5, last_month=date(2026, 11, 1))
    catalogue_load(path=finops_dirs / "catalogue.csv")
    run = run_create(kind="finops_batch", params={"periods": "2026-09,2026-10,2026-11"}, owner=loader, enqueue=False)
    run_execute(run_pk=run.pk)
    assert Run.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto("/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("#login-form button[type=submit]")
    page.click("#finops-menu >> text=Dashboard")
    page.wait_for_url("**/finops/")
    total = CostReading.objects.filter(period=date(2026, 11, 1)).aggregate(s=Sum("effective_cost"))["s"]
    shown = page.locator("#total-effective").inner_text()
    assert Decimal(shown.replace("EUR", "").replace("\u202f", "").strip()) == total.quantize(Decimal("0.01"))
    # Chart.js drew the charts (a canvas it sized), from the page's JSON data.
    page.wait_for_function("document.getElementById('finops-chart-domains').width > 0")

    page.click("#table-domains tbody tr >> nth=0 >> a")
    page.wait_for_url("**/finops/domains/?domain=*")
    domain_url = page.url
    page.click("#table-families tbody tr >> nth=0 >> a")
    page.wait_for_url("**/finops/families/?family=*")
    page.click("#table-applications tbody tr >> nth=0 >> a")
    page.wait_for_url("**/finops/applications/?application=*")
    assert page.locator("#finops-crumbs a").count() == 3
    # Its cost by provider and by service category: tables and doughnuts, from the aggregates.
    assert page.locator("#table-providers tbody tr").count() >= 1
    assert page.locator("#table-categories tbody tr").count() >= 1
    page.wait_for_function("document.getElementById('finops-chart-providers').width > 0")
    # Back up one level by the breadcrumb, then to the domain.
    page.click("#finops-crumbs a >> nth=2")
    page.wait_for_url("**/finops/families/?family=*")
    page.click("#finops-crumbs a >> nth=1")
    page.wait_for_url(lambda url: url == domain_url)

    page.click(".finops-tabs >> text=History")
    page.wait_for_url("**/finops/history/*")
    assert page.locator("#table-history tbody tr").count() == 12
    with page.expect_download() as info:
        page.click("#export-history")
    path = tmp_path / "history.csv"
    info.value.save_as(path)
    assert info.value.suggested_filename == "finops-history-2026-11.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert rows[-1]["period"] == "2026-11" and Decimal(rows[-1]["total"]) == total

    # The Excel file of the same table; held back a moment, the loading notice shows meanwhile.
    held = []
    page.route(lambda url: "export=history" in url and "format=xlsx" in url, lambda route: held.append(route))
    with page.expect_download() as info:
        page.click("#export-history-xlsx")
        page.wait_for_selector("#finops-busy", state="visible")
        assert "Preparing the file" in page.locator("#finops-busy").inner_text()
        held[0].continue_()
    path = tmp_path / "history.xlsx"
    info.value.save_as(path)
    assert info.value.suggested_filename == "finops-history-2026-11.xlsx"
    sheet = openpyxl.load_workbook(path).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "period" and values[-1][0] == "2026-11"
    assert Decimal(str(values[-1][-1])).quantize(Decimal("0.000001")) == total
    page.wait_for_selector("#finops-busy", state="hidden")
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
    assert not errors, errors

    # Without JavaScript the tables are all there (only the charts and the notice are missing).
    plain = page.context.browser.new_context(base_url=page.url.split("/finops/")[0], java_script_enabled=False)
    try:
        bare = plain.new_page()
        bare.goto("/")
        bare.fill("#id_username", user.username)
        bare.fill("#id_password", "pw-for-tests-1")
        bare.click("#login-form button[type=submit]")
        bare.goto("/finops/?month=2026-11")
        assert bare.locator("#table-domains tbody tr").count() == 4
        assert bare.locator("#total-effective").inner_text() == shown
        bare.goto("/finops/applications/")
        assert bare.locator("#table-applications tbody tr").count() >= 16
    finally:
        plain.close()
