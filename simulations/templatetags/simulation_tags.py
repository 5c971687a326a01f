"""Template helpers of the simulation pages: the run panel's data and number formats."""
from __future__ import annotations

from typing import Any

from django import template

from runs.models import Run
from simulations.selectors import simulation_panel

register = template.Library()


@register.simple_tag
def simulation_panel_for(run: Run) -> dict[str, Any]:
    """`{% simulation_panel_for run as panel %}`: what the simulation panel shows."""
    return simulation_panel(run=run)


@register.filter
def pct(value: Any, digits: int = 2) -> str:
    """0.1234 -> "12.34%"; empty for a missing ratio."""
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value) * 100:.{int(digits)}f}%"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def eur(value: Any) -> str:
    """Whole euros with thin grouping: 1234567.8 -> "1,234,568"."""
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value):,.0f}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def eur_short(value: Any) -> str:
    """Large amounts for cards: 10_388_093_000 -> "10.39 bn"."""
    if value is None or value == "":
        return "—"
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return str(value)
    for size, unit in ((1e12, "tn"), (1e9, "bn"), (1e6, "m")):
        if abs(amount) >= size:
            return f"{amount / size:,.2f} {unit}"
    return f"{amount:,.0f}"


@register.filter
def count(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "—"


@register.filter
def spaced(value: Any) -> str:
    """snake_case codes as words."""
    return str(value).replace("_", " ")


@register.filter
def by_factor(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows named by a factor ("0%", "15%", "100%") in numeric order, not text order
    (the stored documents keep their keys sorted as text: 0 %, 100 %, 15 %)."""

    def number(row: dict[str, Any]) -> float:
        try:
            return float(str(row.get("name", "")).strip().rstrip("%").strip())
        except ValueError:
            return float("inf")  # a name that is not a factor goes last, in its given order

    return sorted(rows, key=number)
