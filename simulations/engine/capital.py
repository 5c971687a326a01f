"""Capital ratios and the leverage ratio against the Basel minimums.

Only credit RWA is computed by the engine, so the ratios are capital over
credit RWA. Requirements "with buffers" add the conservation buffer and the
countercyclical buffer setting to each minimum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .factors import (
    CAPITAL_REFERENCE,
    CET1_MINIMUM,
    CONSERVATION_BUFFER,
    CONSERVATION_BUFFER_REFERENCE,
    DEFAULT_SETTINGS,
    LEVERAGE_MINIMUM,
    LEVERAGE_REFERENCE,
    TIER1_MINIMUM,
    TOTAL_CAPITAL_MINIMUM,
    RegulatorySettings,
)
from .schema import CapitalStack, PositionArrays, product_code

#: Requirements are sums of percentages; rounding keeps 4.5% + 2.5% equal to
#: the 7% a person computes, so a bank exactly at 7% passes.
_REQUIREMENT_DECIMALS = 10


def leverage_exposure(
    a: PositionArrays, ccf: np.ndarray, settings: RegulatorySettings = DEFAULT_SETTINGS
) -> dict[str, float]:
    """The leverage exposure measure, by component, in EUR.

    On-balance assets net of specific provisions, derivative assets at their
    replacement cost (the SA-CCR add-on is not modelled), and off-balance
    items at their SA CCF floored at the ``leverage_ccf_floor`` setting.
    """
    assets = a.side_mask("asset")
    derivatives = a.product == product_code("derivative_asset")
    off_balance = a.side_mask("off_balance")
    floored_ccf = np.maximum(np.nan_to_num(ccf), settings.leverage_ccf_floor)
    on_balance = float(a.carrying_amount[assets & ~derivatives].sum())
    derivative = float(a.carrying_amount[derivatives].sum())
    off = float((a.notional[off_balance] * floored_ccf[off_balance]).sum())
    return {
        "on_balance": on_balance,
        "derivatives": derivative,
        "off_balance": off,
        "total": on_balance + derivative + off,
        "ccf_floor": settings.leverage_ccf_floor,
    }


def compute_capital(
    capital: CapitalStack,
    total_rwa: float,
    exposure_measure: float | Mapping[str, float],
    settings: RegulatorySettings = DEFAULT_SETTINGS,
) -> dict[str, Any]:
    """Capital and leverage ratios, requirements and pass/fail flags.

    ``exposure_measure`` is the leverage exposure in EUR, or its breakdown as
    returned by :func:`leverage_exposure` (then reported as is). A ratio is
    ``None`` when its denominator is zero; the requirement is then met by
    construction.
    """
    if isinstance(exposure_measure, Mapping):
        exposure = {key: float(value) for key, value in exposure_measure.items()}
    else:
        exposure = {"total": float(exposure_measure)}
    exposure_total = exposure["total"]
    if total_rwa < 0 or exposure_total < 0:
        raise ValueError("total RWA and the leverage exposure measure must not be negative")
    buffers = CONSERVATION_BUFFER + settings.countercyclical_buffer
    amounts = {"cet1": capital.cet1, "tier1": capital.tier1, "total": capital.total}
    minimums = {"cet1": CET1_MINIMUM, "tier1": TIER1_MINIMUM, "total": TOTAL_CAPITAL_MINIMUM}

    ratios: dict[str, float | None] = {
        name: (amount / total_rwa if total_rwa > 0 else None) for name, amount in amounts.items()
    }
    requirements: dict[str, dict[str, float]] = {}
    passes: dict[str, bool] = {}
    shortfall: dict[str, float] = {}
    for name, minimum in minimums.items():
        with_buffers = round(minimum + buffers, _REQUIREMENT_DECIMALS)
        requirements[name] = {"minimum": minimum, "with_buffers": with_buffers}
        ratio = ratios[name]
        passes[f"{name}_minimum"] = ratio is None or ratio >= minimum
        passes[f"{name}_with_buffers"] = ratio is None or ratio >= with_buffers
        shortfall[name] = max(with_buffers * total_rwa - amounts[name], 0.0)

    leverage = capital.tier1 / exposure_total if exposure_total > 0 else None
    leverage_pass = leverage is None or leverage >= LEVERAGE_MINIMUM
    return {
        "capital": {**capital.to_dict(), "tier1": capital.tier1, "total": capital.total},
        "rwa": float(total_rwa),
        "ratios": ratios,
        "requirements": requirements,
        "buffers": {
            "conservation": CONSERVATION_BUFFER,
            "countercyclical": settings.countercyclical_buffer,
            "conservation_reference": CONSERVATION_BUFFER_REFERENCE,
        },
        "requirements_reference": CAPITAL_REFERENCE,
        "pass": passes,
        "shortfall_with_buffers": shortfall,
        "leverage": {
            "exposure_measure": exposure_total,
            "exposure": exposure,
            "ratio": leverage,
            "minimum": LEVERAGE_MINIMUM,
            "reference": LEVERAGE_REFERENCE,
            "pass": leverage_pass,
        },
        "minimums_pass": all(passes[f"{name}_minimum"] for name in minimums) and leverage_pass,
        "buffers_pass": all(passes[f"{name}_with_buffers"] for name in minimums) and leverage_pass,
    }
