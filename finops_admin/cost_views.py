"""FinOps cost views: Dashboard, Domain → Family → Application, Rankings, History.

Thin views over finops_admin.costs (which reads the aggregates only). The month
(`month=YYYY-MM`) and the domain filter (`domain=<code>`) live in the URL so a
link is shareable; every table of a page is also a file (`export=<table>`, with
`format=xlsx` for Excel, CSV otherwise): see finops_admin/cost_export.py.
"""
from __future__ import annotations

from typing import Any, Iterable

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.generic import TemplateView

from accounts import roles
from finops_admin import costs
from finops_admin.cost_export import FORMATS, Table, table_response
from finops_admin.models import Domain
from runs.views.pages import RoleRequiredMixin


class BadInput(Exception):
    pass


class CostViewMixin(RoleRequiredMixin):
    allowed = staticmethod(roles.can_view_finops_costs)
    template_name = ""
    title = ""

    def setup_filters(self, request: HttpRequest) -> None:
        self.errors: list[str] = []
        # An export builds the whole table it names (a paged list: every row), not the page.
        self.export = request.GET.get("export") or ""
        self.periods = costs.available_periods()
        latest = self.periods[0] if self.periods else None
        try:
            self.period = costs.parse_month(request.GET.get("month")) or latest
        except ValueError as exc:
            self.errors.append(str(exc))
            self.period = latest
        code = request.GET.get("domain") or ""
        self.domains = list(Domain.objects.all())  # read once: the filter, the tables and the charts use them
        self.domain: Domain | None = None
        if code:
            self.domain = next((d for d in self.domains if d.code == code), None)
            if self.domain is None:
                self.errors.append(f"No domain {code!r}.")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.setup_filters(request)
        context: dict[str, Any] = {}
        if self.period is not None and not self.errors:
            try:
                context = self.build(request)
            except (ValueError, BadInput) as exc:
                self.errors.append(str(exc))
                context = {}
        tables: list[Table] = context.pop("tables", [])
        if self.export:
            fmt = request.GET.get("format") or "csv"
            if fmt not in FORMATS:
                self.errors.append(f"format is one of {', '.join(FORMATS)}.")
            if self.errors:
                return HttpResponse("\n".join(self.errors), status=400, content_type="text/plain; charset=utf-8")
            for table in tables:
                if table.name == self.export:
                    return table_response(table, fmt=fmt, stem=f"finops-{table.name}-{self.period:%Y-%m}",
                                          currency=costs.currency())
            raise Http404(f"No table {self.export!r} on this page.")
        query = request.GET.copy()
        query.pop("export", None)
        base = self.get_context_data(
            title=self.title, period=self.period, periods=self.periods, domain=self.domain,
            domains=self.domains, errors=self.errors, currency=costs.currency(),
            querystring=query.urlencode(), tables={t.name: t for t in tables}, **context,
        )
        return self.render_to_response(base, status=400 if self.errors else 200)

    def build(self, request: HttpRequest) -> dict[str, Any]:
        raise NotImplementedError


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def row_table(name: str, rows: Iterable[costs.Row]) -> Table:
    return Table(name, ["key", "name", "billed", "effective", "share_pct", "previous", "mom_change", "mom_change_pct"],
                 [[r.key, r.name, r.billed, r.effective, f"{r.share * 100:.2f}", r.previous,
                   "" if r.mom_change is None else r.mom_change, _pct(r.mom_change_pct)] for r in rows])


def ranked_table(name: str, rows: Iterable[costs.Ranked]) -> Table:
    return Table(name, ["rank", "key", "name", "parent", "effective", "previous", "change", "change_pct"],
                 [[r.rank, r.key, r.name, r.parent, r.effective, r.previous, r.change, _pct(r.change_pct)]
                  for r in rows])


def split_table(name: str, column: str, rows: list[dict[str, Any]]) -> Table:
    return Table(name, [column, "billed", "effective", "share_pct"],
                 [[r["name"], r["billed"], r["effective"], f"{r['share'] * 100:.2f}"] for r in rows])


def _split_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"labels": [r["name"] for r in rows], "values": [float(r["effective"]) for r in rows]}


def _page_number(request: HttpRequest) -> int:
    try:
        number = int(request.GET.get("page") or 1)
    except ValueError:
        raise BadInput("page is a number.") from None
    if number < 1:
        raise BadInput("page starts at 1.")
    return number


def _chart(rows: list[costs.Row]) -> dict[str, Any]:
    return {"labels": [r.name for r in rows], "values": [float(r.effective) for r in rows]}


class DashboardView(CostViewMixin, TemplateView):
    template_name = "finops_admin/costs/dashboard.html"
    title = "Dashboard"

    def build(self, request: HttpRequest) -> dict[str, Any]:
        totals = costs.month_totals(period=self.period, domain=self.domain)
        sort = _sort(request)
        by_domain = costs.breakdown(level="domain", period=self.period, sort=sort, domains=self.domains)
        top = costs.rankings(period=self.period, by="cost", domain=self.domain, limit=10)
        movers = costs.rankings(period=self.period, by="change", domain=self.domain, limit=10)
        by_id = {d.code: d.pk for d in self.domains}
        unalloc = costs.unallocated_by_domain(period=self.period, domains=self.domains,
                                              totals={by_id[r.key]: r.effective for r in by_domain if r.key in by_id})
        return {
            "totals": totals, "by_domain": by_domain, "top": top, "movers": movers, "unallocated": unalloc, "sort": sort,
            "fresh": costs.freshness(self.periods[0]),
            "chart": {"kind": "dashboard", "domains": _chart(by_domain),
                      "trend": costs.trend_from_breakdown(by_domain, domains=self.domains, period=self.period)},
            "tables": [
                Table("totals", ["period", "currency", "billed", "effective", "previous_effective", "mom_change",
                                 "mom_change_pct", "last_year_effective", "yoy_change", "yoy_change_pct"],
                      [[f"{totals.period:%Y-%m}", totals.currency, totals.billed, totals.effective,
                        totals.previous_effective, totals.mom_change, _pct(totals.mom_change_pct),
                        totals.last_year_effective, totals.yoy_change, _pct(totals.yoy_change_pct)]]),
                row_table("domains", by_domain), ranked_table("top", top), ranked_table("movers", movers),
                Table("unallocated", ["domain", "effective", "unallocated", "share_pct"],
                      [[u["code"], u["total"], u["unallocated"], f"{u['share'] * 100:.2f}"] for u in unalloc]),
            ],
        }


def _sort(request: HttpRequest) -> str:
    sort = request.GET.get("sort") or "-effective"
    return sort if sort.lstrip("-") in costs.SORTS else "-effective"


class DomainView(CostViewMixin, TemplateView):
    """Without a domain: every domain; with `domain=`: that domain's families."""

    template_name = "finops_admin/costs/level.html"
    title = "Domain view"

    def build(self, request: HttpRequest) -> dict[str, Any]:
        sort = _sort(request)
        if self.domain is None:
            rows = costs.breakdown(level="domain", period=self.period, sort=sort, domains=self.domains)
            return {"rows": rows, "child_level": "domain", "crumbs": [], "heading": "All domains",
                    "chart": {"kind": "bars", **_chart(rows)}, "sort": sort, "tables": [row_table("domains", rows)]}
        rows = costs.breakdown(level="family", period=self.period, parent=self.domain, sort=sort)
        totals = costs.month_totals(period=self.period, domain=self.domain)
        return {"rows": rows, "child_level": "family", "totals": totals, "heading": self.domain.name,
                "crumbs": [("Domains", None)], "sort": sort, "chart": {"kind": "bars", **_chart(rows)},
                "tables": [row_table("families", rows)]}


class FamilyView(CostViewMixin, TemplateView):
    """With `family=<id>`: its applications; without: the families (of the domain filter, if any)."""

    template_name = "finops_admin/costs/level.html"
    title = "Family view"

    def build(self, request: HttpRequest) -> dict[str, Any]:
        sort = _sort(request)
        family_id = request.GET.get("family")
        if not family_id:
            rows = costs.breakdown(level="family", period=self.period, parent=self.domain, sort=sort)
            return {"rows": rows, "child_level": "family", "heading": "Families", "sort": sort,
                    "crumbs": [], "chart": {"kind": "bars", **_chart(rows[:20])},
                    "tables": [row_table("families", rows)]}
        family = costs.family_get(family_id)
        self.domain = family.domain
        rows = costs.breakdown(level="application", period=self.period, parent=family, sort=sort)
        return {"rows": rows, "child_level": "application", "family": family, "heading": family.name,
                "sort": sort, "crumbs": [("domain", family.domain)], "chart": {"kind": "bars", **_chart(rows[:20])},
                "tables": [row_table("applications", rows)]}


class ApplicationView(CostViewMixin, TemplateView):
    """With `application=<code>`: its monthly history; without: the applications (of the domain filter)."""

    template_name = "finops_admin/costs/application.html"
    title = "Application view"

    def build(self, request: HttpRequest) -> dict[str, Any]:
        sort = _sort(request)
        code = request.GET.get("application")
        if not code:
            if self.export:
                every = costs.application_rows(period=self.period, domain=self.domain, sort=sort, page_size=None,
                                               spark=False)
                return {"tables": [row_table("applications", every.rows)]}
            page = costs.application_rows(period=self.period, domain=self.domain, sort=sort,
                                          page=_page_number(request), page_size=costs.PAGE_SIZE)
            return {"rows": page.rows, "page": page, "sort": sort, "tables": [row_table("applications", page.rows)]}
        app = costs.application_get(code)
        self.domain = app.domain
        months = costs.application_history(application=app, period=self.period)
        by_service = costs.application_services(application=app, period=self.period)
        by_provider = costs.services_split(by_service, "provider")
        by_category = costs.services_split(by_service, "service_category")
        return {
            "application": app, "months": months, "by_service": by_service, "by_provider": by_provider,
            "by_category": by_category, "sort": sort,
            "chart": {"kind": "application", "labels": [f"{m['period']:%Y-%m}" for m in months],
                      "series": [{"name": app.code, "values": [float(m["effective"]) for m in months]}],
                      "providers": _split_chart(by_provider), "categories": _split_chart(by_category)},
            "tables": [
                Table("history", ["period", "billed", "effective"],
                      [[f"{m['period']:%Y-%m}", m["billed"], m["effective"]] for m in months]),
                split_table("providers", "provider", by_provider),
                split_table("categories", "service_category", by_category),
                Table("services", ["provider", "service_category", "billed", "effective"],
                      [[s["provider"], s["service_category"], s["billed"], s["effective"]] for s in by_service]),
            ],
        }


class RankingsView(CostViewMixin, TemplateView):
    template_name = "finops_admin/costs/rankings.html"
    title = "Rankings"

    def build(self, request: HttpRequest) -> dict[str, Any]:
        by = request.GET.get("by") or "cost"
        level = request.GET.get("level") or "application"
        if level not in ("application", "family"):
            raise BadInput("level is application or family.")
        try:
            top = int(request.GET.get("top") or 10)
        except ValueError:
            raise BadInput("top is a number.") from None
        if top not in costs.TOP_N:
            raise BadInput(f"top is one of {', '.join(map(str, costs.TOP_N))}.")
        rows = costs.rankings(period=self.period, by=by, level=level, domain=self.domain, limit=top)
        return {"rows": rows, "by": by, "level": level, "top": top, "top_choices": costs.TOP_N,
                "rankings": costs.RANKINGS, "tables": [ranked_table("ranking", rows)]}


class HistoryView(CostViewMixin, TemplateView):
    """A range of months for a selection (domains, families or applications); optionally a second range."""

    template_name = "finops_admin/costs/history.html"
    title = "History"

    def build(self, request: HttpRequest) -> dict[str, Any]:
        level = request.GET.get("level") or "domain"
        end = costs.parse_month(request.GET.get("end")) or self.period
        start = costs.parse_month(request.GET.get("start")) or costs.add_months(end, -11)
        keys = request.GET.getlist("key")
        if self.domain is not None and level == "domain" and not keys:
            keys = [self.domain.code]
        data = costs.history(start=start, end=end, level=level, keys=keys)
        context: dict[str, Any] = {"level": level, "start": start, "end": end, "keys": keys, "data": data}
        tables = [Table("history", ["period", *[s["name"] for s in data["series"]], "total"],
                        [[f"{m:%Y-%m}", *[s["values"][i] for s in data["series"]], data["totals"][i]]
                         for i, m in enumerate(data["months"])])]
        cmp_start = costs.parse_month(request.GET.get("compare_start"))
        if cmp_start:
            cmp_end = costs.add_months(cmp_start, len(data["months"]) - 1)
            other = costs.history(start=cmp_start, end=cmp_end, level=level, keys=keys)
            delta, pct = costs.change(data["total"], other["total"])
            context["compare"] = {"start": cmp_start, "end": cmp_end, "data": other, "change": delta, "pct": pct}
            tables.append(Table("compare", ["period_a", "total_a", "period_b", "total_b", "change"],
                                [[f"{a:%Y-%m}", data["totals"][i], f"{b:%Y-%m}", other["totals"][i],
                                  data["totals"][i] - other["totals"][i]]
                                 for i, (a, b) in enumerate(zip(data["months"], other["months"]))]))
        context["chart"] = {"kind": "history", "labels": [f"{m:%Y-%m}" for m in data["months"]],
                            "series": [{"name": s["name"], "values": [float(v) for v in s["values"]]}
                                       for s in data["series"]]}
        context["tables"] = tables
        return context


def drill_url(level: str, key: str, request_query: dict[str, str]) -> str:
    """The page one level down from a row (used by the templates through the `drill` filter)."""
    from urllib.parse import urlencode

    names = {"domain": ("finops_costs:domain", "domain"), "family": ("finops_costs:family", "family"),
             "application": ("finops_costs:application", "application")}
    url, param = names[level]
    query = {k: v for k, v in request_query.items() if k in ("month",)}
    query[param] = key
    return f"{reverse(url)}?{urlencode(query)}"

