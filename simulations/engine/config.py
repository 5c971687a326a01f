"""Parameters of a simulated balance sheet.

A :class:`SimulationConfig` fully describes the bank the generator draws,
apart from the seed and the number of positions. It is immutable, converts to
and from a plain JSON-serialisable dict (the run's parameters) and rejects bad
values with a ``ValueError`` that names the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from .factors import CCF_CLASSES, RATING_GRADES
from .schema import SCRA_GRADE_CODES, CapitalStack, products_on_side

# ===========================================================================
# Defaults
# ===========================================================================

#: Products drawn in proportion to ``product_mix`` (derivatives have their own
#: ratio, as their size does not scale with the loan book).
MIX_ASSET_PRODUCTS: tuple[str, ...] = tuple(p for p in products_on_side("asset") if p != "derivative_asset")
MIX_LIABILITY_PRODUCTS: tuple[str, ...] = tuple(
    p for p in products_on_side("liability") if p != "derivative_liability"
)
INFLOW_PRODUCTS: tuple[str, ...] = products_on_side("inflow")

#: Products without a contractual maturity: their residual maturity is empty.
NON_MATURITY_PRODUCTS: tuple[str, ...] = (
    "cash", "central_bank_reserves", "equity", "other_assets",
    "retail_deposit_stable", "retail_deposit_less_stable", "operational_deposit", "corporate_deposit",
    "capital_cet1", "capital_at1",
)
#: 30-day inflows mature within the LCR horizon by definition.
MATURITY_PROFILE_PRODUCTS: tuple[str, ...] = tuple(
    p for p in (*MIX_ASSET_PRODUCTS, "derivative_asset", "off_balance", *MIX_LIABILITY_PRODUCTS,
                "derivative_liability", "capital_tier2")
    if p not in NON_MATURITY_PRODUCTS
)

DEFAULT_PRODUCT_MIX: dict[str, float] = {
    "cash": 0.010,
    "central_bank_reserves": 0.050,
    "sovereign": 0.100,
    "pse": 0.020,
    "mdb": 0.010,
    "mdb_qualifying": 0.005,
    "bank": 0.050,
    "covered_bond": 0.030,
    "corporate": 0.150,
    "sme_corporate": 0.070,
    "retail_regulatory": 0.060,
    "retail_transactor": 0.015,
    "retail_other": 0.020,
    "rre_general": 0.220,
    "rre_income": 0.030,
    "cre_general": 0.040,
    "cre_income": 0.030,
    "defaulted_loan": 0.015,
    "equity": 0.010,
    "subordinated_debt": 0.005,
    "other_assets": 0.020,
}
DEFAULT_LIABILITY_MIX: dict[str, float] = {
    "retail_deposit_stable": 0.25,
    "retail_deposit_less_stable": 0.15,
    "retail_term_deposit": 0.12,
    "operational_deposit": 0.08,
    "corporate_deposit": 0.12,
    "fi_funding": 0.06,
    "secured_funding": 0.07,
    "long_term_debt": 0.15,
}
DEFAULT_CCF_MIX: dict[str, float] = {
    "direct_credit_substitute": 0.08,
    "nif_ruf": 0.02,
    "transaction_contingent": 0.10,
    "commitment": 0.45,
    "trade_letter_of_credit": 0.10,
    "unconditionally_cancellable": 0.25,
}
DEFAULT_INFLOW_MIX: dict[str, float] = {
    "inflow_retail": 0.30,
    "inflow_wholesale_nonfin": 0.35,
    "inflow_financial": 0.25,
    "inflow_reverse_repo": 0.10,
}
#: Corporate, bank and other wholesale counterparties.
DEFAULT_RATING_DISTRIBUTION: dict[str, float] = {
    "AAA": 0.010, "AA+": 0.010, "AA": 0.020, "AA-": 0.030,
    "A+": 0.050, "A": 0.060, "A-": 0.070,
    "BBB+": 0.090, "BBB": 0.100, "BBB-": 0.100,
    "BB+": 0.070, "BB": 0.060, "BB-": 0.050,
    "B+": 0.040, "B": 0.030, "B-": 0.020,
    "CCC+": 0.010, "CCC": 0.005, "CCC-": 0.003, "CC": 0.001, "C": 0.001,
    "NR": 0.170,
}
#: Sovereigns, central banks, PSEs, MDBs and covered bonds.
DEFAULT_SOVEREIGN_RATING_DISTRIBUTION: dict[str, float] = {
    "AAA": 0.30, "AA+": 0.15, "AA": 0.15, "AA-": 0.10,
    "A+": 0.08, "A": 0.06, "A-": 0.04,
    "BBB+": 0.04, "BBB": 0.03, "BBB-": 0.02,
    "BB+": 0.01, "BB": 0.005, "B": 0.005,
    "NR": 0.01,
}
DEFAULT_SCRA_DISTRIBUTION: dict[str, float] = {"A": 0.6, "B": 0.3, "C": 0.1}
#: Mean residual maturity in years, per product.
DEFAULT_MATURITY_PROFILE: dict[str, float] = {
    "sovereign": 5.0, "pse": 5.0, "mdb": 5.0, "mdb_qualifying": 5.0,
    "bank": 1.5, "covered_bond": 4.0, "corporate": 3.0, "sme_corporate": 3.0,
    "retail_regulatory": 3.0, "retail_transactor": 1.0, "retail_other": 2.0,
    "rre_general": 15.0, "rre_income": 12.0, "cre_general": 6.0, "cre_income": 6.0,
    "defaulted_loan": 2.0, "subordinated_debt": 6.0, "derivative_asset": 2.0, "off_balance": 2.0,
    "retail_term_deposit": 1.0, "fi_funding": 0.6, "secured_funding": 0.3, "long_term_debt": 5.0,
    "derivative_liability": 2.0, "capital_tier2": 6.0,
}


# ===========================================================================
# Config
# ===========================================================================

_MIX_FIELDS: dict[str, tuple[str, ...]] = {
    "product_mix": MIX_ASSET_PRODUCTS,
    "liability_mix": MIX_LIABILITY_PRODUCTS,
    "ccf_mix": tuple(CCF_CLASSES),
    "inflow_mix": INFLOW_PRODUCTS,
    "rating_distribution": RATING_GRADES,
    "sovereign_rating_distribution": RATING_GRADES,
    "scra_distribution": SCRA_GRADE_CODES,
}
#: Scalar fields and their allowed closed range.
_RANGES: dict[str, tuple[float, float]] = {
    "total_assets_eur": (1.0, 1e15),
    "off_balance_ratio": (0.0, 5.0),
    "inflow_ratio": (0.0, 1.0),
    "derivative_ratio": (0.0, 0.5),
    "sme_rated_share": (0.0, 1.0),
    "short_term_bank_share": (0.0, 1.0),
    "defaulted_mortgage_share": (0.0, 1.0),
    "ltv_mean_residential": (0.01, 2.0),
    "ltv_sd_residential": (0.0, 1.0),
    "ltv_mean_commercial": (0.01, 2.0),
    "ltv_sd_commercial": (0.0, 1.0),
    "cet1_share": (0.0, 1.0),
    "at1_share": (0.0, 1.0),
    "tier2_share": (0.0, 1.0),
}
_MAX_MEAN_MATURITY_YEARS = 50.0


def _mapping(default: Mapping[str, float]) -> Any:
    return field(default_factory=lambda: MappingProxyType(dict(default)))


@dataclass(frozen=True)
class SimulationConfig:
    """Shape of the simulated bank.

    Amounts are EUR; mixes are relative weights (they need not sum to 1 and a
    missing key weighs 0); ratios and shares are fractions of
    ``total_assets_eur``, the on-balance assets. ``maturity_profile`` gives the
    mean residual maturity, in years, of the products that have one; keys
    given override the defaults.
    """

    total_assets_eur: float = 10_000_000_000.0
    product_mix: Mapping[str, float] = _mapping(DEFAULT_PRODUCT_MIX)
    liability_mix: Mapping[str, float] = _mapping(DEFAULT_LIABILITY_MIX)
    off_balance_ratio: float = 0.12
    ccf_mix: Mapping[str, float] = _mapping(DEFAULT_CCF_MIX)
    inflow_ratio: float = 0.04
    inflow_mix: Mapping[str, float] = _mapping(DEFAULT_INFLOW_MIX)
    derivative_ratio: float = 0.02
    rating_distribution: Mapping[str, float] = _mapping(DEFAULT_RATING_DISTRIBUTION)
    sovereign_rating_distribution: Mapping[str, float] = _mapping(DEFAULT_SOVEREIGN_RATING_DISTRIBUTION)
    scra_distribution: Mapping[str, float] = _mapping(DEFAULT_SCRA_DISTRIBUTION)
    sme_rated_share: float = 0.10
    short_term_bank_share: float = 0.30
    defaulted_mortgage_share: float = 0.01
    ltv_mean_residential: float = 0.65
    ltv_sd_residential: float = 0.20
    ltv_mean_commercial: float = 0.60
    ltv_sd_commercial: float = 0.18
    maturity_profile: Mapping[str, float] = _mapping(DEFAULT_MATURITY_PROFILE)
    cet1_share: float = 0.055
    at1_share: float = 0.010
    tier2_share: float = 0.015
    include_off_balance: bool = True
    include_derivatives: bool = False

    def __post_init__(self) -> None:
        for name, allowed in _MIX_FIELDS.items():
            object.__setattr__(self, name, MappingProxyType(_check_weights(name, getattr(self, name), allowed)))
        profile = _check_weights("maturity_profile", self.maturity_profile, MATURITY_PROFILE_PRODUCTS)
        for product, years in profile.items():
            if not 0 < years <= _MAX_MEAN_MATURITY_YEARS:
                raise ValueError(
                    f"config field 'maturity_profile': mean maturity of {product!r} must be in "
                    f"(0, {_MAX_MEAN_MATURITY_YEARS:g}] years, got {years!r}"
                )
        object.__setattr__(self, "maturity_profile", MappingProxyType({**DEFAULT_MATURITY_PROFILE, **profile}))
        for name, (low, high) in _RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"config field {name!r}: must be a number, got {value!r}")
            if not math.isfinite(value) or not low <= value <= high:
                raise ValueError(f"config field {name!r}: must be between {low:g} and {high:g}, got {value!r}")
            object.__setattr__(self, name, float(value))
        for name in ("include_off_balance", "include_derivatives"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"config field {name!r}: must be true or false, got {getattr(self, name)!r}")
        for name in ("product_mix", "liability_mix", "rating_distribution", "sovereign_rating_distribution",
                     "scra_distribution"):
            _check_positive_sum(name, getattr(self, name))
        if self.include_off_balance and self.off_balance_ratio > 0:
            _check_positive_sum("ccf_mix", self.ccf_mix)
        if self.inflow_ratio > 0:
            _check_positive_sum("inflow_mix", self.inflow_mix)
        if self.cet1_share <= 0:
            raise ValueError("config field 'cet1_share': must be positive")
        funded = self.cet1_share + self.at1_share + self.tier2_share
        funded += self.derivative_ratio if self.include_derivatives else 0.0
        if funded >= 1:
            raise ValueError(
                "config fields 'cet1_share' + 'at1_share' + 'tier2_share' (+ 'derivative_ratio' with "
                f"derivatives) must leave room for funding: they sum to {funded!r}"
            )

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form (mixes as dicts, numbers as floats)."""
        out: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            out[item.name] = dict(value) if isinstance(value, Mapping) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SimulationConfig:
        """Build a config from a (partial) dict; missing fields take their defaults."""
        if not isinstance(data, Mapping):
            raise ValueError(f"config must be a JSON object, got {type(data).__name__}")
        known = [item.name for item in fields(cls)]
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}; known: {', '.join(known)}")
        return cls(**data)

    def capital_stack(self) -> CapitalStack:
        """The capital stack of the simulated bank, in EUR rounded to cents."""
        return CapitalStack(
            cet1=round(self.total_assets_eur * self.cet1_share, 2),
            at1=round(self.total_assets_eur * self.at1_share, 2),
            tier2=round(self.total_assets_eur * self.tier2_share, 2),
        )


def _check_weights(name: str, value: Any, allowed: tuple[str, ...]) -> dict[str, float]:
    """A copy of a weight mapping, keys in catalogue order, values as floats."""
    if not isinstance(value, Mapping):
        raise ValueError(f"config field {name!r}: must be an object of weights, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise ValueError(f"config field {name!r}: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")
    out: dict[str, float] = {}
    for key in allowed:
        if key not in value:
            continue
        weight = value[key]
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ValueError(f"config field {name!r}: weight of {key!r} must be a number, got {weight!r}")
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"config field {name!r}: weight of {key!r} must be a non-negative number, got {weight!r}")
        out[key] = float(weight)
    return out


def _check_positive_sum(name: str, weights: Mapping[str, float]) -> None:
    if not sum(weights.values()) > 0:
        raise ValueError(f"config field {name!r}: weights must sum to more than 0")


DEFAULT_CONFIG = SimulationConfig()
