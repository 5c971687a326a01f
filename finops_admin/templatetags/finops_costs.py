"""Formatting for the FinOps cost views: money with its currency, signed changes, drill-down links."""
from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse

register = template.Library()

PAGES = {"domain": ("finops_costs:domain", "domain"), "family": ("finops_costs:family", "family"),
         "application": ("finops_costs:application", "application")}


def _grouped(value: Decimal | float, places: int = 2, signed: bool = False) -> str:
    text = f"{value:+,.{places}f}" if signed else f"{value:,.{places}f}"
    return text.replace(",", "\u202f")  # a narrow no-break space between thousands


@register.filter
def money(value: Any, currency: str = "EUR") -> str:
    """1234567.891 → '1 234 567.89 EUR'; empty for None."""
    if value is None or value == "":
        return "—"
    return f"{_grouped(Decimal(value))} {currency}"


@register.filter
def money_change(value: Any, currency: str = "EUR") -> str:
    if value is None or value == "":
        return "—"
    return f"{_grouped(Decimal(value), signed=True)} {currency}"


@register.filter
def pct(value: Any, places: int = 1) -> str:
    """A percentage already in percent (12.3 → '+12.3 %'); '—' when there is nothing to compare with."""
    if value is None or value == "":
        return "—"
    return f"{float(value):+.{places}f} %"


@register.filter
def share(value: Any) -> str:
    """A fraction (0.123 → '12.3 %')."""
    return f"{float(value or 0) * 100:.1f} %"


@register.filter
def trend(value: Any) -> str:
    """A CSS class for a change: up (costs more), down (costs less) or flat."""
    if value is None or value == "" or value == 0:
        return "flat"
    return "up" if value > 0 else "down"


@register.simple_tag
def drill(level: str, key: str, month: Any = None) -> str:
    """The page one level down for a row (the month kept)."""
    url, param = PAGES[level]
    query = {param: key}
    if month:
        query["month"] = f"{month:%Y-%m}"
    return f"{reverse(url)}?{urlencode(query)}"


@register.simple_tag(takes_context=True)
def with_query(context: Any, **changes: Any) -> str:
    """The current query string with some parameters changed ('' removes one)."""
    query = context["request"].GET.copy()
    query.pop("export", None)
    for key, value in changes.items():
        if value in ("", None):
            query.pop(key, None)
        else:
            query[key] = value
    return "?" + query.urlencode()


@register.simple_tag
def spark_points(values: list[float], width: int = 96, height: int = 20) -> str:
    """An SVG polyline's points for a 12-month sparkline (drawn server-side: no script needed)."""
    if not values:
        return ""
    top, bottom = max(values), min(values)
    span = (top - bottom) or 1.0
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - (v - bottom) / span * (height - 2) - 1:.1f}"
                    for i, v in enumerate(values))


@register.simple_tag(takes_context=True)
def sort_query(context: Any, column: str, first: str = "-") -> str:
    """The link of a sortable column's heading: sorted by it (descending first, or ascending for names),
    the other way round when it already is; back to the first page."""
    current = context.get("sort") or ""
    descending = f"-{column}"
    if current == descending:
        target = column
    elif current == column:
        target = descending
    else:
        target = descending if first == "-" else column
    return with_query(context, sort=target, page="")


@register.simple_tag(takes_context=True)
def sort_mark(context: Any, column: str) -> str:
    """▼ or ▲ beside the heading the table is sorted by."""
    current = context.get("sort") or ""
    if current.lstrip("-") != column:
        return ""
    return "▼" if current.startswith("-") else "▲"
