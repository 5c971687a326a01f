"""The FinOps cost API (/api/finops/costs/…): totals, breakdown by level, rankings, history.

The same selectors and the same filters (month, domain) as the pages; read only.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from finops_admin import costs
from finops_admin.models import Domain, Family

MONTH = OpenApiParameter("month", str, description="YYYY-MM; the last month loaded when absent.")
DOMAIN = OpenApiParameter("domain", str, description="A domain code (e.g. public): only that domain.")


# Before the first batch has loaded any cost, or for a family or application that does not exist.
NO_COSTS = OpenApiResponse(description="No costs loaded yet, or no such family or application.")


class CanViewCosts(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and roles.can_view_finops_costs(request.user))


def _month(request: Request, name: str = "month", default: date | None = None) -> date:
    try:
        value = costs.parse_month(request.query_params.get(name))
    except ValueError as exc:
        raise ValidationError({name: [str(exc)]}) from None
    value = value or default
    if value is None:
        raise NotFound("No costs loaded yet.")
    return value


def _domain(request: Request) -> Domain | None:
    code = request.query_params.get("domain")
    if not code:
        return None
    domain = Domain.objects.filter(code=code).first()
    if domain is None:
        raise ValidationError({"domain": [f"No domain {code!r}."]})
    return domain


def _paging(request: Request) -> tuple[int, int]:
    errors: dict[str, list[str]] = {}
    values = []
    for name, default, top in (("page", 1, None), ("page_size", costs.PAGE_SIZE, costs.MAX_PAGE_SIZE)):
        try:
            value = int(request.query_params.get(name) or default)
            if value < 1 or (top is not None and value > top):
                raise ValueError
        except ValueError:
            errors[name] = [f"A whole number from 1{f' to {top}' if top else ''}."]
            value = default
        values.append(value)
    if errors:
        raise ValidationError(errors)
    return values[0], values[1]


def _money(value: Any) -> str | None:
    return None if value is None else str(value)


class _CostView(APIView):
    permission_classes = [CanViewCosts]
    http_method_names = ["get", "head", "options"]


TOTALS = inline_serializer("FinopsCostTotals", {
    "period": serializers.CharField(), "currency": serializers.CharField(),
    "billed": serializers.DecimalField(20, 6), "effective": serializers.DecimalField(20, 6),
    "previous_effective": serializers.DecimalField(20, 6, allow_null=True),
    "last_year_effective": serializers.DecimalField(20, 6, allow_null=True),
    "mom_change": serializers.DecimalField(20, 6, allow_null=True),
    "mom_change_pct": serializers.FloatField(allow_null=True),
    "yoy_change": serializers.DecimalField(20, 6, allow_null=True),
    "yoy_change_pct": serializers.FloatField(allow_null=True), "readings": serializers.IntegerField(),
})


class CostTotalsView(_CostView):
    @extend_schema(parameters=[MONTH, DOMAIN], responses={200: TOTALS, 404: NO_COSTS}, summary="Total cost of a month")
    def get(self, request: Request) -> Response:
        """Billed and effective cost of a month, with the change against the previous month and a year before."""
        t = costs.month_totals(period=_month(request, default=costs.latest_period()), domain=_domain(request))
        return Response({
            "period": f"{t.period:%Y-%m}", "currency": t.currency, "billed": _money(t.billed),
            "effective": _money(t.effective), "previous_effective": _money(t.previous_effective),
            "last_year_effective": _money(t.last_year_effective), "mom_change": _money(t.mom_change),
            "mom_change_pct": t.mom_change_pct, "yoy_change": _money(t.yoy_change),
            "yoy_change_pct": t.yoy_change_pct, "readings": t.readings,
        })


ROW = inline_serializer("FinopsCostRow", {
    "level": serializers.CharField(), "key": serializers.CharField(), "name": serializers.CharField(),
    "billed": serializers.DecimalField(20, 6), "effective": serializers.DecimalField(20, 6),
    "share": serializers.FloatField(), "previous": serializers.DecimalField(20, 6),
    "mom_change": serializers.DecimalField(20, 6, allow_null=True),
    "mom_change_pct": serializers.FloatField(allow_null=True),
    "spark": serializers.ListField(child=serializers.FloatField(), help_text="12 months of effective cost."),
    "is_unallocated": serializers.BooleanField(),
})
BREAKDOWN = inline_serializer("FinopsCostBreakdown", {
    "period": serializers.CharField(), "currency": serializers.CharField(), "level": serializers.CharField(),
    "parent": serializers.CharField(allow_null=True),
    "count": serializers.IntegerField(help_text="Rows of the whole list (every page)."),
    "page": serializers.IntegerField(), "pages": serializers.IntegerField(),
    "page_size": serializers.IntegerField(),
    "total": serializers.DecimalField(20, 6, help_text="Effective cost of the whole list: shares are of it."),
    "rows": ROW.__class__(many=True),
})


class CostBreakdownView(_CostView):
    @extend_schema(
        parameters=[MONTH, DOMAIN,
                    OpenApiParameter("level", str, enum=list(costs.LEVELS), description="domain (default), family or application."),
                    OpenApiParameter("family", int, description="A family id: its applications (level application)."),
                    OpenApiParameter("sort", str, description="name, effective, billed, share, change, change_pct; '-' for descending."),
                    OpenApiParameter("page", int, description="The applications of a domain or of every domain come "
                                     "a page at a time (1 by default); other lists are one page."),
                    OpenApiParameter("page_size", int, description=f"Rows per page ({costs.PAGE_SIZE} by default, "
                                     f"at most {costs.MAX_PAGE_SIZE}).")],
        responses={200: BREAKDOWN, 404: NO_COSTS}, summary="Cost by domain, family or application",
    )
    def get(self, request: Request) -> Response:
        """Children at a level for a month: cost, share, month-over-month change, a 12-month series.

        The applications of a domain (or of every domain) are sorted and cut into pages by the
        database; a family's applications, the families and the domains come whole."""
        period = _month(request, default=costs.latest_period())
        level = request.query_params.get("level") or "domain"
        if level not in costs.LEVELS:
            raise ValidationError({"level": [f"One of {', '.join(costs.LEVELS)}."]})
        parent: Any = _domain(request)
        family_id = request.query_params.get("family")
        if family_id:
            if level != "application":
                raise ValidationError({"family": ["Only with level=application."]})
            try:
                parent = costs.family_get(family_id)
            except Http404:
                raise ValidationError({"family": ["No such family."]}) from None
        sort = request.query_params.get("sort") or "-effective"
        number, size = _paging(request)
        if level == "application" and not isinstance(parent, Family):
            try:
                page = costs.application_rows(period=period, domain=parent, sort=sort, page=number, page_size=size)
            except ValueError as exc:
                raise ValidationError({"page": [str(exc)]}) from None
            rows, count, pages, size, total = page.rows, page.count, page.pages, page.page_size, page.total
        else:
            if number != 1:
                raise ValidationError({"page": ["This list is a single page."]})
            rows = costs.breakdown(level=level, period=period, parent=parent if level != "domain" else None, sort=sort)
            count, pages, size = len(rows), 1, max(len(rows), 1)
            total = sum((r.effective for r in rows), costs.ZERO)
        return Response({"period": f"{period:%Y-%m}", "currency": costs.currency(), "level": level,
                         "parent": None if parent is None or level == "domain" else str(parent),
                         "count": count, "page": number, "pages": pages, "page_size": size, "total": str(total),
                         "rows": [r.as_dict() for r in rows]})


RANKED = inline_serializer("FinopsCostRanked", {
    "rank": serializers.IntegerField(), "level": serializers.CharField(), "key": serializers.CharField(),
    "name": serializers.CharField(), "parent": serializers.CharField(),
    "effective": serializers.DecimalField(20, 6), "previous": serializers.DecimalField(20, 6),
    "change": serializers.DecimalField(20, 6), "change_pct": serializers.FloatField(allow_null=True),
})
RANKING = inline_serializer("FinopsCostRanking", {
    "period": serializers.CharField(), "currency": serializers.CharField(), "by": serializers.CharField(),
    "level": serializers.CharField(), "rows": RANKED.__class__(many=True),
})


class CostRankingsView(_CostView):
    @extend_schema(
        parameters=[MONTH, DOMAIN,
                    OpenApiParameter("by", str, enum=list(costs.RANKINGS), description="cost (default), change (amount) or change_pct."),
                    OpenApiParameter("level", str, enum=["application", "family"]),
                    OpenApiParameter("top", int, enum=list(costs.TOP_N), description="How many (default 10).")],
        responses={200: RANKING, 404: NO_COSTS}, summary="Applications or families ranked",
    )
    def get(self, request: Request) -> Response:
        """Ranked by cost, by absolute or by relative month-over-month change."""
        period = _month(request, default=costs.latest_period())
        by = request.query_params.get("by") or "cost"
        level = request.query_params.get("level") or "application"
        errors: dict[str, list[str]] = {}
        if by not in costs.RANKINGS:
            errors["by"] = [f"One of {', '.join(costs.RANKINGS)}."]
        if level not in ("application", "family"):
            errors["level"] = ["application or family."]
        try:
            top = int(request.query_params.get("top") or 10)
            if top not in costs.TOP_N:
                raise ValueError
        except ValueError:
            errors["top"] = [f"One of {', '.join(map(str, costs.TOP_N))}."]
        if errors:
            raise ValidationError(errors)
        rows = costs.rankings(period=period, by=by, level=level, domain=_domain(request), limit=top)
        return Response({"period": f"{period:%Y-%m}", "currency": costs.currency(), "by": by, "level": level,
                         "rows": [r.as_dict() for r in rows]})


HISTORY = inline_serializer("FinopsCostHistory", {
    "currency": serializers.CharField(), "level": serializers.CharField(),
    "months": serializers.ListField(child=serializers.CharField()),
    "series": serializers.ListField(child=serializers.DictField(), help_text="{name, values[], total} each."),
    "totals": serializers.ListField(child=serializers.DecimalField(20, 6)),
    "total": serializers.DecimalField(20, 6),
})


class CostHistoryView(_CostView):
    @extend_schema(
        parameters=[OpenApiParameter("start", str, description="YYYY-MM; 11 months before end when absent."),
                    OpenApiParameter("end", str, description="YYYY-MM; the last month loaded when absent."),
                    OpenApiParameter("level", str, enum=list(costs.LEVELS)),
                    OpenApiParameter("key", str, many=True,
                                     description="Domain codes, family ids or application codes (every domain when absent).")],
        responses={200: HISTORY, 404: NO_COSTS}, summary="Cost by month over a range",
    )
    def get(self, request: Request) -> Response:
        """Effective cost per month of a range, for each selected domain, family or application."""
        end = _month(request, "end", default=costs.latest_period())
        start = _month(request, "start", default=costs.add_months(end, -11))
        level = request.query_params.get("level") or "domain"
        if level not in costs.LEVELS:
            raise ValidationError({"level": [f"One of {', '.join(costs.LEVELS)}."]})
        try:
            data = costs.history(start=start, end=end, level=level, keys=request.query_params.getlist("key"))
        except ValueError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response({
            "currency": costs.currency(), "level": level, "months": [f"{m:%Y-%m}" for m in data["months"]],
            "series": [{"name": s["name"], "values": [str(v) for v in s["values"]], "total": str(s["total"])}
                       for s in data["series"]],
            "totals": [str(v) for v in data["totals"]], "total": str(data["total"]),
        })
