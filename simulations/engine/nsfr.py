"""Net stable funding ratio (BCBS d295).

Every liability and capital row gets an available-stable-funding (ASF)
factor, every asset and off-balance row a required-stable-funding (RSF)
factor, from its product, residual maturity, HQLA level and, for loans of a
year or more, its credit risk weight. Derivatives are netted at portfolio
level: RSF of 100% on derivative assets net of derivative liabilities when
positive, plus a share (a setting) of gross derivative liabilities.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .factors import (
    ASF_CAPITAL,
    ASF_FINANCIAL_6M_1Y,
    ASF_LESS_STABLE_RETAIL,
    ASF_LONG_TERM,
    ASF_OPERATIONAL,
    ASF_OTHER,
    ASF_STABLE_RETAIL,
    ASF_WHOLESALE_NON_FINANCIAL,
    DEFAULT_SETTINGS,
    HQLA_LEVELS,
    NSFR_ASF_PARAGRAPH,
    NSFR_DERIVATIVE_ASSET_REFERENCE,
    NSFR_DERIVATIVE_LIABILITY_REFERENCE,
    NSFR_LOW_RISK_WEIGHT,
    NSFR_MINIMUM,
    NSFR_OFF_BALANCE_REFERENCE,
    NSFR_OTHER_LIABILITIES_REFERENCE,
    NSFR_RSF_PARAGRAPH,
    RSF_CASH_AND_RESERVES,
    RSF_COMMITTED_FACILITIES,
    RSF_EXCHANGE_TRADED_EQUITY,
    RSF_FI_LOANS_UNDER_6M,
    RSF_FULL,
    RSF_LEVEL1,
    RSF_LEVEL2A,
    RSF_LEVEL2B,
    RSF_LOANS_LONG_HIGH_RW,
    RSF_LOANS_LONG_LOW_RW,
    RSF_NET_DERIVATIVE_ASSETS,
    RSF_NON_EXCHANGE_TRADED_EQUITY,
    RSF_NON_HQLA_SECURITIES_LONG,
    RSF_UNDER_1Y,
    RegulatorySettings,
    pct,
)
from .hqla import hqla_eligibility
from .maturity import maturities
from .rwa import rwa_arrays
from .schema import (
    CCF_CLASS_CODES,
    COUNTERPARTY_TYPES,
    EQUITY_LISTING_CODES,
    HQLA_LEVEL_CODES,
    NON_HQLA,
    PRODUCT_CODES,
    PositionArrays,
    position_arrays,
    product_mask,
    row_groups,
    validate_positions,
)

_RSF_OF_LEVEL = {"L1": RSF_LEVEL1, "L2A": RSF_LEVEL2A, "L2B": RSF_LEVEL2B}
_NON_FINANCIAL_LENDERS = [COUNTERPARTY_TYPES.index(c) for c in ("sovereign", "pse", "mdb", "corporate", "sme")]
_COMMITMENT = CCF_CLASS_CODES.index("commitment")
_NON_HQLA = HQLA_LEVEL_CODES.index(NON_HQLA)


@dataclass(frozen=True)
class NsfrRule:
    """One NSFR treatment.

    ``side`` is asf, rsf, off_balance (an RSF on an off-balance amount),
    derivative_asset or derivative_liability (netted in the aggregation), or
    none (30-day inflows, which the NSFR does not count).
    """

    label: str
    side: str
    asf_factor: float
    rsf_factor: float


class _Catalogue:
    def __init__(self, settings: RegulatorySettings) -> None:
        self.rules: list[NsfrRule] = []
        self.code: dict[str, int] = {}
        self._build(settings)

    def _add(self, key: str, label: str, side: str, asf: float = np.nan, rsf: float = np.nan) -> None:
        self.code[key] = len(self.rules)
        self.rules.append(NsfrRule(label, side, asf, rsf))

    def _asf(self, key: str, description: str, factor: float, reference: str | None = None) -> None:
        reference = reference or NSFR_ASF_PARAGRAPH[factor]
        self._add(key, f"{reference}, {description}: ASF {pct(factor)}", "asf", asf=factor)

    def _rsf(self, key: str, description: str, factor: float, reference: str | None = None) -> None:
        reference = reference or NSFR_RSF_PARAGRAPH[factor]
        self._add(key, f"{reference}, {description}: RSF {pct(factor)}", "rsf", rsf=factor)

    def _build(self, s: RegulatorySettings) -> None:
        self._add("inflow", "not in the NSFR: 30-day inflow", "none")
        # -- ASF -------------------------------------------------------------
        self._asf("capital", "regulatory capital", ASF_CAPITAL)
        self._asf("long_term", "liability with residual maturity ≥ 1y", ASF_LONG_TERM)
        self._asf("stable_retail", "stable retail deposits < 1y", ASF_STABLE_RETAIL)
        self._asf("less_stable_retail", "less-stable retail deposits < 1y", ASF_LESS_STABLE_RETAIL)
        self._asf("operational", "operational deposits", ASF_OPERATIONAL)
        self._asf("non_financial_under_1y", "funding < 1y from non-financial corporates, sovereigns, PSEs",
                  ASF_WHOLESALE_NON_FINANCIAL)
        self._asf("other_6m_1y", "other funding 6m–1y", ASF_FINANCIAL_6M_1Y)
        self._asf("other_under_6m", "other funding < 6m or without maturity", ASF_OTHER)
        self._asf("other_liabilities", "other liabilities (no derivative add-on)", ASF_OTHER,
                  NSFR_OTHER_LIABILITIES_REFERENCE)
        self._add("derivative_liability",
                  f"{NSFR_DERIVATIVE_LIABILITY_REFERENCE}, net derivative liabilities: ASF {pct(ASF_OTHER)}; "
                  f"gross derivative liabilities: RSF {pct(s.nsfr_derivative_liabilities_rsf)} (setting)",
                  "derivative_liability", asf=ASF_OTHER, rsf=s.nsfr_derivative_liabilities_rsf)
        # -- RSF -------------------------------------------------------------
        self._rsf("cash", "coins, notes and central-bank reserves", RSF_CASH_AND_RESERVES)
        for code, level in HQLA_LEVELS.items():
            self._rsf(f"hqla_{code}", f"unencumbered {level.description}", _RSF_OF_LEVEL[level.level])
        self._rsf("fi_under_6m", "loans to financial institutions < 6m", RSF_FI_LOANS_UNDER_6M)
        self._rsf("fi_6m_1y", "loans to financial institutions 6m–1y", RSF_UNDER_1Y)
        self._rsf("fi_long", "loans to financial institutions ≥ 1y", RSF_FULL)
        self._rsf("under_1y", "other assets and loans < 1y", RSF_UNDER_1Y)
        self._rsf("long_low_rw", f"loans ≥ 1y with RW ≤ {pct(NSFR_LOW_RISK_WEIGHT)}", RSF_LOANS_LONG_LOW_RW)
        self._rsf("long_high_rw", f"performing loans ≥ 1y with RW > {pct(NSFR_LOW_RISK_WEIGHT)}",
                  RSF_LOANS_LONG_HIGH_RW)
        self._rsf("securities_long", "non-HQLA securities ≥ 1y", RSF_NON_HQLA_SECURITIES_LONG)
        self._rsf("equity", "exchange-traded equity", RSF_EXCHANGE_TRADED_EQUITY)
        self._rsf("equity_unlisted", "equity that is not exchange-traded", RSF_NON_EXCHANGE_TRADED_EQUITY,
                  "d295 para 43(c)")
        self._rsf("cash_in_collection", "cash items in the process of collection (< 1y)", RSF_UNDER_1Y)
        self._rsf("non_performing", "non-performing loans", RSF_FULL)
        self._rsf("other_assets", "other assets", RSF_FULL)
        self._add("derivative_asset",
                  f"{NSFR_DERIVATIVE_ASSET_REFERENCE}, net derivative assets: RSF {pct(RSF_NET_DERIVATIVE_ASSETS)} of "
                  "derivative assets net of derivative liabilities, when positive",
                  "derivative_asset")
        self._add("committed_facility",
                  f"{NSFR_OFF_BALANCE_REFERENCE}, undrawn committed facilities: RSF {pct(RSF_COMMITTED_FACILITIES)}",
                  "off_balance", rsf=RSF_COMMITTED_FACILITIES)
        self._add("other_contingent",
                  f"{NSFR_OFF_BALANCE_REFERENCE}, other contingent funding obligations, national discretion: RSF "
                  f"{pct(s.nsfr_other_contingent_rsf)} (setting)",
                  "off_balance", rsf=s.nsfr_other_contingent_rsf)

    def __getitem__(self, key: str) -> int:
        return self.code[key]


@functools.lru_cache(maxsize=16)
def nsfr_catalogue(settings: RegulatorySettings = DEFAULT_SETTINGS) -> _Catalogue:
    """The NSFR rules under ``settings``."""
    return _Catalogue(settings)


@dataclass(frozen=True)
class NsfrRows:
    """Per-position NSFR rule codes and the amounts they apply to."""

    rule: np.ndarray
    amount: np.ndarray
    catalogue: _Catalogue

    def sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Count and amount per rule: all the composition reads of the rows, so a book
        weighed in blocks composes from its blocks' sums."""
        size = len(self.catalogue.rules)
        return np.bincount(self.rule, minlength=size), np.bincount(self.rule, weights=self.amount, minlength=size)

    def frame(self) -> pd.DataFrame:
        """``asf_factor``, ``rsf_factor`` and ``nsfr_rule`` columns for the explain table."""
        rules = self.catalogue.rules
        return pd.DataFrame(
            {
                "asf_factor": np.array([r.asf_factor for r in rules])[self.rule],
                "rsf_factor": np.array([r.rsf_factor for r in rules])[self.rule],
                "nsfr_rule": pd.Categorical.from_codes(
                    self.rule, dtype=pd.CategoricalDtype([r.label for r in rules])
                ),
            }
        )


def classify_nsfr(
    a: PositionArrays, risk_weight: np.ndarray, settings: RegulatorySettings = DEFAULT_SETTINGS
) -> NsfrRows:
    """Assign every position its NSFR rule; ``risk_weight`` comes from the RWA."""
    cat = nsfr_catalogue(settings)
    n = len(a.product)
    rule = np.full(n, cat["inflow"], dtype=np.int16)
    m = maturities(a, settings)
    # Flags are false without a maturity: an asset without maturity is treated
    # as one year or more, a liability without maturity as available at once.
    under_6m = m.under_6_months
    under_1y = m.under_1_year
    long_term = m.one_year_or_more
    hqla_rules = np.array(
        [cat[f"hqla_{code}"] if code != NON_HQLA else -1 for code in HQLA_LEVEL_CODES], dtype=np.int16
    )

    def const(key: str) -> Callable[[np.ndarray], np.ndarray]:
        return lambda idx: np.full(len(idx), cat[key], dtype=np.int16)

    def pick(*choices: tuple[np.ndarray | bool, str], default: str) -> np.ndarray:
        conditions = [c for c, _ in choices]
        return np.select(conditions, [cat[k] for _, k in choices], cat[default])

    def retail(stable: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        return lambda idx: pick(
            (long_term[idx], "long_term"), (stable(idx), "stable_retail"), default="less_stable_retail"
        )

    def term_funding(idx: np.ndarray) -> np.ndarray:
        # Capital instruments and debt: no maturity means perpetual.
        return pick((under_6m[idx], "other_under_6m"), (under_1y[idx], "other_6m_1y"), default="long_term")

    def non_financial(idx: np.ndarray, short_key: str) -> np.ndarray:
        return np.where(long_term[idx], cat["long_term"], cat[short_key])

    def financial(idx: np.ndarray) -> np.ndarray:
        return pick((long_term[idx], "long_term"), (~under_6m[idx] & under_1y[idx], "other_6m_1y"),
                    default="other_under_6m")

    def secured(idx: np.ndarray) -> np.ndarray:
        lender_non_financial = np.isin(a.counterparty_type[idx], _NON_FINANCIAL_LENDERS)
        return np.where(lender_non_financial, non_financial(idx, "non_financial_under_1y"), financial(idx))

    def loans(idx: np.ndarray) -> np.ndarray:
        low_rw = risk_weight[idx] <= NSFR_LOW_RISK_WEIGHT
        return pick((under_1y[idx], "under_1y"), (low_rw, "long_low_rw"), default="long_high_rw")

    def securities(idx: np.ndarray) -> np.ndarray:
        return np.where(under_1y[idx], cat["under_1y"], cat["securities_long"])

    def bank(idx: np.ndarray) -> np.ndarray:
        return pick((under_6m[idx], "fi_under_6m"), (under_1y[idx], "fi_6m_1y"), default="fi_long")

    def off_balance(idx: np.ndarray) -> np.ndarray:
        return np.where(a.ccf_class[idx] == _COMMITMENT, cat["committed_facility"], cat["other_contingent"])

    handlers: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "cash": const("cash"),
        "central_bank_reserves": const("cash"),
        "sovereign": loans, "pse": loans, "mdb": loans, "mdb_qualifying": loans,
        "corporate": loans, "sme_corporate": loans, "retail_regulatory": loans, "retail_transactor": loans,
        "retail_other": loans, "rre_general": loans, "rre_income": loans, "cre_general": loans,
        "cre_income": loans,
        "bank": bank,
        "covered_bond": securities, "subordinated_debt": securities,
        "defaulted_loan": const("non_performing"),
        "equity": lambda idx: np.where(
            a.equity_listing[idx] == EQUITY_LISTING_CODES.index("listed"), cat["equity"], cat["equity_unlisted"]
        ),
        "rmbs": securities,
        "cash_in_collection": const("cash_in_collection"),
        "other_liability": const("other_liabilities"),
        "other_assets": const("other_assets"),
        "derivative_asset": const("derivative_asset"),
        "off_balance": off_balance,
        "retail_deposit_stable": retail(lambda idx: np.ones(len(idx), dtype=bool)),
        "retail_deposit_less_stable": retail(lambda idx: np.zeros(len(idx), dtype=bool)),
        "retail_term_deposit": retail(lambda idx: a.insured[idx]),
        "operational_deposit": lambda idx: non_financial(idx, "operational"),
        "corporate_deposit": lambda idx: non_financial(idx, "non_financial_under_1y"),
        "fi_funding": financial,
        "secured_funding": secured,
        "long_term_debt": term_funding,
        "derivative_liability": const("derivative_liability"),
        "capital_cet1": const("capital"),
        "capital_at1": const("capital"),
        "capital_tier2": lambda idx: np.where(long_term[idx] | ~m.residual_known[idx], cat["capital"],
                                              term_funding(idx)),
    }
    for code, idx in row_groups(a.product, len(PRODUCT_CODES)):
        handler = handlers.get(PRODUCT_CODES[code])
        if handler is not None:
            rule[idx] = handler(idx)
    # HQLA holdings and defaulted positions override the product's treatment;
    # cash and reserves are Level 1 but keep their 0%.
    # Only eligible holdings take an HQLA factor (BCBS238 paras 49–54, as in the LCR).
    level = hqla_eligibility(a).level
    hqla = (level != _NON_HQLA) & a.side_mask("asset")
    hqla &= ~product_mask(a.product, ("cash", "central_bank_reserves"))
    rule[hqla] = hqla_rules[level[hqla]]
    rule[a.defaulted] = cat["non_performing"]

    amount = np.where(a.side_mask("asset"), a.carrying_amount, a.notional)
    return NsfrRows(rule=rule, amount=amount, catalogue=cat)


def nsfr_composition(rows: NsfrRows) -> dict[str, Any]:
    """ASF, RSF by factor and by rule, derivatives netting and the ratio."""
    rules = rows.catalogue.rules
    count, amount = rows.sums()

    def side_total(side: str, factor_of: Callable[[NsfrRule], float]) -> tuple[float, dict[str, dict[str, float]]]:
        by_factor: dict[str, dict[str, float]] = {}
        total = 0.0
        for i, r in enumerate(rules):
            if r.side != side or count[i] == 0:
                continue
            factor = factor_of(r)
            weighted = float(amount[i]) * factor
            entry = by_factor.setdefault(pct(factor), {"amount": 0.0, "weighted": 0.0})
            entry["amount"] += float(amount[i])
            entry["weighted"] += weighted
            total += weighted
        return total, by_factor

    asf_total, asf_by_factor = side_total("asf", lambda r: r.asf_factor)
    rsf_on_balance, rsf_by_factor = side_total("rsf", lambda r: r.rsf_factor)
    rsf_off_balance, off_balance_by_factor = side_total("off_balance", lambda r: r.rsf_factor)

    derivative_assets = float(sum(amount[i] for i, r in enumerate(rules) if r.side == "derivative_asset"))
    liability_rules = [i for i, r in enumerate(rules) if r.side == "derivative_liability"]
    derivative_liabilities = float(sum(amount[i] for i in liability_rules))
    addon_factor = rules[liability_rules[0]].rsf_factor
    net_derivative_assets = max(derivative_assets - derivative_liabilities, 0.0)
    rsf_derivatives = RSF_NET_DERIVATIVE_ASSETS * net_derivative_assets + addon_factor * derivative_liabilities

    rsf_total = rsf_on_balance + rsf_off_balance + rsf_derivatives
    ratio = asf_total / rsf_total if rsf_total > 0 else None
    return {
        "asf": {"by_factor": asf_by_factor, "total": asf_total},
        "rsf": {
            "by_factor": rsf_by_factor,
            "on_balance": rsf_on_balance,
            "off_balance_by_factor": off_balance_by_factor,
            "off_balance": rsf_off_balance,
            "derivatives": rsf_derivatives,
            "total": rsf_total,
        },
        "derivatives": {
            "assets": derivative_assets,
            "liabilities": derivative_liabilities,
            "net_assets": net_derivative_assets,
            "net_assets_rsf": RSF_NET_DERIVATIVE_ASSETS * net_derivative_assets,
            "gross_liabilities_factor": addon_factor,
            "gross_liabilities_rsf": addon_factor * derivative_liabilities,
        },
        "ratio": ratio,
        "minimum": NSFR_MINIMUM,
        "pass": ratio is None or ratio >= NSFR_MINIMUM,
        "rules": [
            {
                "rule": r.label,
                "side": r.side,
                "asf_factor": None if np.isnan(r.asf_factor) else r.asf_factor,
                "rsf_factor": None if np.isnan(r.rsf_factor) else r.rsf_factor,
                "count": int(count[i]),
                "amount": float(amount[i]),
            }
            for i, r in enumerate(rules)
            if count[i] > 0
        ],
    }


def compute_nsfr(positions: pd.DataFrame, settings: RegulatorySettings = DEFAULT_SETTINGS) -> dict[str, Any]:
    """Validate ``positions`` and compute the NSFR and its composition.

    Risk weights for the 65%/85% split of long loans come from the RWA
    calculation. ``ratio`` is ``None`` when nothing requires stable funding.
    """
    a = position_arrays(validate_positions(positions, as_of=settings.as_of_date))
    return nsfr_composition(classify_nsfr(a, rwa_arrays(a, settings).risk_weight, settings))
