"""Seeded generator of a simulated bank's positions.

``generate_portfolio(seed, n, config)`` is a pure function of its arguments:
the same inputs give the same frame, byte for byte, on any machine. To keep
that promise the generator

* draws only from ``numpy.random.default_rng(seed)`` (PCG64), and only
  uniform doubles, which PCG64 defines bit-exactly;
* shapes them with IEEE-exact arithmetic (+, −, ×, ÷, sqrt, rounding) and
  never with exp/log/pow, whose last bit differs between libm and SIMD
  implementations;
* sums amounts in integer units, so no result depends on a summation order;
* rounds amounts to cents and draws maturities as whole days.

Rows come in blocks, one per product, in catalogue order; ``position_id`` is
``P`` followed by the zero-padded row number.

A slice of the book (``rows=(start, stop)``) is drawn without drawing the rest:
every draw of a block is one uniform per row of the block, so the generator
skips the rows before the slice and after it with PCG64's ``advance`` (a jump,
not a draw) and gives, byte for byte, the rows the whole book has there. The
one figure that needs the whole block, the sum that scales its notionals, is
an integer sum taken over the block in pieces. That is how a large book is
generated part by part, on several workers, with no process holding it whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .config import (
    DEFAULT_CONFIG,
    INFLOW_PRODUCTS,
    SimulationConfig,
)
from .factors import (
    CCF_CLASSES,
    MDB_TABLE,
    PSE_TABLE,
    QUALIFYING_MDB,
    RATING_GRADES,
    SHORT_TERM_MAX_ORIGINAL_MATURITY_YEARS,
    SOVEREIGN_TABLE,
    RatingTable,
)
from .schema import (
    COUNTERPARTY_TYPES,
    HQLA_LEVEL_CODES,
    PRODUCT_BY_CODE,
    PRODUCT_CODES,
    SCRA_GRADE_CODES,
    UNRATED_CODE,
    canonical_frame,
)

#: Relative number of positions per euro of each product: retail books are
#: granular, sovereign and interbank books are a few large positions.
GRANULARITY: dict[str, float] = {
    "cash": 0.01, "central_bank_reserves": 0.01, "sovereign": 0.3, "pse": 0.3, "mdb": 0.2,
    "mdb_qualifying": 0.2, "bank": 0.5, "covered_bond": 0.3, "corporate": 1.0, "sme_corporate": 4.0,
    "retail_regulatory": 30.0, "retail_transactor": 40.0, "retail_other": 30.0, "rre_general": 8.0,
    "rre_income": 4.0, "cre_general": 1.5, "cre_income": 1.5, "defaulted_loan": 6.0, "equity": 0.5,
    "subordinated_debt": 0.3, "other_assets": 0.05, "derivative_asset": 1.0, "off_balance": 6.0,
    "retail_deposit_stable": 10.0, "retail_deposit_less_stable": 10.0, "retail_term_deposit": 8.0,
    "operational_deposit": 1.0, "corporate_deposit": 2.0, "fi_funding": 0.3, "secured_funding": 0.3,
    "long_term_debt": 0.05, "derivative_liability": 1.0, "inflow_retail": 20.0,
    "inflow_wholesale_nonfin": 3.0, "inflow_financial": 1.0, "inflow_reverse_repo": 0.5,
}

#: Share of the rows of a product that are securities eligible as HQLA when
#: their rating allows it.
SECURITY_SHARE: dict[str, float] = {
    "sovereign": 0.6, "pse": 0.5, "mdb": 0.7, "mdb_qualifying": 0.8, "covered_bond": 1.0, "corporate": 0.15,
}
LISTED_EQUITY_SHARE = 0.5
COVERED_BOND_RATED_SHARE = 0.8
LIQUIDITY_FACILITY_SHARE = 0.2
INSURED_SHARE: dict[str, float] = {
    "retail_deposit_stable": 1.0, "retail_deposit_less_stable": 0.3, "retail_term_deposit": 0.7,
    "operational_deposit": 0.1, "corporate_deposit": 0.1,
}
OFF_BALANCE_COUNTERPARTIES: dict[str, float] = {
    "corporate": 0.45, "sme": 0.20, "individual": 0.25, "bank": 0.05, "other_fi": 0.05,
}
CRE_COUNTERPARTIES: dict[str, float] = {"individual": 0.2, "sme": 0.4, "corporate": 0.4}
DERIVATIVE_COUNTERPARTIES: dict[str, float] = {"bank": 0.6, "corporate": 0.3, "other_fi": 0.1}
FI_FUNDING_COUNTERPARTIES: dict[str, float] = {"bank": 0.7, "other_fi": 0.3}
SECURED_FUNDING_COUNTERPARTIES: dict[str, float] = {
    "bank": 0.6, "other_fi": 0.2, "central_bank": 0.1, "sovereign": 0.1,
}
COLLATERAL_MIX: dict[str, float] = {
    "L1": 0.5, "L2A": 0.2, "L2B_RMBS": 0.1, "L2B_CORPORATE": 0.1, "NON_HQLA": 0.1,
}
DEFAULTED_LOAN_MAX_PROVISION = 0.6
DEFAULTED_MORTGAGE_MAX_PROVISION = 0.4
MIN_LTV, MAX_LTV = 0.05, 1.6

_DAYS_PER_YEAR = 365
_SQRT3 = math.sqrt(3.0)  # correctly rounded on every platform
_AMOUNT_UNIT = float(2**20)  # integer units used to sum raw sizes exactly
_PIECE_ROWS = 1 << 20  # uniforms drawn at once when a block is summed without being kept


@dataclass(frozen=True)
class _Block:
    product: str
    count: int
    amount: float  # EUR the block's notionals add up to


# ===========================================================================
# Plan: how many rows and how many euros per product
# ===========================================================================


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = math.fsum(weights.values())
    return {key: value / total for key, value in weights.items() if value > 0}


def _plan(n_positions: int, config: SimulationConfig) -> list[_Block]:
    """Split the balance sheet into product blocks and the rows among them."""
    total = config.total_assets_eur
    capital = config.capital_stack()
    derivatives = total * config.derivative_ratio if config.include_derivatives else 0.0

    amounts: dict[str, float] = {}
    for product, share in _normalised(config.product_mix).items():
        amounts[product] = (total - derivatives) * share
    if derivatives > 0:
        amounts["derivative_asset"] = derivatives
    if config.include_off_balance and config.off_balance_ratio > 0:
        amounts["off_balance"] = total * config.off_balance_ratio
    funding = total - capital.total - derivatives
    for product, share in _normalised(config.liability_mix).items():
        amounts[product] = funding * share
    if derivatives > 0:
        amounts["derivative_liability"] = derivatives
    if config.inflow_ratio > 0:
        for product, share in _normalised(config.inflow_mix).items():
            amounts[product] = total * config.inflow_ratio * share

    capital_rows = {"capital_cet1": capital.cet1, "capital_at1": capital.at1, "capital_tier2": capital.tier2}
    capital_rows = {product: amount for product, amount in capital_rows.items() if amount > 0}

    products = [p for p in PRODUCT_CODES if p in amounts]
    free_rows = n_positions - len(capital_rows)
    if free_rows < len(products):
        raise ValueError(
            f"n_positions must be at least {len(products) + len(capital_rows)} for this configuration "
            f"(one row per product), got {n_positions}"
        )
    # One row per product, then the rest by largest remainder on amount ×
    # granularity; ties go to the earlier product so the split is deterministic.
    weights = np.array([amounts[p] * GRANULARITY[p] for p in products])
    quotas = (free_rows - len(products)) * weights / math.fsum(weights)
    counts = np.floor(quotas).astype(np.int64)
    shortfall = free_rows - len(products) - int(counts.sum())
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[:shortfall]] += 1
    counts += 1

    blocks = {p: _Block(p, int(c), amounts[p]) for p, c in zip(products, counts, strict=True)}
    blocks.update({p: _Block(p, 1, amount) for p, amount in capital_rows.items()})
    return [blocks[p] for p in PRODUCT_CODES if p in blocks]


# ===========================================================================
# Drawing helpers (uniform doubles and exact arithmetic only)
# ===========================================================================


class _Draws:
    """The generator's only source of randomness.

    Every draw takes ``count``, the rows of the whole block, and consumes one
    uniform per row of the block; with a window set, it returns only the
    window's rows and skips the others (``advance``), so the stream is where a
    draw of the whole block would have left it.
    """

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)
        self._window: tuple[int, int, int] | None = None

    def window(self, count: int, lo: int, hi: int) -> None:
        """Return, from now on, rows [lo, hi) of each draw over a block of ``count`` rows."""
        self._window = (count, lo, hi)

    def _random(self, count: int) -> np.ndarray:
        if self._window is None:
            return self._rng.random(count)
        block, lo, hi = self._window
        if count != block:
            raise RuntimeError(f"a draw of {count} rows in a block of {block}: the block's rows are drawn together")
        bits = self._rng.bit_generator
        if lo:
            bits.advance(lo)
        values = self._rng.random(hi - lo)
        if count - hi:
            bits.advance(count - hi)
        return values

    def uniform(self, count: int) -> np.ndarray:
        return self._random(count)

    def bernoulli(self, count: int, probability: float) -> np.ndarray:
        return self._random(count) < probability

    def choice(self, count: int, weights: Mapping[str, float], categories: tuple[str, ...]) -> np.ndarray:
        """Codes (in ``categories``) drawn with the given relative weights."""
        keys = [k for k, w in weights.items() if w > 0]
        cumulative = np.cumsum([weights[k] for k in keys])
        picks = np.searchsorted(cumulative / cumulative[-1], self._random(count), side="right")
        picks = np.minimum(picks, len(keys) - 1)
        codes = np.array([categories.index(k) for k in keys], dtype=np.int16)
        return codes[picks]

    def standard_normal_approx(self, count: int) -> np.ndarray:
        """Irwin–Hall approximation of N(0, 1): a sum of four uniforms, rescaled."""
        total = self._random(count) + self._random(count)
        total += self._random(count)
        total += self._random(count)
        return (total - 2.0) * _SQRT3

    def days(self, count: int, mean_years: float) -> np.ndarray:
        """Whole days, roughly uniform on [1, 2 × mean]."""
        span = max(1.0, 2.0 * mean_years * _DAYS_PER_YEAR - 1.0)
        return 1.0 + np.floor(self._random(count) * span)

    @staticmethod
    def _units(u: np.ndarray) -> np.ndarray:
        # Sizes quantised to 2**-20 sum exactly as integers, whatever the order.
        return np.rint((0.3 + 2.1 * (u * u * u)) * _AMOUNT_UNIT)

    def amounts(self, count: int, total: float) -> np.ndarray:
        """Right-skewed sizes that add up to ``total`` over the block (to within cents)."""
        if self._window is not None and self._window[1] == self._window[2]:
            self._rng.bit_generator.advance(count)  # no row of this block in the window
            return np.empty(0)
        if self._window is None or self._window[1:] == (0, count):
            units = self._units(self._rng.random(count))
            units_sum = int(units.astype(np.int64).sum())
        else:
            # The scale needs the whole block's sum: drawn piece by piece, only the window kept.
            _, lo, hi = self._window
            kept: list[np.ndarray] = []
            units_sum = 0
            for start in range(0, count, _PIECE_ROWS):
                stop = min(start + _PIECE_ROWS, count)
                piece = self._units(self._rng.random(stop - start))
                units_sum += int(piece.astype(np.int64).sum())
                if start < hi and lo < stop:
                    kept.append(piece[max(lo, start) - start:min(hi, stop) - start])
            units = np.concatenate(kept) if kept else np.empty(0)
        scale = total / float(units_sum)
        return np.maximum(np.round(units * scale, 2), 0.01)


# ===========================================================================
# Columns under construction
# ===========================================================================


class _Columns:
    """Preallocated arrays of the positions frame, filled block by block."""

    def __init__(self, n: int) -> None:
        self.product = np.empty(n, dtype=np.int16)
        self.notional = np.empty(n)
        self.specific_provision = np.zeros(n)
        self.rating = np.full(n, UNRATED_CODE, dtype=np.int16)
        self.issuer_rating = np.full(n, UNRATED_CODE, dtype=np.int16)
        self.scra_grade = np.full(n, -1, dtype=np.int16)
        self.counterparty_type = np.full(n, -1, dtype=np.int16)
        self.ltv = np.full(n, np.nan)
        self.original_maturity_years = np.full(n, np.nan)
        self.residual_maturity_years = np.full(n, np.nan)
        self.defaulted = np.zeros(n, dtype=bool)
        self.ccf_class = np.full(n, -1, dtype=np.int16)
        self.liquidity_facility = np.zeros(n, dtype=bool)
        self.hqla_level = np.full(n, HQLA_LEVEL_CODES.index("NON_HQLA"), dtype=np.int16)
        self.insured = np.zeros(n, dtype=bool)
        self.cpty_cet1_ratio = np.full(n, np.nan)
        self.cpty_leverage_ratio = np.full(n, np.nan)

    def frame(self, first: int = 0, book_rows: int | None = None) -> pd.DataFrame:
        """The frame of these rows, the first being row ``first`` of a book of ``book_rows``."""
        n = len(self.product)
        width = max(8, len(str(n if book_rows is None else book_rows)))
        numbers = pa.array(np.arange(first + 1, first + n + 1, dtype=np.int64))
        ids = pc.binary_join_element_wise("P", pc.utf8_lpad(pc.cast(numbers, pa.string()), width, "0"), "")
        return canonical_frame(pd.array(ids, dtype="str"), **vars(self))


def _cpty(code: str) -> int:
    return COUNTERPARTY_TYPES.index(code)


def _hqla(code: str) -> int:
    return HQLA_LEVEL_CODES.index(code)


def _weight_of_grade(table: RatingTable) -> np.ndarray:
    """Risk weight per rating code of a rating table, to tag HQLA securities."""
    return np.array([table.weights[b] for b in table.bucket_of_grade])


_PUBLIC_SECTOR_TABLES: dict[str, np.ndarray] = {
    "sovereign": _weight_of_grade(SOVEREIGN_TABLE),
    "pse": _weight_of_grade(PSE_TABLE),
    "mdb": _weight_of_grade(MDB_TABLE),
    "mdb_qualifying": np.full(len(RATING_GRADES), QUALIFYING_MDB.weight),
}
_GRADE_AA_MINUS = RATING_GRADES.index("AA-")
_GRADE_BBB_MINUS = RATING_GRADES.index("BBB-")


# ===========================================================================
# Filling one block
# ===========================================================================


class _Filler:
    """Draws the attributes of each product block into the columns."""

    def __init__(self, draws: _Draws, columns: _Columns, config: SimulationConfig) -> None:
        self.draws = draws
        self.cols = columns
        self.config = config

    def fill(self, block: _Block, rows: slice) -> None:
        cols, draws, product = self.cols, self.draws, block.product
        count = block.count
        cols.product[rows] = PRODUCT_CODES.index(product)
        cols.notional[rows] = draws.amounts(count, block.amount)
        default_cpty = PRODUCT_BY_CODE[product].default_counterparty
        if default_cpty is not None:
            cols.counterparty_type[rows] = _cpty(default_cpty)
        if product in self.config.maturity_profile:
            self._maturity(rows, count, self.config.maturity_profile[product])
        elif product in INFLOW_PRODUCTS:
            # 30-day contractual inflows: 1 to 30 days.
            days = 1.0 + np.floor(draws.uniform(count) * 30.0)
            cols.residual_maturity_years[rows] = days / _DAYS_PER_YEAR
        handler = getattr(self, f"_fill_{product}", None)
        if handler is not None:
            handler(rows, count)

    # -- shared attributes -------------------------------------------------

    def _maturity(self, rows: slice, count: int, mean_years: float) -> None:
        residual = self.draws.days(count, mean_years)
        seasoning = np.floor(self.draws.uniform(count) * residual)
        self.cols.residual_maturity_years[rows] = residual / _DAYS_PER_YEAR
        self.cols.original_maturity_years[rows] = (residual + seasoning) / _DAYS_PER_YEAR

    def _ratings(self, count: int, sovereign: bool = False) -> np.ndarray:
        distribution = (
            self.config.sovereign_rating_distribution if sovereign else self.config.rating_distribution
        )
        return self.draws.choice(count, distribution, RATING_GRADES)

    def _unrated_bank_details(self, rows: slice, count: int, unrated: np.ndarray) -> None:
        """SCRA grade and capital ratios for the unrated bank rows of a block of ``count`` rows."""
        grades = self.draws.choice(count, self.config.scra_distribution, SCRA_GRADE_CODES)
        cet1 = np.round(0.08 + 0.12 * self.draws.uniform(count), 4)
        leverage = np.round(0.03 + 0.05 * self.draws.uniform(count), 4)
        self.cols.scra_grade[rows] = np.where(unrated, grades, -1)
        self.cols.cpty_cet1_ratio[rows] = np.where(unrated, cet1, np.nan)
        self.cols.cpty_leverage_ratio[rows] = np.where(unrated, leverage, np.nan)

    def _counterparties(self, rows: slice, count: int, mix: Mapping[str, float]) -> np.ndarray:
        """Draw counterparty types and their ratings (SCRA for unrated banks)."""
        cpty = self.draws.choice(count, mix, COUNTERPARTY_TYPES)
        rating = self._ratings(count)
        sme_rated = self.draws.bernoulli(count, self.config.sme_rated_share)
        rated_type = np.isin(cpty, [_cpty("bank"), _cpty("other_fi"), _cpty("corporate")])
        rated_type |= (cpty == _cpty("sme")) & sme_rated
        rating = np.where(rated_type, rating, UNRATED_CODE)
        self.cols.counterparty_type[rows] = cpty
        self.cols.rating[rows] = rating
        self._unrated_bank_details(rows, count, (cpty == _cpty("bank")) & (rating == UNRATED_CODE))
        return cpty

    def _ltv(self, rows: slice, count: int, mean: float, sd: float) -> None:
        ltv = mean + sd * self.draws.standard_normal_approx(count)
        self.cols.ltv[rows] = np.round(np.clip(ltv, MIN_LTV, MAX_LTV), 4)

    # -- public sector -------------------------------------------------------

    def _public_sector(self, rows: slice, count: int, product: str) -> None:
        rating = self._ratings(count, sovereign=True)
        self.cols.rating[rows] = rating
        weight = _PUBLIC_SECTOR_TABLES[product][rating]
        security = self.draws.bernoulli(count, SECURITY_SHARE[product])
        # 0%-RW securities are Level 1, 20%-RW ones Level 2A (BCBS238 50, 52).
        level = np.where(weight == 0.0, _hqla("L1"), np.where(weight == 0.2, _hqla("L2A"), _hqla("NON_HQLA")))
        self.cols.hqla_level[rows] = np.where(security, level, _hqla("NON_HQLA"))

    def _fill_sovereign(self, rows: slice, count: int) -> None:
        self._public_sector(rows, count, "sovereign")

    def _fill_pse(self, rows: slice, count: int) -> None:
        self._public_sector(rows, count, "pse")

    def _fill_mdb(self, rows: slice, count: int) -> None:
        self._public_sector(rows, count, "mdb")

    def _fill_mdb_qualifying(self, rows: slice, count: int) -> None:
        self._public_sector(rows, count, "mdb_qualifying")

    def _fill_cash(self, rows: slice, count: int) -> None:
        self.cols.hqla_level[rows] = _hqla("L1")

    def _fill_central_bank_reserves(self, rows: slice, count: int) -> None:
        self.cols.hqla_level[rows] = _hqla("L1")
        self.cols.rating[rows] = self._ratings(count, sovereign=True)

    # -- banks and covered bonds --------------------------------------------

    def _fill_bank(self, rows: slice, count: int) -> None:
        rating = self._ratings(count)
        self.cols.rating[rows] = rating
        self._unrated_bank_details(rows, count, rating == UNRATED_CODE)
        short = self.draws.bernoulli(count, self.config.short_term_bank_share)
        max_days = math.floor(SHORT_TERM_MAX_ORIGINAL_MATURITY_YEARS * _DAYS_PER_YEAR)
        original = 7.0 + np.floor(self.draws.uniform(count) * (max_days - 6))
        residual = 1.0 + np.floor(self.draws.uniform(count) * original)
        self.cols.original_maturity_years[rows] = np.where(
            short, original / _DAYS_PER_YEAR, self.cols.original_maturity_years[rows]
        )
        self.cols.residual_maturity_years[rows] = np.where(
            short, residual / _DAYS_PER_YEAR, self.cols.residual_maturity_years[rows]
        )

    def _fill_covered_bond(self, rows: slice, count: int) -> None:
        rated = self.draws.bernoulli(count, COVERED_BOND_RATED_SHARE)
        rating = np.where(rated, self._ratings(count, sovereign=True), UNRATED_CODE)
        unrated = rating == UNRATED_CODE
        issuer = np.where(unrated, self._ratings(count), UNRATED_CODE)
        self.cols.rating[rows] = rating
        self.cols.issuer_rating[rows] = issuer
        self._unrated_bank_details(rows, count, unrated & (issuer == UNRATED_CODE))
        # Covered bonds rated AA- or better are Level 2A (BCBS238 para 52).
        self.cols.hqla_level[rows] = np.where(rating <= _GRADE_AA_MINUS, _hqla("L2A"), _hqla("NON_HQLA"))

    def _fill_subordinated_debt(self, rows: slice, count: int) -> None:
        self.cols.rating[rows] = self._ratings(count)

    # -- corporates and retail ---------------------------------------------

    def _fill_corporate(self, rows: slice, count: int) -> None:
        rating = self._ratings(count)
        self.cols.rating[rows] = rating
        security = self.draws.bernoulli(count, SECURITY_SHARE["corporate"])
        level = np.where(
            rating <= _GRADE_AA_MINUS,
            _hqla("L2A"),
            np.where(rating <= _GRADE_BBB_MINUS, _hqla("L2B_CORPORATE"), _hqla("NON_HQLA")),
        )
        self.cols.hqla_level[rows] = np.where(security, level, _hqla("NON_HQLA"))

    def _fill_sme_corporate(self, rows: slice, count: int) -> None:
        rated = self.draws.bernoulli(count, self.config.sme_rated_share)
        self.cols.rating[rows] = np.where(rated, self._ratings(count), UNRATED_CODE)

    def _fill_defaulted_loan(self, rows: slice, count: int) -> None:
        self.cols.defaulted[rows] = True
        share = DEFAULTED_LOAN_MAX_PROVISION * self.draws.uniform(count)
        self.cols.specific_provision[rows] = np.round(self.cols.notional[rows] * share, 2)

    def _fill_equity(self, rows: slice, count: int) -> None:
        listed = self.draws.bernoulli(count, LISTED_EQUITY_SHARE)
        self.cols.hqla_level[rows] = np.where(listed, _hqla("L2B_EQUITY"), _hqla("NON_HQLA"))

    # -- real estate -------------------------------------------------------

    def _fill_rre_general(self, rows: slice, count: int) -> None:
        config = self.config
        self._ltv(rows, count, config.ltv_mean_residential, config.ltv_sd_residential)
        defaulted = self.draws.bernoulli(count, config.defaulted_mortgage_share)
        share = DEFAULTED_MORTGAGE_MAX_PROVISION * self.draws.uniform(count)
        self.cols.defaulted[rows] = defaulted
        self.cols.specific_provision[rows] = np.where(
            defaulted, np.round(self.cols.notional[rows] * share, 2), 0.0
        )

    def _fill_rre_income(self, rows: slice, count: int) -> None:
        self._ltv(rows, count, self.config.ltv_mean_residential, self.config.ltv_sd_residential)

    def _fill_cre_general(self, rows: slice, count: int) -> None:
        self._ltv(rows, count, self.config.ltv_mean_commercial, self.config.ltv_sd_commercial)
        self._counterparties(rows, count, CRE_COUNTERPARTIES)

    def _fill_cre_income(self, rows: slice, count: int) -> None:
        self._ltv(rows, count, self.config.ltv_mean_commercial, self.config.ltv_sd_commercial)

    # -- off-balance and derivatives ---------------------------------------

    def _fill_off_balance(self, rows: slice, count: int) -> None:
        ccf = self.draws.choice(count, self.config.ccf_mix, tuple(CCF_CLASSES))
        cpty = self._counterparties(rows, count, OFF_BALANCE_COUNTERPARTIES)
        wholesale = np.isin(cpty, [_cpty("corporate"), _cpty("bank"), _cpty("other_fi")])
        liquidity = self.draws.bernoulli(count, LIQUIDITY_FACILITY_SHARE)
        self.cols.ccf_class[rows] = ccf
        self.cols.liquidity_facility[rows] = (
            liquidity & wholesale & (ccf == tuple(CCF_CLASSES).index("commitment"))
        )

    def _fill_derivative_asset(self, rows: slice, count: int) -> None:
        self._counterparties(rows, count, DERIVATIVE_COUNTERPARTIES)

    # -- funding -------------------------------------------------------------

    def _insured(self, rows: slice, count: int, product: str) -> None:
        self.cols.insured[rows] = self.draws.bernoulli(count, INSURED_SHARE[product])

    def _fill_retail_deposit_stable(self, rows: slice, count: int) -> None:
        self._insured(rows, count, "retail_deposit_stable")

    def _fill_retail_deposit_less_stable(self, rows: slice, count: int) -> None:
        self._insured(rows, count, "retail_deposit_less_stable")

    def _fill_retail_term_deposit(self, rows: slice, count: int) -> None:
        self._insured(rows, count, "retail_term_deposit")

    def _fill_operational_deposit(self, rows: slice, count: int) -> None:
        self._insured(rows, count, "operational_deposit")

    def _fill_corporate_deposit(self, rows: slice, count: int) -> None:
        self._insured(rows, count, "corporate_deposit")

    def _fill_fi_funding(self, rows: slice, count: int) -> None:
        self.cols.counterparty_type[rows] = self.draws.choice(count, FI_FUNDING_COUNTERPARTIES, COUNTERPARTY_TYPES)

    def _fill_secured_funding(self, rows: slice, count: int) -> None:
        self.cols.counterparty_type[rows] = self.draws.choice(
            count, SECURED_FUNDING_COUNTERPARTIES, COUNTERPARTY_TYPES
        )
        self.cols.hqla_level[rows] = self.draws.choice(count, COLLATERAL_MIX, HQLA_LEVEL_CODES)

    def _fill_inflow_reverse_repo(self, rows: slice, count: int) -> None:
        self.cols.hqla_level[rows] = self.draws.choice(count, COLLATERAL_MIX, HQLA_LEVEL_CODES)


# ===========================================================================
# Entry point
# ===========================================================================


def generate_portfolio(
    seed: int,
    n_positions: int,
    config: SimulationConfig = DEFAULT_CONFIG,
    *,
    rows: tuple[int, int] | None = None,
    between_blocks: Callable[[], None] | None = None,
) -> pd.DataFrame:
    """Draw a balance sheet of ``n_positions`` rows in the positions format.

    The frame is already canonical (what :func:`validate_positions` returns).
    On-balance asset notionals add up to ``config.total_assets_eur``, and
    funding plus the capital rows add up to the same amount, to within cents
    per row. ``rows=(start, stop)`` draws only those rows of the book (index
    from 0), the very rows the whole book has there, in memory proportional to
    the slice. ``between_blocks`` is called after each product block: a caller
    stops a long draw there (a cancel) by raising; the draws are the same either way.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(n_positions, bool) or not isinstance(n_positions, (int, np.integer)) or n_positions < 1:
        raise ValueError(f"n_positions must be a positive integer, got {n_positions!r}")
    if not isinstance(config, SimulationConfig):
        raise ValueError(f"config must be a SimulationConfig, got {type(config).__name__}")
    n = int(n_positions)
    first, stop = (0, n) if rows is None else (int(rows[0]), int(rows[1]))
    if not 0 <= first < stop <= n:
        raise ValueError(f"rows must be a non-empty range within 0..{n}, got {rows!r}")
    blocks = _plan(n, config)
    columns = _Columns(stop - first)
    draws = _Draws(int(seed))
    filler = _Filler(draws, columns, config)
    start = 0
    for block in blocks:
        # The part of this block inside the slice (maybe none: its draws are skipped).
        lo, hi = max(start, first), min(start + block.count, stop)
        hi = max(lo, hi)
        draws.window(block.count, lo - start, hi - start)
        filler.fill(block, slice(lo - first, hi - first))
        start += block.count
        if between_blocks is not None:
            between_blocks()
    return columns.frame(first, n)
