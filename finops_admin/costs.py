"""Reads of the FinOps cost views: totals, breakdowns, rankings, history, freshness.

Every read here goes through the aggregates (finops_admin/aggregates.py models:
materialized views on PostgreSQL, tables on SQLite), never through the raw
readings, so a page costs a few small indexed queries whatever the data volume.
Amounts are the effective cost unless named billed; a month is a `date` on its
first day.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.db.models import Count, ExpressionWrapper, F, FloatField, Max, Sum, Value
from django.db.models.functions import NullIf
from django.http import Http404

from finops_admin.models import (
    Application,
    ApplicationRanking,
    BatchRun,
    CostByApplicationMonth,
    CostByDomainMonth,
    CostByFamilyMonth,
    CostByServiceMonth,
    Domain,
    Family,
)

Level = Literal["domain", "family", "application"]
LEVELS: tuple[str, ...] = ("domain", "family", "application")
RANKINGS: tuple[str, ...] = ("cost", "change", "change_pct")
TOP_N: tuple[int, ...] = (10, 25, 50, 100)
SPARK_MONTHS = 12
MAX_HISTORY_MONTHS = 60
ZERO = Decimal(0)


def currency() -> str:
    """The reporting currency (the batch accepts readings in it; amounts are summed as they are)."""
    return getattr(settings, "FINOPS_REPORTING_CURRENCY", "EUR")


# ---------------------------------------------------------------------------
# Months
# ---------------------------------------------------------------------------
def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def parse_month(text: str | None) -> date | None:
    """'2026-11' → date(2026, 11, 1); ValueError for anything else (an empty value is None)."""
    if not text:
        return None
    try:
        year, month = (int(part) for part in str(text).split("-")[:2])
        if len(str(text)) != 7 or not 1 <= month <= 12 or not 1900 <= year <= 9999:
            raise ValueError
        return date(year, month, 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a month (YYYY-MM).") from None


def latest_period() -> date | None:
    """The last month the aggregates hold (the default month of every view)."""
    return CostByDomainMonth.objects.aggregate(m=Max("period"))["m"]


def available_periods() -> list[date]:
    """Every month the aggregates hold, the last first (no default ordering: it would join the domains)."""
    return list(CostByDomainMonth.objects.order_by("-period").values_list("period", flat=True).distinct())


def months_between(start: date, end: date) -> list[date]:
    out, month = [], start
    while month <= end:
        out.append(month)
        month = add_months(month, 1)
    return out


def change(current: Decimal, previous: Decimal | None) -> tuple[Decimal | None, float | None]:
    """Absolute and relative change (None where there is nothing to compare with)."""
    if previous is None:
        return None, None
    delta = current - previous
    return delta, (float(delta / previous * 100) if previous else None)


# ---------------------------------------------------------------------------
# Selection (domain, family, application) resolved from URL values
# ---------------------------------------------------------------------------
def domain_get(code: str) -> Domain:
    domain = Domain.objects.filter(code=code).first()
    if domain is None:
        raise Http404(f"No domain {code!r}.")
    return domain


def family_get(family_id: Any) -> Family:
    try:
        family = Family.objects.select_related("domain").filter(pk=int(family_id)).first()
    except (TypeError, ValueError):
        family = None
    if family is None:
        raise Http404("No such family.")
    return family


def application_get(code: str) -> Application:
    app = Application.objects.select_related("domain", "family").filter(code=code).first()
    if app is None:
        raise Http404(f"No application {code!r}.")
    return app


# ---------------------------------------------------------------------------
# Totals
# ---------------------------------------------------------------------------
@dataclass
class Totals:
    period: date
    currency: str
    billed: Decimal
    effective: Decimal
    previous_effective: Decimal | None
    last_year_effective: Decimal | None
    mom_change: Decimal | None
    mom_change_pct: float | None
    yoy_change: Decimal | None
    yoy_change_pct: float | None
    readings: int


def month_totals(*, period: date, domain: Domain | None = None) -> Totals:
    """Billed and effective cost of a month, with its change against last month and a year before."""
    prev, last_year = add_months(period, -1), add_months(period, -12)
    qs = CostByDomainMonth.objects.filter(period__in=[period, prev, last_year])
    if domain is not None:
        qs = qs.filter(domain=domain)
    rows = {r["period"]: r for r in qs.values("period").annotate(
        b=Sum("billed_cost"), e=Sum("effective_cost"), n=Sum("readings")).order_by()}
    cur = rows.get(period) or {"b": ZERO, "e": ZERO, "n": 0}
    p = rows[prev]["e"] if prev in rows else None
    y = rows[last_year]["e"] if last_year in rows else None
    mom, mom_pct = change(cur["e"], p)
    yoy, yoy_pct = change(cur["e"], y)
    return Totals(period, currency(), cur["b"] or ZERO, cur["e"] or ZERO, p, y, mom, mom_pct, yoy, yoy_pct,
                  int(cur["n"] or 0))


# ---------------------------------------------------------------------------
# Breakdown by level, with share, change and a 12-month sparkline
# ---------------------------------------------------------------------------
@dataclass
class Row:
    level: str
    key: str  # what the URL names: a domain or application code, a family id
    name: str
    billed: Decimal
    effective: Decimal
    share: float
    previous: Decimal
    mom_change: Decimal | None
    mom_change_pct: float | None
    spark: list[float] = field(default_factory=list)
    is_unallocated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level, "key": self.key, "name": self.name, "billed": str(self.billed),
            "effective": str(self.effective), "share": round(self.share, 4), "previous": str(self.previous),
            "mom_change": None if self.mom_change is None else str(self.mom_change),
            "mom_change_pct": None if self.mom_change_pct is None else round(self.mom_change_pct, 2),
            "spark": self.spark, "is_unallocated": self.is_unallocated,
        }


def _children(level: str, parent: Domain | Family | None, domains: list[Domain] | None = None):
    """(aggregate queryset, grouping column, {id: (key, name, unallocated)}) of a level's rows."""
    if level == "domain":
        names = {d.pk: (d.code, d.name, False) for d in (Domain.objects.all() if domains is None else domains)}
        return CostByDomainMonth.objects.all(), "domain_id", names
    if level == "family":
        qs, fam = CostByFamilyMonth.objects.all(), Family.objects.all()
        if parent is not None:
            qs, fam = qs.filter(domain=parent), fam.filter(domain=parent)
        return qs, "family_id", {f.pk: (str(f.pk), f.name, f.is_unallocated) for f in fam}
    if level == "application":
        qs, apps = CostByApplicationMonth.objects.all(), Application.objects.all()
        if isinstance(parent, Family):
            qs, apps = qs.filter(family=parent), apps.filter(family=parent)
        elif isinstance(parent, Domain):
            qs, apps = qs.filter(domain=parent), apps.filter(domain=parent)
        names = {a.pk: (a.code, a.name, a.is_unallocated) for a in apps.only("code", "name", "is_unallocated")}
        return qs, "application_id", names
    raise ValueError(f"Unknown level {level!r}.")


def breakdown(*, level: str, period: date, parent: Domain | Family | None = None,
              sort: str = "-effective", domains: list[Domain] | None = None) -> list[Row]:
    """The children at `level` (under `parent`) for `period`: one grouped query over 12 months
    (`domains`: the domains already read, for the domain level)."""
    qs, column, names = _children(level, parent, domains)
    first = add_months(period, -(SPARK_MONTHS - 1))
    months = months_between(first, period)
    index = {m: i for i, m in enumerate(months)}
    series: dict[int, list[Decimal]] = {}
    billed: dict[int, Decimal] = {}
    for r in (qs.filter(period__gte=first, period__lte=period).values(column, "period")
              .annotate(b=Sum("billed_cost"), e=Sum("effective_cost")).order_by()):
        key = r[column]
        series.setdefault(key, [ZERO] * len(months))[index[r["period"]]] = r["e"] or ZERO
        if r["period"] == period:
            billed[key] = r["b"] or ZERO
    total = sum((s[-1] for s in series.values()), ZERO)
    rows = []
    for key, values in series.items():
        if values[-1] == 0 and values[-2] == 0 and key not in billed:
            continue  # nothing this month nor last: not a child of this month
        code, name, unallocated = names.get(key, (str(key), f"#{key}", False))
        mom, mom_pct = change(values[-1], values[-2])
        rows.append(Row(level, code, name, billed.get(key, ZERO), values[-1],
                        float(values[-1] / total) if total else 0.0, values[-2], mom, mom_pct,
                        [float(v) for v in values], unallocated))
    return sort_rows(rows, sort)


SORTS = {"name": lambda r: r.name.lower(), "effective": lambda r: r.effective, "billed": lambda r: r.billed,
         "share": lambda r: r.share, "change": lambda r: r.mom_change or ZERO,
         "change_pct": lambda r: r.mom_change_pct if r.mom_change_pct is not None else float("-inf")}


def sort_rows(rows: list[Row], sort: str) -> list[Row]:
    name = sort.lstrip("-")
    if name not in SORTS:
        name, sort = "effective", "-effective"
    return sorted(rows, key=SORTS[name], reverse=sort.startswith("-"))


# ---------------------------------------------------------------------------
# Applications of a month, a page at a time (sorted and cut by the database)
# ---------------------------------------------------------------------------
PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


@dataclass
class Page:
    rows: list[Row]
    number: int
    page_size: int
    count: int
    total: Decimal  # effective cost of every row of the list, not only this page's (shares are of it)

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.page_size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def _ranking_order(sort: str) -> list[Any]:
    """ORDER BY of the ranking aggregate for a breakdown sort (the same order as sort_rows)."""
    name, descending = sort.lstrip("-"), sort.startswith("-")
    if name not in SORTS:
        name, descending = "effective", True
    if name == "change_pct":
        # No previous cost: no relative change; such rows come last when descending, first when not.
        expr = ExpressionWrapper(Value(1.0) * F("change") / NullIf(F("previous_effective_cost"), Value(0)),
                                 output_field=FloatField())
        first = expr.desc(nulls_last=True) if descending else expr.asc(nulls_first=True)
    else:
        column = {"name": "application__name", "effective": "effective_cost", "share": "effective_cost",
                  "billed": "billed_cost", "change": "change"}[name]
        first = F(column).desc() if descending else F(column).asc()
    return [first, "application_id"]


def application_rows(*, period: date, domain: Domain | None = None, sort: str = "-effective",
                     page: int = 1, page_size: int | None = PAGE_SIZE, spark: bool = True) -> Page:
    """The applications with a cost this month or last (of `domain`), sorted, one page of them.

    Read from the ranking aggregate (one row per application and month, with last
    month's cost and the change), ordered and cut by the database; the 12-month
    series are read for the page's applications only. `page_size=None` is every row
    (an export, without series).
    """
    qs = ApplicationRanking.objects.filter(period=period)
    if domain is not None:
        qs = qs.filter(application__domain=domain)
    summary = qs.aggregate(n=Count("application_id"), total=Sum("effective_cost"))
    count, total = summary["n"] or 0, summary["total"] or ZERO
    size = (count or 1) if page_size is None else max(1, min(page_size, MAX_PAGE_SIZE))
    pages = max(1, -(-count // size))
    if page < 1 or page > pages:
        raise ValueError(f"No page {page} (pages 1 to {pages}).")
    offset = (page - 1) * size
    items = list(qs.select_related("application").order_by(*_ranking_order(sort))[offset:offset + size])
    series: dict[int, list[float]] = {}
    if spark and items:
        first = add_months(period, -(SPARK_MONTHS - 1))
        months = months_between(first, period)
        index = {m: i for i, m in enumerate(months)}
        for r in (CostByApplicationMonth.objects.filter(
                application_id__in=[i.application_id for i in items], period__gte=first, period__lte=period)
                .values("application_id", "period").annotate(e=Sum("effective_cost")).order_by()):
            series.setdefault(r["application_id"], [0.0] * len(months))[index[r["period"]]] = float(r["e"] or 0)
    rows = []
    for item in items:
        app = item.application
        mom, mom_pct = change(item.effective_cost, item.previous_effective_cost)
        rows.append(Row("application", app.code, app.name, item.billed_cost, item.effective_cost,
                        float(item.effective_cost / total) if total else 0.0, item.previous_effective_cost,
                        mom, mom_pct, series.get(item.application_id, [0.0] * SPARK_MONTHS) if spark else [],
                        app.is_unallocated))
    return Page(rows, page, size, count, total)


def trend_from_breakdown(rows: list[Row], *, domains: list[Domain], period: date) -> dict[str, Any]:
    """trend_by_domain() for the 12 months of a domain breakdown, from its sparklines (no query)."""
    labels = months_between(add_months(period, -(SPARK_MONTHS - 1)), period)
    spark = {r.key: r.spark for r in rows}
    return {"labels": [m.strftime("%Y-%m") for m in labels],
            "series": [{"name": d.name, "values": spark.get(d.code, [0.0] * len(labels))} for d in domains]}


def trend_by_domain(*, period: date, months: int = SPARK_MONTHS) -> dict[str, Any]:
    """The months ending at `period`, effective cost per domain (a stacked chart's data)."""
    first = add_months(period, -(months - 1))
    labels = months_between(first, period)
    domains = list(Domain.objects.all())
    data = {d.pk: [0.0] * len(labels) for d in domains}
    pos = {m: i for i, m in enumerate(labels)}
    for r in CostByDomainMonth.objects.filter(period__gte=first, period__lte=period).values(
            "domain_id", "period", "effective_cost"):
        if r["domain_id"] in data:
            data[r["domain_id"]][pos[r["period"]]] = float(r["effective_cost"] or 0)
    return {"labels": [m.strftime("%Y-%m") for m in labels],
            "series": [{"name": d.name, "values": data[d.pk]} for d in domains]}


# ---------------------------------------------------------------------------
# Application detail
# ---------------------------------------------------------------------------
def application_history(*, application: Application, period: date, months: int = SPARK_MONTHS) -> list[dict]:
    first = add_months(period, -(months - 1))
    rows = {r["period"]: r for r in CostByApplicationMonth.objects.filter(
        application=application, period__gte=first, period__lte=period).values("period").annotate(
        b=Sum("billed_cost"), e=Sum("effective_cost")).order_by()}
    return [{"period": m, "billed": rows.get(m, {}).get("b") or ZERO, "effective": rows.get(m, {}).get("e") or ZERO}
            for m in months_between(first, period)]


def application_services(*, application: Application, period: date) -> list[dict[str, Any]]:
    """One application-month by provider and service category, from the aggregate keyed by
    (application, month, …): a handful of rows read by index, whatever the readings' volume."""
    rows = (CostByServiceMonth.objects.filter(application=application, period=period)
            .values("provider", "service_category").annotate(b=Sum("billed_cost"), e=Sum("effective_cost"))
            .order_by("-e", "provider", "service_category"))
    return [{"provider": r["provider"], "service_category": r["service_category"] or "—",
             "billed": r["b"] or ZERO, "effective": r["e"] or ZERO} for r in rows]


def services_split(services: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """application_services() summed by provider or by service category alone (largest first), with shares."""
    if by not in ("provider", "service_category"):
        raise ValueError(f"Unknown split {by!r}.")
    sums: dict[str, list[Decimal]] = {}
    for s in services:
        pair = sums.setdefault(s[by], [ZERO, ZERO])
        pair[0] += s["billed"]
        pair[1] += s["effective"]
    total = sum((p[1] for p in sums.values()), ZERO)
    rows = [{"name": name, "billed": b, "effective": e, "share": float(e / total) if total else 0.0}
            for name, (b, e) in sums.items()]
    return sorted(rows, key=lambda r: (-r["effective"], r["name"]))


# ---------------------------------------------------------------------------
# Rankings
# ---------------------------------------------------------------------------
@dataclass
class Ranked:
    rank: int
    level: str
    key: str
    name: str
    parent: str
    effective: Decimal
    previous: Decimal
    change: Decimal
    change_pct: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "level": self.level, "key": self.key, "name": self.name, "parent": self.parent,
                "effective": str(self.effective), "previous": str(self.previous), "change": str(self.change),
                "change_pct": None if self.change_pct is None else round(self.change_pct, 2)}


def rankings(*, period: date, by: str = "cost", level: str = "application", domain: Domain | None = None,
             limit: int = 10) -> list[Ranked]:
    """Applications (from the ranking aggregate) or families ranked by cost, change or relative change."""
    if by not in RANKINGS:
        raise ValueError(f"Unknown ranking {by!r}.")
    if level == "application":
        qs = ApplicationRanking.objects.filter(period=period).select_related("application__family")
        if domain is not None:
            qs = qs.filter(application__domain=domain)
        if by == "cost":
            qs = qs.order_by("-effective_cost", "application_id")[:limit]
            items = list(qs)
        elif by == "change":
            items = list(qs.order_by("-change", "application_id")[:limit])
        else:
            # Relative change needs a previous cost; ordered by the database (1.0 * keeps SQLite off integer division).
            ratio = ExpressionWrapper(Value(1.0) * F("change") / F("previous_effective_cost"), output_field=FloatField())
            items = list(qs.filter(previous_effective_cost__gt=0).annotate(ratio=ratio)
                         .order_by("-ratio", "application_id")[:limit])
        out = []
        for i, r in enumerate(items, 1):
            _, pct = change(r.effective_cost, r.previous_effective_cost)
            out.append(Ranked(i, "application", r.application.code, r.application.name, r.application.family.name,
                              r.effective_cost, r.previous_effective_cost, r.change, pct))
        return out
    if level != "family":
        raise ValueError(f"Unknown level {level!r}.")
    rows = breakdown(level="family", period=period, parent=domain)
    fam_domain = dict(Family.objects.select_related("domain").values_list("pk", "domain__name"))
    key = {"cost": lambda r: r.effective, "change": lambda r: r.mom_change or ZERO,
           "change_pct": lambda r: r.mom_change_pct if r.mom_change_pct is not None else float("-inf")}[by]
    rows = [r for r in rows if by != "change_pct" or r.mom_change_pct is not None]
    rows.sort(key=key, reverse=True)
    return [Ranked(i, "family", r.key, r.name, fam_domain.get(int(r.key), ""), r.effective, r.previous,
                   r.mom_change or ZERO, r.mom_change_pct) for i, r in enumerate(rows[:limit], 1)]


# ---------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------
def history(*, start: date, end: date, level: str = "domain", keys: list[str] | None = None) -> dict[str, Any]:
    """Effective cost per month of `start`..`end` for each selected item (all domains by default)."""
    if end < start:
        raise ValueError("The range ends before it starts.")
    months = months_between(start, end)
    if len(months) > MAX_HISTORY_MONTHS:
        raise ValueError(f"At most {MAX_HISTORY_MONTHS} months.")
    keys = [k for k in (keys or []) if k]
    if level == "domain":
        items = Domain.objects.all()
        if keys:
            items = items.filter(code__in=keys)
        named = {d.pk: d.name for d in items}
        qs, column = CostByDomainMonth.objects.filter(domain_id__in=named), "domain_id"
    elif level == "family":
        ids = [int(k) for k in keys if str(k).isdigit()]
        named = {f.pk: f"{f.domain.name} › {f.name}" for f in Family.objects.select_related("domain").filter(pk__in=ids)}
        qs, column = CostByFamilyMonth.objects.filter(family_id__in=named), "family_id"
    elif level == "application":
        named = {a.pk: a.code for a in Application.objects.filter(code__in=keys)}
        qs, column = CostByApplicationMonth.objects.filter(application_id__in=named), "application_id"
    else:
        raise ValueError(f"Unknown level {level!r}.")
    pos = {m: i for i, m in enumerate(months)}
    data = {pk: [ZERO] * len(months) for pk in named}
    for r in (qs.filter(period__gte=start, period__lte=end).values(column, "period")
              .annotate(e=Sum("effective_cost")).order_by()):
        data[r[column]][pos[r["period"]]] = r["e"] or ZERO
    series = [{"name": named[pk], "values": data[pk], "total": sum(data[pk], ZERO)} for pk in named]
    totals = [sum((s["values"][i] for s in series), ZERO) for i in range(len(months))]
    return {"months": months, "series": series, "totals": totals, "total": sum(totals, ZERO)}


# ---------------------------------------------------------------------------
# Unallocated share and freshness
# ---------------------------------------------------------------------------
def unallocated_by_domain(*, period: date, domains: list[Domain] | None = None,
                          totals: dict[int, Decimal] | None = None) -> list[dict[str, Any]]:
    """Per domain: its cost, the part in its Unallocated bucket, and that share (`totals`: each
    domain's cost of the month by id, when already read)."""
    if totals is None:
        totals = {r["domain_id"]: r["e"] or ZERO for r in CostByDomainMonth.objects.filter(period=period)
                  .values("domain_id").annotate(e=Sum("effective_cost")).order_by()}
    unalloc = {r["domain_id"]: r["e"] or ZERO for r in CostByFamilyMonth.objects.filter(
        period=period, family__is_unallocated=True).values("domain_id").annotate(e=Sum("effective_cost")).order_by()}
    out = []
    for d in Domain.objects.all() if domains is None else domains:
        total, part = totals.get(d.pk, ZERO), unalloc.get(d.pk, ZERO)
        out.append({"domain": d, "code": d.code, "name": d.name, "total": total, "unallocated": part,
                    "share": float(part / total) if total else 0.0})
    return out


def freshness(latest: date | None = None) -> dict[str, Any]:
    """The last batch run (status, when it ended) and the last month the aggregates hold (`latest`, if known)."""
    last = (BatchRun.objects.select_related("run").order_by("-run__created_at").first())
    return {"latest_period": latest or latest_period(), "run": last.run if last else None}
