"""Template tags of the training run page panel (the logic lives in simulations.training.selectors)."""
from __future__ import annotations

from typing import Any

from django import template

from simulations.training.selectors import training_panel

register = template.Library()


@register.simple_tag
def training_panel_for(run: Any) -> dict[str, Any]:
    return training_panel(run=run)
