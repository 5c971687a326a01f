"""FinOps cost views in a real browser: a finops_user walks Dashboard → Domain → Family → Application →
History, sees the charts drawn (no script error under the CSP) and exports a table."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

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
    lines = path.read_text().splitlines()
    assert lines[0].startswith("period,") and lines[-1].startswith("2026-11,")
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
    assert not errors, errors
