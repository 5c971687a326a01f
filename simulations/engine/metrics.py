"""All the metrics of a positions frame in one pass.

``compute_metrics`` validates the positions once, weighs them, classifies
them for the LCR and the NSFR, and assembles the per-position explanation,
the aggregates and a flat summary. Dicts hold only JSON types (str, int,
float, bool, None, lists and dicts of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .capital import compute_capital, leverage_exposure
from .factors import DEFAULT_SETTINGS, RegulatorySettings
from .lcr import classify_lcr, lcr_composition
from .nsfr import classify_nsfr, nsfr_composition
from .rwa import EXPOSURE_CLASSES, rwa_arrays, rwa_frame
from .schema import (
    PRODUCT_CODES,
    PRODUCT_SIDE_CODE,
    PRODUCTS,
    SIDES,
    CapitalStack,
    position_arrays,
    validate_positions,
)

EXPLAIN_COLUMNS: tuple[str, ...] = (
    "position_id", "product", "exposure_class", "notional", "ead", "ccf", "risk_weight", "rwa", "rule",
    "ccf_rule", "lcr_factor", "lcr_rule", "asf_factor", "rsf_factor", "nsfr_rule",
)


@dataclass(frozen=True)
class MetricsResult:
    """Everything computed for one positions frame.

    ``explain``: one row per position (columns :data:`EXPLAIN_COLUMNS`).
    ``summary``: flat dict of headline figures and pass/fail flags.
    ``rwa_by_class``: exposure_class, count, ead, rwa, risk_weight (RWA / EAD).
    ``stats_by_product``: product, side, count, notional, specific_provision, ead, rwa.
    ``lcr``, ``nsfr``, ``capital``: compositions (see the calculators).
    """

    explain: pd.DataFrame
    summary: dict[str, Any]
    rwa_by_class: pd.DataFrame
    stats_by_product: pd.DataFrame
    lcr: dict[str, Any]
    nsfr: dict[str, Any]
    capital: dict[str, Any]


def _sums(codes: np.ndarray, size: int, **columns: np.ndarray) -> dict[str, np.ndarray]:
    """Count and column sums per code (codes < 0 are left out)."""
    kept = codes >= 0
    codes = codes[kept]
    out = {"count": np.bincount(codes, minlength=size)}
    for name, values in columns.items():
        out[name] = np.bincount(codes, weights=values[kept], minlength=size)
    return out


def compute_metrics(
    positions: pd.DataFrame,
    capital: CapitalStack,
    settings: RegulatorySettings = DEFAULT_SETTINGS,
) -> MetricsResult:
    """Validate ``positions`` and compute RWA, LCR, NSFR, capital and leverage."""
    if not isinstance(capital, CapitalStack):
        raise ValueError(f"capital must be a CapitalStack (see validate_capital), got {type(capital).__name__}")
    canonical = validate_positions(positions)
    a = position_arrays(canonical)
    rwa = rwa_arrays(a, settings)
    lcr_rows = classify_lcr(a, settings)
    nsfr_rows = classify_nsfr(a, rwa.risk_weight, settings)

    lcr = lcr_composition(lcr_rows)
    nsfr = nsfr_composition(nsfr_rows)
    total_rwa = float(rwa.rwa.sum())
    exposure = leverage_exposure(a, rwa.ccf, settings)
    capital_result = compute_capital(capital, total_rwa, exposure, settings)

    rwa_table = rwa_frame(canonical, rwa)
    explain = pd.concat(
        [
            canonical[["position_id", "product", "notional"]],
            rwa_table.drop(columns="position_id"),
            lcr_rows.frame(),
            nsfr_rows.frame(),
        ],
        axis=1,
    )[list(EXPLAIN_COLUMNS)]

    by_class = _sums(rwa.exposure_class, len(EXPOSURE_CLASSES), ead=rwa.ead, rwa=rwa.rwa)
    present = np.flatnonzero(by_class["count"])
    rwa_by_class = pd.DataFrame(
        {
            "exposure_class": [EXPOSURE_CLASSES[i] for i in present],
            "count": by_class["count"][present],
            "ead": by_class["ead"][present],
            "rwa": by_class["rwa"][present],
        }
    )
    rwa_by_class["risk_weight"] = np.divide(
        rwa_by_class["rwa"], rwa_by_class["ead"], out=np.full(len(present), np.nan),
        where=rwa_by_class["ead"].to_numpy() > 0,
    )

    by_product = _sums(
        a.product, len(PRODUCT_CODES), notional=a.notional, specific_provision=a.specific_provision,
        ead=rwa.ead, rwa=rwa.rwa,
    )
    present = np.flatnonzero(by_product["count"])
    stats_by_product = pd.DataFrame(
        {
            "product": [PRODUCT_CODES[i] for i in present],
            "side": [PRODUCTS[i].side for i in present],
            **{name: by_product[name][present] for name in
               ("count", "notional", "specific_provision", "ead", "rwa")},
        }
    )

    side_counts = np.bincount(PRODUCT_SIDE_CODE[a.product], minlength=len(SIDES))
    assets = a.side_mask("asset")
    total_assets = float(a.notional[assets].sum())
    ratios = capital_result["ratios"]
    summary: dict[str, Any] = {
        "n_positions": len(a.product),
        **{f"n_{side}": int(side_counts[i]) for i, side in enumerate(SIDES)},
        "n_defaulted": int(a.defaulted.sum()),
        "total_assets": total_assets,
        "total_off_balance": float(a.notional[a.side_mask("off_balance")].sum()),
        "total_liabilities": float(a.notional[a.side_mask("liability")].sum()),
        "total_capital_positions": float(a.notional[a.side_mask("capital")].sum()),
        "total_ead": float(rwa.ead.sum()),
        "total_rwa": total_rwa,
        "rwa_density": total_rwa / total_assets if total_assets > 0 else None,
        "cet1_ratio": ratios["cet1"],
        "tier1_ratio": ratios["tier1"],
        "total_capital_ratio": ratios["total"],
        "leverage_ratio": capital_result["leverage"]["ratio"],
        "hqla": lcr["hqla"]["total"],
        "net_outflows": lcr["net_outflows"],
        "lcr": lcr["ratio"],
        "asf": nsfr["asf"]["total"],
        "rsf": nsfr["rsf"]["total"],
        "nsfr": nsfr["ratio"],
        "capital_minimums_pass": capital_result["minimums_pass"],
        "capital_buffers_pass": capital_result["buffers_pass"],
        "leverage_pass": capital_result["leverage"]["pass"],
        "lcr_pass": lcr["pass"],
        "nsfr_pass": nsfr["pass"],
    }
    summary["all_pass"] = all(
        summary[k] for k in ("capital_buffers_pass", "leverage_pass", "lcr_pass", "nsfr_pass")
    )
    return MetricsResult(
        explain=explain,
        summary=summary,
        rwa_by_class=rwa_by_class,
        stats_by_product=stats_by_product,
        lcr=lcr,
        nsfr=nsfr,
        capital=capital_result,
    )
