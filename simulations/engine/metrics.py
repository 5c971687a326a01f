"""All the metrics of a positions frame in one pass.

``compute_metrics`` validates the positions once, weighs them, classifies
them for the LCR and the NSFR, and assembles the per-position explanation,
the aggregates and a flat summary. Dicts hold only JSON types (str, int,
float, bool, None, lists and dicts of them).

Blocks. Every aggregate is a sum over the rows, and floating-point sums
depend on their order. So a book is weighed in blocks of ``BLOCK_ROWS`` rows:
each block's rows reduce to :class:`BookSums` (counts and sums per exposure
class, product and LCR/NSFR rule, and the totals), the block sums are added
in block order, and the ratios, caps and compositions are computed from that
once. Weighing the blocks one at a time (``weigh_block`` then ``sum_blocks``
and ``metrics_from_sums``), in one process or on several, gives exactly what
``compute_metrics`` gives on the whole frame, without holding the whole book.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
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
    "ccf_rule", "lcr_factor", "lcr_rule", "asf_factor", "rsf_factor", "nsfr_rule", "counterparty_rule",
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


#: Rows per block whose sums are taken together (see the module's docstring).
#: Part of the result: changing it changes the last bits of the aggregates of
#: books larger than one block.
BLOCK_ROWS = 1 << 20

_LEVERAGE_CONSTANTS = ("ccf_floor",)


class SummedRows:
    """LCR or NSFR rows of one or more blocks, reduced to what their composition reads.

    The composition reads ``sums()`` (counts and amounts per rule), the
    catalogue and the rows' counters (int fields, e.g. holdings counted at
    market value), which add up across blocks; per-row arrays are dropped.
    """

    def __init__(self, catalogue: Any, sums: tuple[np.ndarray, ...], counters: dict[str, int]) -> None:
        self.catalogue = catalogue
        self._sums = sums
        self._counters = counters
        for name, value in counters.items():
            setattr(self, name, value)

    @classmethod
    def of(cls, rows: Any) -> "SummedRows":
        counters = {}
        if is_dataclass(rows):
            for f in fields(rows):
                value = getattr(rows, f.name)
                if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                    counters[f.name] = int(value)
        return cls(rows.catalogue, tuple(rows.sums()), counters)

    def sums(self) -> tuple[np.ndarray, ...]:
        return self._sums

    def __add__(self, other: "SummedRows") -> "SummedRows":
        return SummedRows(
            self.catalogue,
            tuple(a + b for a, b in zip(self._sums, other._sums, strict=True)),
            {name: value + other._counters[name] for name, value in self._counters.items()},
        )


@dataclass(frozen=True)
class BookSums:
    """What the aggregates read of a block of rows (or of several, added in order)."""

    n_positions: int
    n_defaulted: int
    side_counts: np.ndarray
    by_class: dict[str, np.ndarray]
    by_product: dict[str, np.ndarray]
    totals: dict[str, float]
    exposure: dict[str, float]
    lcr: SummedRows
    nsfr: SummedRows

    def __add__(self, other: "BookSums") -> "BookSums":
        exposure = {
            key: value if key in _LEVERAGE_CONSTANTS else value + other.exposure[key]
            for key, value in self.exposure.items() if key != "total"
        }
        # The total is the sum of its components, as leverage_exposure writes it.
        exposure["total"] = sum(v for k, v in exposure.items() if k not in _LEVERAGE_CONSTANTS)
        return BookSums(
            n_positions=self.n_positions + other.n_positions,
            n_defaulted=self.n_defaulted + other.n_defaulted,
            side_counts=self.side_counts + other.side_counts,
            by_class={k: v + other.by_class[k] for k, v in self.by_class.items()},
            by_product={k: v + other.by_product[k] for k, v in self.by_product.items()},
            totals={k: v + other.totals[k] for k, v in self.totals.items()},
            exposure={k: exposure[k] for k in self.exposure},
            lcr=self.lcr + other.lcr,
            nsfr=self.nsfr + other.nsfr,
        )


def sum_blocks(blocks: Sequence[BookSums]) -> BookSums:
    """The sums of a book from those of its blocks, given in block order."""
    if not blocks:
        raise ValueError("no block to sum")
    total = blocks[0]
    for block in blocks[1:]:
        total = total + block
    return total


def _weigh(canonical: pd.DataFrame, settings: RegulatorySettings) -> tuple[pd.DataFrame, BookSums]:
    """Explain rows and sums of canonical positions (one block)."""
    a = position_arrays(canonical)
    rwa = rwa_arrays(a, settings)
    lcr_rows = classify_lcr(a, settings)
    nsfr_rows = classify_nsfr(a, rwa.risk_weight, settings)

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

    assets = a.side_mask("asset")
    sums = BookSums(
        n_positions=len(a.product),
        n_defaulted=int(a.defaulted.sum()),
        side_counts=np.bincount(PRODUCT_SIDE_CODE[a.product], minlength=len(SIDES)),
        by_class=_sums(rwa.exposure_class, len(EXPOSURE_CLASSES), ead=rwa.ead, rwa=rwa.rwa),
        by_product=_sums(
            a.product, len(PRODUCT_CODES), notional=a.notional, specific_provision=a.specific_provision,
            ead=rwa.ead, rwa=rwa.rwa,
        ),
        totals={
            "total_assets": float(a.notional[assets].sum()),
            "total_off_balance": float(a.notional[a.side_mask("off_balance")].sum()),
            "total_liabilities": float(a.notional[a.side_mask("liability")].sum()),
            "total_capital_positions": float(a.notional[a.side_mask("capital")].sum()),
            "total_ead": float(rwa.ead.sum()),
            "total_rwa": float(rwa.rwa.sum()),
        },
        exposure=leverage_exposure(a, rwa.ccf, settings),
        lcr=SummedRows.of(lcr_rows),
        nsfr=SummedRows.of(nsfr_rows),
    )
    return explain, sums


def weigh_block(positions: pd.DataFrame, settings: RegulatorySettings = DEFAULT_SETTINGS) -> tuple[pd.DataFrame, BookSums]:
    """Validate and weigh one block of a book: its explain rows and its sums.

    A book's blocks are its rows in runs of ``BLOCK_ROWS`` (the last shorter);
    their sums, added in order by :func:`sum_blocks`, give
    :func:`metrics_from_sums` exactly the figures of :func:`compute_metrics`.
    """
    canonical = validate_positions(positions, as_of=settings.as_of_date)
    return _weigh(canonical.reset_index(drop=True), settings)


def metrics_from_sums(
    sums: BookSums,
    capital: CapitalStack,
    settings: RegulatorySettings = DEFAULT_SETTINGS,
    explain: pd.DataFrame | None = None,
) -> MetricsResult:
    """The aggregates, compositions and summary of a book from its sums (``explain`` as given)."""
    if not isinstance(capital, CapitalStack):
        raise ValueError(f"capital must be a CapitalStack (see validate_capital), got {type(capital).__name__}")
    lcr = lcr_composition(sums.lcr)
    nsfr = nsfr_composition(sums.nsfr)
    total_rwa = sums.totals["total_rwa"]
    capital_result = compute_capital(capital, total_rwa, sums.exposure, settings)

    by_class = sums.by_class
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

    by_product = sums.by_product
    present = np.flatnonzero(by_product["count"])
    stats_by_product = pd.DataFrame(
        {
            "product": [PRODUCT_CODES[i] for i in present],
            "side": [PRODUCTS[i].side for i in present],
            **{name: by_product[name][present] for name in
               ("count", "notional", "specific_provision", "ead", "rwa")},
        }
    )

    side_counts = sums.side_counts
    total_assets = sums.totals["total_assets"]
    ratios = capital_result["ratios"]
    summary: dict[str, Any] = {
        "n_positions": sums.n_positions,
        **{f"n_{side}": int(side_counts[i]) for i, side in enumerate(SIDES)},
        "n_defaulted": sums.n_defaulted,
        "total_assets": total_assets,
        "total_off_balance": sums.totals["total_off_balance"],
        "total_liabilities": sums.totals["total_liabilities"],
        "total_capital_positions": sums.totals["total_capital_positions"],
        "total_ead": sums.totals["total_ead"],
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
        explain=explain if explain is not None else pd.DataFrame(columns=list(EXPLAIN_COLUMNS)),
        summary=summary,
        rwa_by_class=rwa_by_class,
        stats_by_product=stats_by_product,
        lcr=lcr,
        nsfr=nsfr,
        capital=capital_result,
    )


def compute_metrics(
    positions: pd.DataFrame,
    capital: CapitalStack,
    settings: RegulatorySettings = DEFAULT_SETTINGS,
    *,
    block_rows: int | None = None,
) -> MetricsResult:
    """Validate ``positions`` and compute RWA, LCR, NSFR, capital and leverage.

    The sums are taken over blocks of ``block_rows`` rows (default
    :data:`BLOCK_ROWS`), then over the blocks in order.
    """
    if not isinstance(capital, CapitalStack):
        raise ValueError(f"capital must be a CapitalStack (see validate_capital), got {type(capital).__name__}")
    block_rows = BLOCK_ROWS if block_rows is None else int(block_rows)
    if block_rows < 1:
        raise ValueError(f"block_rows must be positive, got {block_rows}")
    canonical = validate_positions(positions, as_of=settings.as_of_date)
    if len(canonical) <= block_rows:
        explain, sums = _weigh(canonical, settings)
        return metrics_from_sums(sums, capital, settings, explain)
    explains: list[pd.DataFrame] = []
    blocks: list[BookSums] = []
    for start in range(0, len(canonical), block_rows):
        explain, sums = _weigh(canonical.iloc[start:start + block_rows].reset_index(drop=True), settings)
        explains.append(explain)
        blocks.append(sums)
    return metrics_from_sums(sum_blocks(blocks), capital, settings, pd.concat(explains, ignore_index=True))
