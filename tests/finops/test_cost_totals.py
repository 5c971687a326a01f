"""FinOps cost views against the raw readings: every view's totals (pages, their CSV and Excel
exports, the API) equal the readings summed; the application list comes a page at a time
in the same order as the whole list; the application view splits by provider and service
category from the aggregates; a workbook keeps user text as text."""
from __future__ import annotations

import io
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.db.models import Sum

from finops_admin import costs
from finops_admin.cost_export import XLSX_TYPE
from finops_admin.models import Application, CostReading, Domain, Family
from tests.finops.test_cost_views import (  # noqa: F401  (fixtures)
    LAST, MONTHS, _csv, _raw, _spending_app, finops_user, loaded,
)

CENT = Decimal("0.000001")


def _xlsx(response) -> list[dict[str, Any]]:
    """The workbook's only sheet as dicts (header → typed value)."""
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == XLSX_TYPE
    assert response["Content-Disposition"].endswith('.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert len(book.worksheets) == 1
    rows = list(book.active.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def _sum(rows: list[dict[str, Any]], column: str = "effective") -> Decimal:
    return sum((Decimal(str(r[column])) for r in rows if r[column] not in (None, "")), Decimal(0))


def _both(client, url: str) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """A table exported as CSV and as Excel; both hold the same rows."""
    sep = "&" if "?" in url else "?"
    as_csv = _csv(client.get(url))
    as_xlsx = _xlsx(client.get(f"{url}{sep}format=xlsx"))
    assert len(as_csv) == len(as_xlsx) and list(as_csv[0]) == list(as_xlsx[0])
    return as_csv, as_xlsx


# ---------------------------------------------------------------------------
# Every view's totals against the readings summed
# ---------------------------------------------------------------------------
def test_every_view_and_the_api_agree_with_the_readings(loaded, client_for, finops_user):
    client = client_for(finops_user)
    raw = _raw(period=LAST)
    oct_raw = _raw(period=date(2026, 10, 1))

    # Dashboard: totals, cost by domain, unallocated per domain; top 10 never exceeds the whole.
    for rows in _both(client, "/finops/?export=totals"):
        assert Decimal(str(rows[0]["effective"])) == raw
        assert Decimal(str(rows[0]["billed"])) == CostReading.objects.filter(period=LAST).aggregate(
            s=Sum("billed_cost"))["s"]
        assert Decimal(str(rows[0]["previous_effective"])) == oct_raw
        assert Decimal(str(rows[0]["last_year_effective"])) == _raw(period=costs.add_months(LAST, -12))
    for rows in _both(client, "/finops/?export=domains"):
        assert _sum(rows) == raw and _sum(rows, "previous") == oct_raw
    for rows in _both(client, "/finops/?export=unallocated"):
        assert _sum(rows) == raw
        assert _sum(rows, "unallocated") == _raw(period=LAST, application__is_unallocated=True)
    assert _sum(_csv(client.get("/finops/?export=top"))) <= raw

    # Domain view: every domain, then each domain's families.
    assert _sum(_csv(client.get("/finops/domains/?export=domains"))) == raw
    for domain in Domain.objects.all():
        for rows in _both(client, f"/finops/domains/?domain={domain.code}&export=families"):
            assert _sum(rows) == _raw(period=LAST, domain=domain)

    # Family view: every family, then each family's applications.
    assert _sum(_csv(client.get("/finops/families/?export=families"))) == raw
    for family in Family.objects.all():
        rows = _csv(client.get(f"/finops/families/?family={family.pk}&export=applications"))
        assert _sum(rows) == _raw(period=LAST, family=family), family.name

    # Application view: the whole list (every page) and each domain's, then one application.
    for rows in _both(client, "/finops/applications/?export=applications"):
        assert _sum(rows) == raw and len(rows) == len({r["key"] for r in rows})
    for domain in Domain.objects.all():
        rows = _csv(client.get(f"/finops/applications/?domain={domain.code}&export=applications"))
        assert _sum(rows) == _raw(period=LAST, application__domain=domain)
    app = _spending_app()
    app_raw = _raw(period=LAST, application=app)
    for table in ("services", "providers", "categories"):
        for rows in _both(client, f"/finops/applications/?application={app.code}&export={table}"):
            assert _sum(rows) == app_raw, table
    history = _csv(client.get(f"/finops/applications/?application={app.code}&export=history"))
    assert [Decimal(r["effective"]) for r in history] == [_raw(period=m, application=app) for m in MONTHS[1:]]

    # Rankings: every family ranked holds every cost; the applications' top 100 too (24 applications).
    for rows in _both(client, "/finops/rankings/?level=family&top=100&export=ranking"):
        assert _sum(rows) == raw
    assert _sum(_csv(client.get("/finops/rankings/?top=100&export=ranking"))) == raw
    assert (_sum(_csv(client.get("/finops/rankings/?by=change&top=100&export=ranking")), "change")
            == raw - oct_raw)

    # History: each month's total, and the compared period's.
    for rows in _both(client, f"/finops/history/?start={MONTHS[0]:%Y-%m}&end=2026-11&export=history"):
        assert [Decimal(str(r["total"])) for r in rows] == [_raw(period=m) for m in MONTHS]
    comp = _csv(client.get("/finops/history/?start=2026-10&end=2026-11&compare_start=2025-11&export=compare"))
    assert [Decimal(r["total_b"]) for r in comp] == [_raw(period=date(2025, 11, 1)), _raw(period=date(2025, 12, 1))]

    # API: totals, every breakdown level, rankings, history.
    assert Decimal(client.get("/api/finops/costs/totals/").json()["effective"]) == raw
    for level in ("domain", "family", "application"):
        body = client.get(f"/api/finops/costs/breakdown/?level={level}&page_size=500").json()
        assert _sum(body["rows"]) == Decimal(body["total"]) == raw, level
    ranked = client.get("/api/finops/costs/rankings/?level=family&top=100").json()["rows"]
    assert _sum(ranked) == raw
    hist = client.get(f"/api/finops/costs/history/?start={MONTHS[0]:%Y-%m}&end=2026-11").json()
    assert [Decimal(t) for t in hist["totals"]] == [_raw(period=m) for m in MONTHS]
    assert Decimal(hist["total"]) == _raw(period__gte=MONTHS[0], period__lte=LAST)


# ---------------------------------------------------------------------------
# The application list, a page at a time
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("sort", ["-effective", "effective", "name", "-name", "-billed", "-share", "-change",
                                  "change", "-change_pct", "change_pct"])
def test_the_application_pages_follow_the_whole_lists_order(loaded, sort):
    whole = costs.breakdown(level="application", period=LAST, sort=sort)
    key = {"name": lambda r: r.name.lower(), "effective": lambda r: r.effective, "share": lambda r: r.effective,
           "billed": lambda r: r.billed, "change": lambda r: r.mom_change,
           "change_pct": lambda r: r.mom_change_pct}[sort.lstrip("-")]
    paged, page = [], 1
    while True:
        chunk = costs.application_rows(period=LAST, sort=sort, page=page, page_size=7)
        assert chunk.count == len(whole) and len(chunk.rows) <= 7
        paged += chunk.rows
        if not chunk.has_next:
            break
        page += 1
    assert chunk.pages == -(-len(whole) // 7)
    # The same rows with the same figures, and the same order of the sorted column (ties may differ).
    by_key = {r.key: r for r in whole}
    assert sorted(r.key for r in paged) == sorted(by_key)
    for r in paged:
        ref = by_key[r.key]
        assert (r.effective, r.billed, r.previous, r.mom_change) == (ref.effective, ref.billed, ref.previous,
                                                                      ref.mom_change)
        assert r.spark == ref.spark and abs(r.share - ref.share) < 1e-12
    assert [key(r) for r in paged] == [key(r) for r in whole]


def test_application_list_pages_on_the_page_and_the_api(loaded, client_for, finops_user, monkeypatch):
    monkeypatch.setattr(costs, "PAGE_SIZE", 10)
    client = client_for(finops_user)
    count = len(costs.breakdown(level="application", period=LAST))
    assert count > 20
    pages = -(-count // 10)
    html = client.get("/finops/applications/?sort=name").content.decode()
    assert html.count('<svg class="spark"') == 10
    assert f"Page 1 of {pages}" in html and "page=2" in html and 'rel="prev"' not in html
    last = client.get(f"/finops/applications/?sort=name&page={pages}").content.decode()
    assert last.count('<svg class="spark"') == count - 10 * (pages - 1)
    assert 'rel="prev"' in last and 'rel="next"' not in last
    # The export holds every row, whatever the page.
    assert len(_csv(client.get("/finops/applications/?page=2&export=applications"))) == count
    for bad in ("page=0", "page=x", f"page={pages + 1}"):
        response = client.get(f"/finops/applications/?{bad}")
        assert response.status_code == 400 and "page" in response.content.decode()

    body = client.get("/api/finops/costs/breakdown/?level=application&page_size=5&page=2&sort=name").json()
    assert body["count"] == count and body["page"] == 2 and body["page_size"] == 5 and len(body["rows"]) == 5
    names = [a.name for a in sorted(costs.breakdown(level="application", period=LAST), key=lambda r: r.name.lower())]
    assert [r["name"] for r in body["rows"]] == names[5:10]
    for bad in ("page=0", "page_size=0", "page_size=501", "page=99"):
        response = client.get(f"/api/finops/costs/breakdown/?level=application&{bad}")
        assert response.status_code == 400 and response.json(), bad
    assert client.get("/api/finops/costs/breakdown/?level=family&page=2").status_code == 400


# ---------------------------------------------------------------------------
# The application view by provider and by service category
# ---------------------------------------------------------------------------
def test_application_view_splits_by_provider_and_category_from_the_aggregates(loaded, client_for, finops_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    app = _spending_app()
    expected: dict[str, dict[str, Decimal]] = {"provider": defaultdict(Decimal), "service_category": defaultdict(Decimal)}
    for r in CostReading.objects.filter(period=LAST, application=app).values("provider", "service_category",
                                                                             "effective_cost"):
        expected["provider"][r["provider"]] += r["effective_cost"]
        expected["service_category"][r["service_category"] or "—"] += r["effective_cost"]
    client = client_for(finops_user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/finops/applications/?application={app.code}")
    assert response.status_code == 200
    assert not [q for q in queries if "finops_costreading" in q["sql"]]
    html = response.content.decode()
    assert 'id="table-providers"' in html and 'id="table-categories"' in html
    assert 'id="finops-chart-providers"' in html and 'id="finops-chart-categories"' in html
    providers = {r["provider"]: Decimal(r["effective"]) for r in
                 _csv(client.get(f"/finops/applications/?application={app.code}&export=providers"))}
    categories = {r["service_category"]: Decimal(r["effective"]) for r in
                  _csv(client.get(f"/finops/applications/?application={app.code}&export=categories"))}
    assert providers == dict(expected["provider"]) and categories == dict(expected["service_category"])
    assert len(providers) > 1


# ---------------------------------------------------------------------------
# Excel: typed cells, user text stays text, bad format refused
# ---------------------------------------------------------------------------
def test_excel_exports_are_typed_and_keep_user_text_as_text(loaded, client_for, finops_user):
    app = _spending_app()
    evil = '=HYPERLINK("http://x","y")'
    Application.objects.filter(pk=app.pk).update(name=evil)
    client = client_for(finops_user)
    response = client.get("/finops/applications/?export=applications&format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.active
    assert sheet.title == "applications"
    header = [c.value for c in sheet[1]]
    name_col = header.index("name") + 1
    effective_col = header.index("effective") + 1
    cells = [row[name_col - 1] for row in sheet.iter_rows(min_row=2) if row[name_col - 1].value == evil]
    assert len(cells) == 1
    cell = cells[0]
    assert cell.data_type == "s" and cell.quotePrefix  # text, never a formula
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    amount = sheet.cell(row=cell.row, column=effective_col)
    assert isinstance(amount.value, (int, float)) and '"EUR"' in amount.number_format
    assert Decimal(str(amount.value)).quantize(CENT) == _raw(period=LAST, application=app).quantize(CENT)
    pct = sheet.cell(row=cell.row, column=header.index("share_pct") + 1)
    assert isinstance(pct.value, float)
    # The same name on the ranking and in the history's header (a column named after the application).
    rank = openpyxl.load_workbook(io.BytesIO(client.get("/finops/rankings/?top=100&export=ranking&format=xlsx").content))
    assert [c for row in rank.active.iter_rows() for c in row if c.value == evil][0].data_type == "s"
    hist = client.get(f"/finops/history/?level=application&key={app.code}&export=history&format=xlsx")
    assert _xlsx(hist)[-1]["total"] is not None
    for bad in ("format=pdf", "format=XLSX"):
        response = client.get(f"/finops/?export=domains&{bad}")
        assert response.status_code == 400 and b"format" in response.content
