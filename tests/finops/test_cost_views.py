"""FinOps cost views: totals agree across views and with the raw readings, drill-down and back,
rankings, history, CSV and Excel export, roles on pages and API, bad input (see also
test_cost_totals.py: every view against the readings, paging, Excel cells)."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Sum

from accounts.roles import Role
from finops_admin import costs
from finops_admin.generate import generate
from finops_admin.models import Application, ApplicationRanking, CostReading, Domain, Family
from finops_admin.services.catalogue import catalogue_load
from runs.models import RunStatus
from runs.services import run_create

LAST = date(2026, 11, 1)
MONTHS = [costs.add_months(LAST, -i) for i in range(12, -1, -1)]  # 2025-11 … 2026-11: a year-on-year pair


@pytest.fixture
def loaded(finops_dirs: Path, db: Any, make_user, django_capture_on_commit_callbacks) -> Any:
    """Thirteen months of generated costs for the four domains, loaded by one batch (aggregates refreshed)."""
    generate(out=finops_dirs, months=len(MONTHS), applications=24, rows_per_month=120, seed=11, last_month=LAST)
    catalogue_load(path=finops_dirs / "catalogue.csv")
    owner = make_user(Role.FINOPS_ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="finops_batch", params={"periods": ",".join(f"{m:%Y-%m}" for m in MONTHS)}, owner=owner)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error_message if hasattr(run, "error_message") else run.status
    return run


@pytest.fixture
def finops_user(make_user):
    return make_user(Role.FINOPS_USER)


def _raw(**filters: Any) -> Decimal:
    """The raw readings summed (the reference every view must agree with)."""
    return CostReading.objects.filter(**filters).aggregate(s=Sum("effective_cost"))["s"] or Decimal(0)


def _spending_app() -> Application:
    """An allocated application with a cost in the last month."""
    return (ApplicationRanking.objects.filter(period=LAST, effective_cost__gt=0, application__is_unallocated=False)
            .select_related("application").order_by("application__code").first().application)


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# ---------------------------------------------------------------------------
# Selectors agree with the raw readings and with each other
# ---------------------------------------------------------------------------
def test_totals_agree_with_the_raw_readings_at_every_level(loaded):
    period = costs.latest_period()
    assert period == LAST
    totals = costs.month_totals(period=period)
    assert totals.effective == _raw(period=period)
    assert totals.billed == CostReading.objects.filter(period=period).aggregate(s=Sum("billed_cost"))["s"]
    assert totals.previous_effective == _raw(period=costs.add_months(period, -1))
    assert totals.last_year_effective == _raw(period=costs.add_months(period, -12))
    assert totals.mom_change == totals.effective - totals.previous_effective

    domains = costs.breakdown(level="domain", period=period)
    assert sum(r.effective for r in domains) == totals.effective
    assert abs(sum(r.share for r in domains) - 1.0) < 1e-9
    for row in domains:
        domain = Domain.objects.get(code=row.key)
        assert row.effective == _raw(period=period, domain=domain)
        families = costs.breakdown(level="family", period=period, parent=domain)
        assert sum(f.effective for f in families) == row.effective
        for fam in families:
            apps = costs.breakdown(level="application", period=period, parent=Family.objects.get(pk=fam.key))
            assert sum(a.effective for a in apps) == fam.effective == _raw(period=period, family_id=fam.key)
        # The 12-month sparkline ends with this month and the one before.
        assert row.spark[-1] == float(row.effective) and row.spark[-2] == float(row.previous)
        assert row.previous == _raw(period=costs.add_months(period, -1), domain=domain)


def test_history_and_rankings_agree_with_the_breakdown(loaded):
    period = LAST
    hist = costs.history(start=MONTHS[0], end=LAST, level="domain")
    assert [m for m in hist["months"]] == MONTHS
    for i, month in enumerate(MONTHS):
        assert hist["totals"][i] == _raw(period=month)
    top = costs.rankings(period=period, by="cost", limit=100)
    apps = costs.breakdown(level="application", period=period)
    assert [r.key for r in top[:5]] == [a.key for a in apps[:5]]
    assert sum(r.effective for r in top) == sum(a.effective for a in apps)
    movers = costs.rankings(period=period, by="change", limit=10)
    changes = [m.change for m in movers]
    assert changes == sorted(changes, reverse=True)
    relative = costs.rankings(period=period, by="change_pct", limit=10)
    pcts = [r.change_pct for r in relative]
    assert pcts == sorted(pcts, reverse=True)
    public = Domain.objects.get(code="public")
    assert all(Application.objects.get(code=r.key).domain_id == public.pk
               for r in costs.rankings(period=period, domain=public, limit=25))
    fams = costs.rankings(period=period, level="family", by="cost", limit=100)
    assert sum(f.effective for f in fams) == _raw(period=period)


def test_unallocated_share_and_application_detail(loaded):
    rows = costs.unallocated_by_domain(period=LAST)
    for row in rows:
        bucket = Application.objects.get(domain=row["domain"], is_unallocated=True)
        assert row["unallocated"] == _raw(period=LAST, application=bucket)
        assert 0 <= row["share"] <= 1
    app = _spending_app()
    services = costs.application_services(application=app, period=LAST)
    assert sum(s["effective"] for s in services) == _raw(period=LAST, application=app)
    months = costs.application_history(application=app, period=LAST)
    assert len(months) == 12 and months[-1]["effective"] == _raw(period=LAST, application=app)


def test_month_parsing_and_bad_ranges():
    assert costs.parse_month("2026-02") == date(2026, 2, 1)
    assert costs.parse_month("") is None
    for bad in ("2026-13", "2026-1", "abc", "2026-02-01"):
        with pytest.raises(ValueError):
            costs.parse_month(bad)
    with pytest.raises(ValueError):
        costs.history(start=date(2026, 5, 1), end=date(2026, 1, 1))
    with pytest.raises(ValueError):
        costs.history(start=date(2010, 1, 1), end=date(2026, 1, 1))
    assert costs.add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert costs.add_months(date(2026, 12, 1), 1) == date(2027, 1, 1)


# ---------------------------------------------------------------------------
# Pages: drill down and back, exports, filters in the URL
# ---------------------------------------------------------------------------
def test_dashboard_shows_totals_freshness_and_every_table(loaded, client_for, finops_user):
    client = client_for(finops_user)
    response = client.get("/finops/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="total-effective"' in html and " EUR" in html
    assert loaded.run_id in html and "Costs up to 2026-11" in html
    for table in ("domains", "unallocated", "top", "movers"):
        assert f'id="table-{table}"' in html
    assert 'id="finops-chart" type="application/json"' in html
    assert "<script>" not in html.replace('<script src=', '')  # no inline script (CSP)
    # Every table exports as CSV and Excel; a loading notice (static script) waits for slow answers.
    for table in ("totals", "domains", "unallocated", "top", "movers"):
        assert f'id="export-{table}" href="?export={table}"' in html
        assert f'id="export-{table}-xlsx" href="?export={table}&amp;format=xlsx"' in html
    assert 'id="finops-busy" role="status"' in html and "/static/js/finops_costs.js" in html
    # The menu shows the cost views (and not the batch admin) to finops_user.
    assert 'href="/finops/rankings/"' in html and "Admin › Batch Runs" not in html


def test_drill_down_and_back_keeps_the_month(loaded, client_for, finops_user):
    client = client_for(finops_user)
    month = "2026-10"
    domain = Domain.objects.get(code="public")
    html = client.get(f"/finops/domains/?month={month}").content.decode()
    assert f"/finops/domains/?domain=public&amp;month={month}" in html
    html = client.get(f"/finops/domains/?domain=public&month={month}").content.decode()
    family = Family.objects.filter(domain=domain, is_unallocated=False).first()
    assert f"/finops/families/?family={family.pk}&amp;month={month}" in html
    assert 'href="/finops/domains/?month=2026-10">All domains</a>' in html
    html = client.get(f"/finops/families/?family={family.pk}&month={month}").content.decode()
    app = Application.objects.filter(family=family).first()
    assert f"/finops/applications/?application={app.code}&amp;month={month}" in html
    # Back up: the breadcrumb names the domain.
    assert f"/finops/domains/?domain=public&amp;month={month}" in html
    response = client.get(f"/finops/applications/?application={app.code}&month={month}")
    html = response.content.decode()
    assert response.status_code == 200
    assert f"/finops/families/?family={family.pk}&amp;month={month}" in html
    assert 'id="table-services"' in html and 'id="table-history"' in html


def test_csv_exports_match_the_selectors(loaded, client_for, finops_user):
    client = client_for(finops_user)
    rows = _csv(client.get("/finops/?export=domains"))
    assert sum(Decimal(r["effective"]) for r in rows) == _raw(period=LAST)
    totals = _csv(client.get("/finops/?month=2026-10&export=totals"))
    assert totals[0]["period"] == "2026-10" and Decimal(totals[0]["effective"]) == _raw(period=date(2026, 10, 1))
    ranking = _csv(client.get("/finops/rankings/?by=change&top=25&export=ranking"))
    assert len(ranking) == min(25, ApplicationRanking.objects.filter(period=LAST).count()) and ranking[0]["rank"] == "1"
    assert len(_csv(client.get("/finops/rankings/?by=change&top=10&export=ranking"))) == 10
    hist = _csv(client.get("/finops/history/?start=2026-01&end=2026-11&export=history"))
    assert len(hist) == 11 and Decimal(hist[-1]["total"]) == _raw(period=LAST)
    comp = _csv(client.get("/finops/history/?start=2026-06&end=2026-11&compare_start=2025-12&export=compare"))
    assert [r["period_b"] for r in comp] == ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    app = _spending_app()
    services = _csv(client.get(f"/finops/applications/?application={app.code}&export=services"))
    assert sum(Decimal(r["effective"]) for r in services) == _raw(period=LAST, application=app)
    assert client.get("/finops/?export=nope").status_code == 404


def test_csv_export_is_formula_safe(loaded, client_for, finops_user):
    app = _spending_app()
    Application.objects.filter(pk=app.pk).update(name='=HYPERLINK("http://x")')
    rows = _csv(client_for(finops_user).get(f"/finops/applications/?export=applications"))
    names = [r["name"] for r in rows if r["key"] == app.code]
    assert names == ["'=HYPERLINK(\"http://x\")"]


@pytest.mark.parametrize("query", ["month=2026-13", "month=nope", "domain=nowhere", "export=domains&month=x"])
def test_bad_filters_are_a_400_with_a_message(loaded, client_for, finops_user, query):
    response = client_for(finops_user).get(f"/finops/?{query}")
    assert response.status_code == 400


def test_unknown_family_or_application_is_a_404(loaded, client_for, finops_user):
    client = client_for(finops_user)
    assert client.get("/finops/families/?family=999999").status_code == 404
    assert client.get("/finops/families/?family=abc").status_code == 404
    assert client.get("/finops/applications/?application=nope").status_code == 404
    assert client.get("/finops/rankings/?top=7").status_code == 400
    assert client.get("/finops/rankings/?by=nope").status_code == 400


def test_pages_with_no_costs_loaded_say_so(db, client_for, finops_user):
    for url in ("/finops/", "/finops/domains/", "/finops/families/", "/finops/applications/", "/finops/rankings/",
                "/finops/history/"):
        response = client_for(finops_user).get(url)
        assert response.status_code == 200
        assert "No costs loaded yet" in response.content.decode()


# ---------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------
def test_api_agrees_with_the_readings(loaded, client_for, finops_user):
    client = client_for(finops_user)
    totals = client.get("/api/finops/costs/totals/?month=2026-11").json()
    assert Decimal(totals["effective"]) == _raw(period=LAST) and totals["currency"] == "EUR"
    dom = client.get("/api/finops/costs/totals/?domain=open").json()
    assert Decimal(dom["effective"]) == _raw(period=LAST, domain__code="open")
    family = Family.objects.filter(domain__code="open").first()
    body = client.get(f"/api/finops/costs/breakdown/?level=application&family={family.pk}").json()
    assert sum(Decimal(r["effective"]) for r in body["rows"]) == _raw(period=LAST, family=family)
    assert len(body["rows"][0]["spark"]) == 12
    ranking = client.get("/api/finops/costs/rankings/?by=change_pct&top=10&domain=open").json()
    assert len(ranking["rows"]) <= 10 and ranking["by"] == "change_pct"
    hist = client.get("/api/finops/costs/history/?start=2026-01&end=2026-11&level=domain&key=open&key=public").json()
    assert len(hist["months"]) == 11 and len(hist["series"]) == 2
    assert Decimal(hist["totals"][-1]) == _raw(period=LAST, domain__code__in=["open", "public"])


@pytest.mark.parametrize("url", [
    "/api/finops/costs/totals/?month=2026-13",
    "/api/finops/costs/totals/?domain=nowhere",
    "/api/finops/costs/breakdown/?level=planet",
    "/api/finops/costs/breakdown/?level=family&family=1",
    "/api/finops/costs/rankings/?top=7",
    "/api/finops/costs/rankings/?by=size",
    "/api/finops/costs/history/?start=2026-05&end=2026-01",
])
def test_api_bad_input_is_a_400_with_a_message(loaded, client_for, finops_user, url):
    response = client_for(finops_user).get(url)
    assert response.status_code == 400
    assert response.json()


# ---------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------
PAGES = ["/finops/", "/finops/domains/", "/finops/families/", "/finops/applications/", "/finops/rankings/",
         "/finops/history/"]
APIS = ["/api/finops/costs/totals/", "/api/finops/costs/breakdown/", "/api/finops/costs/rankings/",
        "/api/finops/costs/history/"]


@pytest.mark.parametrize("role,allowed", [
    (Role.FINOPS_USER, True), (Role.FINOPS_ADMIN, True), (Role.ADMIN, True),
    (Role.ANALYST, False), (Role.VIEWER, False), (Role.ML_ADMIN, False), (Role.GOVERNANCE_ADMIN, False),
])
def test_roles_on_pages_api_and_menu(loaded, client_for, make_user, role, allowed):
    client = client_for(make_user(role))
    for url in PAGES:
        assert client.get(url).status_code == (200 if allowed else 403), url
    for url in APIS:
        assert client.get(url).status_code == (200 if allowed else 403), url
    home = client.get("/").content.decode()
    assert ('href="/finops/"' in home) is allowed


def test_anonymous_is_sent_to_login_and_refused_by_the_api(loaded, client):
    assert client.get("/finops/").status_code == 302
    assert client.get("/api/finops/costs/totals/").status_code in (401, 403)


def test_a_granted_permission_opens_the_views_to_another_role(loaded, client_for, make_user):
    from django.contrib.auth.models import Permission

    analyst = make_user(Role.ANALYST)
    assert client_for(analyst).get("/finops/").status_code == 403
    analyst.user_permissions.add(Permission.objects.get(codename="view_costreading", content_type__app_label="finops_admin"))
    assert client_for(analyst).get("/finops/").status_code == 200


# ---------------------------------------------------------------------------
# Only the aggregates are read on a page load
# ---------------------------------------------------------------------------
def test_pages_and_api_never_read_the_readings_table(loaded, client_for, finops_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(finops_user)
    family = Family.objects.filter(domain__code="open").first()
    app = _spending_app()
    urls = [*PAGES, "/finops/domains/?domain=open", f"/finops/families/?family={family.pk}",
            "/finops/rankings/?by=change_pct&level=family", "/finops/history/?compare_start=2025-11",
            "/finops/?export=domains", f"/finops/applications/?application={app.code}",
            f"/finops/applications/?application={app.code}&export=services&format=xlsx",
            "/finops/applications/?sort=-change_pct&export=applications", *APIS,
            "/api/finops/costs/breakdown/?level=application&domain=open",
            "/api/finops/costs/breakdown/?level=application&sort=name&page_size=5&page=2"]
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        assert not [q["sql"] for q in queries if "finops_costreading" in q["sql"]], url
        assert len(queries) <= 24, (url, len(queries))  # a fixed handful, whatever the volume
