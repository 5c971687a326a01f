"""Liquidity coverage ratio (BCBS238).

Every position gets one LCR rule: an HQLA type with its haircut, an outflow
category with its run-off rate, an inflow category with its rate, or "not in
the LCR". The stock of HQLA is then capped with the Annex 1 formula and the
inflows with the 75% cap:

    Adj15 = max(L2B − 15/85·(L1 + L2A), L2B − 15/60·L1, 0)
    Adj40 = max(L2A + L2B − Adj15 − 2/3·L1, 0)
    HQLA  = L1 + L2A + L2B − Adj15 − Adj40
    net outflows = outflows − min(inflows, 75% × outflows)
    LCR = HQLA / net outflows

With no SFTs or collateral swaps in the positions, the "adjusted" amounts of
Annex 1 equal the unadjusted ones.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .factors import (
    BEYOND_HORIZON_REFERENCE,
    COMMITTED_CREDIT_FACILITY_OUTFLOW,
    COMMITTED_CREDIT_FACILITY_PARAGRAPH,
    COMMITTED_LIQUIDITY_FACILITY_PARAGRAPH,
    COMMITTED_LIQUIDITY_FACILITY_OUTFLOW,
    CORPORATE_NON_OPERATIONAL_INSURED_OUTFLOW,
    CORPORATE_NON_OPERATIONAL_OUTFLOW,
    DEFAULT_SETTINGS,
    DEBT_SECURITIES_OUTFLOW,
    DERIVATIVE_NET_OUTFLOW,
    FINANCIAL_INFLOW,
    HQLA_CAP_REFERENCE,
    HQLA_LEVELS,
    INFLOW_CAP,
    INFLOW_CAP_REFERENCE,
    LCR_MINIMUM,
    LEVEL2_CAP,
    LEVEL2B_CAP,
    NON_HQLA,
    OPERATIONAL_INSURED_OUTFLOW,
    OPERATIONAL_OUTFLOW,
    OTHER_CONTINGENT_REFERENCE,
    OTHER_CONTRACTUAL_OUTFLOW,
    OTHER_LEGAL_ENTITY_OUTFLOW,
    RETAIL_INFLOW,
    RETAIL_LESS_STABLE_OUTFLOW_REFERENCE,
    RETAIL_STABLE_ENHANCED_OUTFLOW,
    RETAIL_STABLE_OUTFLOW,
    RETAIL_TERM_PENALTY_FREE_REFERENCE,
    RETAIL_TERM_BEYOND_HORIZON_OUTFLOW,
    REVERSE_REPO_INFLOW_BY_COLLATERAL,
    REVERSE_REPO_REFERENCE,
    SECURED_FUNDING_CENTRAL_BANK_OUTFLOW,
    SECURED_FUNDING_OUTFLOW_BY_COLLATERAL,
    SECURED_FUNDING_REFERENCE,
    SECURED_FUNDING_SOVEREIGN_PSE_OUTFLOW,
    WHOLESALE_NON_FINANCIAL_INFLOW,
    RegulatorySettings,
    pct,
)
from .hqla import REASONS, hqla_eligibility
from .maturity import maturities
from .schema import (
    CCF_CLASS_CODES,
    COUNTERPARTY_TYPES,
    HQLA_LEVEL_CODES,
    PRODUCT_CODES,
    PositionArrays,
    position_arrays,
    row_groups,
    validate_positions,
)

#: Amounts below half a cent are rounding noise, not a binding cap.
_TOLERANCE_EUR = 0.005

OUTFLOW_CATEGORIES: tuple[str, ...] = (
    "retail_stable", "retail_less_stable", "retail_term", "operational", "non_operational_corporate",
    "financial_institutions", "secured_funding", "debt_securities", "derivatives",
    "committed_credit_facilities", "committed_liquidity_facilities", "other_contingent", "other_contractual",
)
INFLOW_CATEGORIES: tuple[str, ...] = ("retail", "wholesale_non_financial", "financial", "reverse_repo")


@dataclass(frozen=True)
class LcrRule:
    """One LCR treatment: ``kind`` is hqla, outflow, inflow or none."""

    label: str
    kind: str
    category: str
    factor: float


class _Catalogue:
    """LCR rules under given settings, with lookup by key."""

    def __init__(self, settings: RegulatorySettings) -> None:
        self.rules: list[LcrRule] = []
        self.code: dict[tuple[str, ...], int] = {}
        self._build(settings)

    def _add(self, key: tuple[str, ...], label: str, kind: str, category: str, factor: float) -> None:
        self.code[key] = len(self.rules)
        self.rules.append(LcrRule(label, kind, category, factor))

    def _rate(self, key: tuple[str, ...], reference: str, description: str, kind: str, category: str,
              rate: float) -> None:
        self._add(key, f"{reference}, {description}: {pct(rate)}", kind, category, rate)

    def _build(self, s: RegulatorySettings) -> None:
        self._add(("none", "asset"), "not in the LCR: asset that is not HQLA", "none", "", np.nan)
        self._add(("none", "capital"), "not in the LCR: regulatory capital", "none", "", np.nan)
        self._add(("none", "derivative_asset"), "not in the LCR: net derivative asset", "none", "", np.nan)
        for reason in REASONS:
            self._add(("ineligible", reason.key), f"not in the LCR: {reason.label}", "none", "", np.nan)
        for code, hqla_level in HQLA_LEVELS.items():
            self._add(("hqla", code), f"{hqla_level.reference}, {hqla_level.description}: "
                      f"factor {pct(hqla_level.factor)}", "hqla", code, hqla_level.factor)

        # -- outflows ------------------------------------------------------
        stable = RETAIL_STABLE_ENHANCED_OUTFLOW if s.lcr_stable_retail_enhanced else RETAIL_STABLE_OUTFLOW
        less_stable = s.lcr_less_stable_retail_rate
        self._rate(("retail_stable",), stable.reference, "stable retail deposits", "outflow", "retail_stable",
                   stable.rate)
        self._rate(("retail_less_stable",), RETAIL_LESS_STABLE_OUTFLOW_REFERENCE,
                   "less-stable retail deposits (rate is a setting)", "outflow", "retail_less_stable", less_stable)
        self._rate(("retail_term", "insured"), stable.reference, "retail term deposit within 30 days, insured",
                   "outflow", "retail_term", stable.rate)
        self._rate(("retail_term", "uninsured"), RETAIL_LESS_STABLE_OUTFLOW_REFERENCE,
                   "retail term deposit within 30 days, not insured", "outflow", "retail_term", less_stable)
        self._rate(("retail_term", "beyond"), RETAIL_TERM_BEYOND_HORIZON_OUTFLOW.reference,
                   "retail term deposit beyond 30 days, no penalty-free withdrawal within 30 days", "outflow",
                   "retail_term", RETAIL_TERM_BEYOND_HORIZON_OUTFLOW.rate)
        self._rate(("retail_term", "penalty_free", "insured"), RETAIL_TERM_PENALTY_FREE_REFERENCE,
                   "retail term deposit withdrawable within 30 days without significant penalty, insured "
                   "(as a stable demand deposit)", "outflow", "retail_term", stable.rate)
        self._rate(("retail_term", "penalty_free", "uninsured"), RETAIL_TERM_PENALTY_FREE_REFERENCE,
                   "retail term deposit withdrawable within 30 days without significant penalty, not insured "
                   "(as a less-stable demand deposit)", "outflow", "retail_term", less_stable)
        self._rate(("other_contractual",), OTHER_CONTRACTUAL_OUTFLOW.reference,
                   "other liabilities falling due within 30 days", "outflow", "other_contractual",
                   OTHER_CONTRACTUAL_OUTFLOW.rate)
        self._rate(("operational", "insured"), OPERATIONAL_INSURED_OUTFLOW.reference,
                   "operational deposits, insured", "outflow", "operational", OPERATIONAL_INSURED_OUTFLOW.rate)
        self._rate(("operational", "uninsured"), OPERATIONAL_OUTFLOW.reference, "operational deposits",
                   "outflow", "operational", OPERATIONAL_OUTFLOW.rate)
        self._rate(("non_operational_corporate", "insured"), CORPORATE_NON_OPERATIONAL_INSURED_OUTFLOW.reference,
                   "non-operational corporate deposits, fully insured", "outflow", "non_operational_corporate",
                   CORPORATE_NON_OPERATIONAL_INSURED_OUTFLOW.rate)
        self._rate(("non_operational_corporate", "uninsured"), CORPORATE_NON_OPERATIONAL_OUTFLOW.reference,
                   "non-operational corporate deposits", "outflow", "non_operational_corporate",
                   CORPORATE_NON_OPERATIONAL_OUTFLOW.rate)
        self._rate(("financial_institutions",), OTHER_LEGAL_ENTITY_OUTFLOW.reference,
                   "unsecured funding from financial institutions", "outflow", "financial_institutions",
                   OTHER_LEGAL_ENTITY_OUTFLOW.rate)
        self._rate(("debt_securities",), DEBT_SECURITIES_OUTFLOW.reference,
                   "debt securities maturing within 30 days", "outflow", "debt_securities",
                   DEBT_SECURITIES_OUTFLOW.rate)
        self._rate(("derivatives",), DERIVATIVE_NET_OUTFLOW.reference, "net derivative liabilities within 30 days",
                   "outflow", "derivatives", DERIVATIVE_NET_OUTFLOW.rate)
        for level, rate in SECURED_FUNDING_OUTFLOW_BY_COLLATERAL.items():
            self._rate(("secured_funding", level), SECURED_FUNDING_REFERENCE,
                       f"secured funding backed by {level}", "outflow", "secured_funding", rate)
        self._rate(("secured_funding", "central_bank"), SECURED_FUNDING_REFERENCE,
                   "secured funding with the central bank", "outflow", "secured_funding",
                   SECURED_FUNDING_CENTRAL_BANK_OUTFLOW)
        self._rate(("secured_funding", "sovereign_pse"), SECURED_FUNDING_REFERENCE,
                   "secured funding from a sovereign or PSE, collateral not L1/L2A", "outflow", "secured_funding",
                   SECURED_FUNDING_SOVEREIGN_PSE_OUTFLOW)
        for category in ("operational", "non_operational_corporate", "financial_institutions", "secured_funding",
                         "debt_securities", "derivatives", "other_contractual"):
            self._rate((category, "beyond"), BEYOND_HORIZON_REFERENCE, category.replace("_", " "), "outflow",
                       category, 0.0)
        for cpty in COUNTERPARTY_TYPES:
            self._rate(("committed_credit_facilities", cpty),
                       f"BCBS238 para {COMMITTED_CREDIT_FACILITY_PARAGRAPH[cpty]}",
                       f"committed credit facility to {cpty.replace('_', ' ')}", "outflow",
                       "committed_credit_facilities", COMMITTED_CREDIT_FACILITY_OUTFLOW[cpty])
            self._rate(("committed_liquidity_facilities", cpty),
                       f"BCBS238 para {COMMITTED_LIQUIDITY_FACILITY_PARAGRAPH[cpty]}",
                       f"committed liquidity facility to {cpty.replace('_', ' ')}", "outflow",
                       "committed_liquidity_facilities", COMMITTED_LIQUIDITY_FACILITY_OUTFLOW[cpty])
        self._rate(("other_contingent",), OTHER_CONTINGENT_REFERENCE,
                   "other contingent funding obligations, national discretion (rate is a setting)", "outflow",
                   "other_contingent",
                   s.lcr_other_contingent_rate)

        # -- inflows -------------------------------------------------------
        self._rate(("retail",), RETAIL_INFLOW.reference, "retail and small-business inflows", "inflow", "retail",
                   RETAIL_INFLOW.rate)
        self._rate(("wholesale_non_financial",), WHOLESALE_NON_FINANCIAL_INFLOW.reference,
                   "non-financial wholesale inflows", "inflow", "wholesale_non_financial",
                   WHOLESALE_NON_FINANCIAL_INFLOW.rate)
        self._rate(("financial",), FINANCIAL_INFLOW.reference, "financial institution inflows", "inflow",
                   "financial", FINANCIAL_INFLOW.rate)
        for level, rate in REVERSE_REPO_INFLOW_BY_COLLATERAL.items():
            self._rate(("reverse_repo", level), REVERSE_REPO_REFERENCE, f"reverse repo secured by {level}",
                       "inflow", "reverse_repo", rate)
        for category in INFLOW_CATEGORIES:
            self._rate((category, "beyond"), BEYOND_HORIZON_REFERENCE, f"{category.replace('_', ' ')} inflow",
                       "inflow", category, 0.0)

    def __getitem__(self, key: tuple[str, ...]) -> int:
        return self.code[key]


@functools.lru_cache(maxsize=16)
def lcr_catalogue(settings: RegulatorySettings = DEFAULT_SETTINGS) -> _Catalogue:
    """The LCR rules under ``settings``."""
    return _Catalogue(settings)


# ===========================================================================
# Classification
# ===========================================================================


@dataclass(frozen=True)
class LcrRows:
    """Per-position LCR rule codes and the amounts they apply to."""

    rule: np.ndarray
    amount: np.ndarray
    catalogue: _Catalogue
    #: HQLA holdings counted at their market value / at their carrying amount (no market value given).
    hqla_at_market_value: int = 0
    hqla_at_carrying_amount: int = 0

    @property
    def factor(self) -> np.ndarray:
        return np.array([r.factor for r in self.catalogue.rules])[self.rule]

    def sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Count, amount and weighted amount per rule: all the composition reads of the rows
        besides the counters, so a book weighed in blocks composes from its blocks' sums."""
        size = len(self.catalogue.rules)
        factor = np.nan_to_num(self.factor)
        return (
            np.bincount(self.rule, minlength=size),
            np.bincount(self.rule, weights=self.amount, minlength=size),
            np.bincount(self.rule, weights=self.amount * factor, minlength=size),
        )

    def frame(self) -> pd.DataFrame:
        """``lcr_factor`` and ``lcr_rule`` columns for the explain table."""
        labels = [r.label for r in self.catalogue.rules]
        return pd.DataFrame(
            {
                "lcr_factor": self.factor,
                "lcr_rule": pd.Categorical.from_codes(self.rule, dtype=pd.CategoricalDtype(labels)),
            }
        )


_LEVEL_KEYS = [("hqla", code) if code != NON_HQLA else ("none", "asset") for code in HQLA_LEVEL_CODES]
_COLLATERAL_KEYS = list(HQLA_LEVEL_CODES)
_COMMITMENT = CCF_CLASS_CODES.index("commitment")


def classify_lcr(a: PositionArrays, settings: RegulatorySettings = DEFAULT_SETTINGS) -> LcrRows:
    """Assign every position its LCR rule."""
    cat = lcr_catalogue(settings)
    n = len(a.product)
    rule = np.full(n, cat[("none", "asset")], dtype=np.int16)
    m = maturities(a, settings)
    # Non-maturity (empty) deposits and funding can be withdrawn within 30 days.
    within = m.within_30_days | ~m.residual_known
    cpty = a.counterparty_type
    eligibility = hqla_eligibility(a)
    level_keys = np.array([cat[k] for k in _LEVEL_KEYS], dtype=np.int16)
    ineligible_keys = np.array([cat[("ineligible", r.key)] for r in REASONS], dtype=np.int16)

    def choose(mask: np.ndarray, if_true: tuple[str, ...], if_false: tuple[str, ...]) -> np.ndarray:
        return np.where(mask, cat[if_true], cat[if_false])

    def by_level(keys: Sequence[tuple[str, ...]], levels: np.ndarray) -> np.ndarray:
        return np.array([cat[k] for k in keys], dtype=np.int16)[levels]

    def hqla(idx: np.ndarray) -> np.ndarray:
        reason = eligibility.reason[idx]
        codes = level_keys[eligibility.level[idx]]
        return np.where(reason >= 0, ineligible_keys[np.maximum(reason, 0)], codes)

    def by_horizon(category: str, idx: np.ndarray) -> np.ndarray:
        return choose(within[idx], (category,), (category, "beyond"))

    def by_insurance(category: str, idx: np.ndarray) -> np.ndarray:
        rates = choose(a.insured[idx], (category, "insured"), (category, "uninsured"))
        return np.where(within[idx], rates, cat[(category, "beyond")])

    def secured(idx: np.ndarray) -> np.ndarray:
        level = a.hqla_level[idx]
        codes = by_level([("secured_funding", lv) for lv in _COLLATERAL_KEYS], level)
        lender = cpty[idx]
        public = np.isin(lender, [COUNTERPARTY_TYPES.index("sovereign"), COUNTERPARTY_TYPES.index("pse")])
        weak = ~np.isin(level, [HQLA_LEVEL_CODES.index("L1"), HQLA_LEVEL_CODES.index("L2A")])
        codes = np.where(public & weak, cat[("secured_funding", "sovereign_pse")], codes)
        codes = np.where(lender == COUNTERPARTY_TYPES.index("central_bank"),
                         cat[("secured_funding", "central_bank")], codes)
        return np.where(within[idx], codes, cat[("secured_funding", "beyond")])

    def off_balance(idx: np.ndarray) -> np.ndarray:
        lender = np.maximum(cpty[idx], 0)
        credit = np.array([cat[("committed_credit_facilities", c)] for c in COUNTERPARTY_TYPES])[lender]
        liquidity = np.array([cat[("committed_liquidity_facilities", c)] for c in COUNTERPARTY_TYPES])[lender]
        committed = np.where(a.liquidity_facility[idx], liquidity, credit)
        # Unconditionally cancellable lines are not committed facilities.
        is_commitment = a.ccf_class[idx] == _COMMITMENT
        return np.where(is_commitment, committed, cat[("other_contingent",)])

    def retail_term(idx: np.ndarray) -> np.ndarray:
        # Withdrawable early without a significant penalty: a demand deposit (paras 82–84).
        demand = choose(a.insured[idx], ("retail_term", "penalty_free", "insured"),
                        ("retail_term", "penalty_free", "uninsured"))
        return np.where(a.penalty_free_withdrawal[idx], demand, by_insurance("retail_term", idx))

    def reverse_repo(idx: np.ndarray) -> np.ndarray:
        codes = by_level([("reverse_repo", lv) for lv in _COLLATERAL_KEYS], a.hqla_level[idx])
        return np.where(within[idx], codes, cat[("reverse_repo", "beyond")])

    def constant(key: tuple[str, ...]) -> Callable[[np.ndarray], np.ndarray]:
        return lambda idx: np.full(len(idx), cat[key], dtype=np.int16)

    handlers: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "derivative_asset": constant(("none", "derivative_asset")),
        "off_balance": off_balance,
        "retail_deposit_stable": constant(("retail_stable",)),
        "retail_deposit_less_stable": constant(("retail_less_stable",)),
        "retail_term_deposit": retail_term,
        "operational_deposit": lambda idx: by_insurance("operational", idx),
        "corporate_deposit": lambda idx: by_insurance("non_operational_corporate", idx),
        "fi_funding": lambda idx: by_horizon("financial_institutions", idx),
        "secured_funding": secured,
        # Debt without a stated maturity is perpetual: beyond the horizon.
        "long_term_debt": lambda idx: choose(m.within_30_days[idx], ("debt_securities",),
                                             ("debt_securities", "beyond")),
        # Other liabilities run off only when they fall due within 30 days (para 141).
        "other_liability": lambda idx: choose(m.within_30_days[idx], ("other_contractual",),
                                              ("other_contractual", "beyond")),
        "derivative_liability": lambda idx: by_horizon("derivatives", idx),
        "capital_cet1": constant(("none", "capital")),
        "capital_at1": constant(("none", "capital")),
        "capital_tier2": constant(("none", "capital")),
        "inflow_retail": lambda idx: by_horizon("retail", idx),
        "inflow_wholesale_nonfin": lambda idx: by_horizon("wholesale_non_financial", idx),
        "inflow_financial": lambda idx: by_horizon("financial", idx),
        "inflow_reverse_repo": reverse_repo,
    }
    for code, idx in row_groups(a.product, len(PRODUCT_CODES)):
        handler = handlers.get(PRODUCT_CODES[code], hqla)
        rule[idx] = handler(idx)

    amount = np.where(a.side_mask("asset"), a.carrying_amount, a.notional)
    # HQLA count at market value (BCBS238 para 49); the carrying amount stands in when none is given.
    counted = np.array([r.kind == "hqla" for r in cat.rules])[rule]
    at_market = counted & ~np.isnan(a.market_value)
    amount = np.where(at_market, a.market_value, amount)
    return LcrRows(rule=rule, amount=amount, catalogue=cat, hqla_at_market_value=int(at_market.sum()),
                   hqla_at_carrying_amount=int((counted & ~at_market).sum()))


# ===========================================================================
# Aggregation
# ===========================================================================


def hqla_caps(level1: float, level2a: float, level2b: float) -> tuple[float, float]:
    """Annex 1 adjustments (Adj15, Adj40) for amounts after haircuts."""
    # 15/85, 15/60 and 2/3 are the caps restated on the other levels.
    l2b_over_l1_l2a = LEVEL2B_CAP / (1.0 - LEVEL2B_CAP)
    l2b_over_l1 = LEVEL2B_CAP / (1.0 - LEVEL2_CAP)
    l2_over_l1 = LEVEL2_CAP / (1.0 - LEVEL2_CAP)
    adj15 = max(level2b - l2b_over_l1_l2a * (level1 + level2a), level2b - l2b_over_l1 * level1, 0.0)
    adj15 = adj15 if adj15 > _TOLERANCE_EUR else 0.0
    adj40 = max(level2a + level2b - adj15 - l2_over_l1 * level1, 0.0)
    adj40 = adj40 if adj40 > _TOLERANCE_EUR else 0.0
    return adj15, adj40


def _amount_basis(rows: LcrRows) -> dict[str, Any]:
    """Which amount the HQLA stock counted: market value where given, else the carrying amount."""
    market, carrying = rows.hqla_at_market_value, rows.hqla_at_carrying_amount
    if market and carrying:
        text = (f"market value for {market:,} holding(s); carrying amount for {carrying:,} holding(s) "
                "without a market value")
    elif market:
        text = "market value (BCBS238 para 49)"
    elif carrying:
        text = "carrying amount: no market value was given (market_value column empty)"
    else:
        text = "no HQLA holdings"
    return {"market_value_holdings": market, "carrying_amount_holdings": carrying, "text": text}


def lcr_composition(rows: LcrRows) -> dict[str, Any]:
    """The LCR, its HQLA stock, outflows and inflows, as a JSON-ready dict."""
    rules = rows.catalogue.rules
    count, amount, weighted = rows.sums()

    def total(kind: str, category: str | None = None, *, level: str | None = None) -> tuple[float, float]:
        chosen = [
            i for i, r in enumerate(rules)
            if r.kind == kind
            and (category is None or r.category == category)
            and (level is None or HQLA_LEVELS[r.category].level == level)
        ]
        return float(amount[chosen].sum()), float(weighted[chosen].sum())

    levels = {level: total("hqla", level=level) for level in ("L1", "L2A", "L2B")}
    after = {level: value[1] for level, value in levels.items()}
    adj15, adj40 = hqla_caps(after["L1"], after["L2A"], after["L2B"])
    hqla = after["L1"] + after["L2A"] + after["L2B"] - adj15 - adj40

    outflows = {c: total("outflow", c) for c in OUTFLOW_CATEGORIES}
    inflows = {c: total("inflow", c) for c in INFLOW_CATEGORIES}
    total_outflows = sum(v[1] for v in outflows.values())
    total_inflows = sum(v[1] for v in inflows.values())
    inflow_cap = INFLOW_CAP * total_outflows
    recognised = min(total_inflows, inflow_cap)
    net_outflows = total_outflows - recognised
    ratio = hqla / net_outflows if net_outflows > 0 else None

    return {
        "hqla": {
            "levels": {
                level: {"before_haircut": value[0], "after_haircut": value[1]} for level, value in levels.items()
            },
            "by_type": {
                code: dict(zip(("before_haircut", "after_haircut"), total("hqla", code), strict=True))
                for code in HQLA_LEVELS
            },
            "adj15": adj15,
            "adj40": adj40,
            "level2b_cap_binding": adj15 > 0,
            "level2_cap_binding": adj40 > 0,
            "cap_reference": HQLA_CAP_REFERENCE,
            "amount_basis": _amount_basis(rows),
            "total_before_caps": after["L1"] + after["L2A"] + after["L2B"],
            "total": hqla,
        },
        "outflows": {
            "by_category": {c: {"amount": v[0], "weighted": v[1]} for c, v in outflows.items()},
            "total": total_outflows,
        },
        "inflows": {
            "by_category": {c: {"amount": v[0], "weighted": v[1]} for c, v in inflows.items()},
            "total": total_inflows,
            "cap": inflow_cap,
            "cap_binding": total_inflows > inflow_cap,
            "cap_reference": INFLOW_CAP_REFERENCE,
            "recognised": recognised,
        },
        "net_outflows": net_outflows,
        "ratio": ratio,
        "minimum": LCR_MINIMUM,
        "pass": ratio is None or ratio >= LCR_MINIMUM,
        "rules": [
            {
                "rule": r.label,
                "kind": r.kind,
                "category": r.category,
                "factor": None if np.isnan(r.factor) else r.factor,
                "count": int(count[i]),
                "amount": float(amount[i]),
                "weighted": float(weighted[i]),
            }
            for i, r in enumerate(rules)
            if count[i] > 0
        ],
    }


def compute_lcr(positions: pd.DataFrame, settings: RegulatorySettings = DEFAULT_SETTINGS) -> dict[str, Any]:
    """Validate ``positions`` and compute the LCR and its composition.

    ``ratio`` is ``None`` when there are no net outflows (the LCR is then
    met by construction and ``pass`` is true).
    """
    canonical = validate_positions(positions, as_of=settings.as_of_date)
    return lcr_composition(classify_lcr(position_arrays(canonical), settings))
