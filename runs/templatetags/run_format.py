"""How run values read on the pages: parameters as a person would write them."""
from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

# Identifiers, not quantities: never grouped in thousands.
_NOT_QUANTITIES = {"seed"}


@register.filter
def param_value(value: Any, name: str = "") -> str:
    """yes/no for booleans; 10,000,000,000 for 10000000000.0; 0.12 stays 0.12."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
        value = int(value)
    if isinstance(value, int):
        return str(value) if name in _NOT_QUANTITIES else f"{value:,}"
    if isinstance(value, float):
        return f"{value:.12g}"
    return "—" if value is None else str(value)
