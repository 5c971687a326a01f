"""HQLA eligibility: a declared level is checked, not trusted (BCBS238 paras 49–54).

A holding declared Level 1, 2A or 2B counts as HQLA only when the columns of
the positions format show it meets the conditions of its level that they can
state: the risk weight of public-sector securities, the rating of bonds and
RMBS, the issuer being non-financial, equity being listed, the LTV of an
RMBS's mortgages. A holding that fails is not HQLA (in the LCR and for the
NSFR's HQLA factors), and its reason names the paragraph. Conditions the
format cannot state (operational requirements, the depth of the market,
domestic-currency sovereign debt of para 50(d)–(e)) are taken as met.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .factors import (
    FINANCIAL_COUNTERPARTIES,
    HQLA_L1_SECURITIES_REFERENCE,
    HQLA_L2A_BONDS_REFERENCE,
    HQLA_L2A_MIN_GRADE,
    HQLA_L2A_PUBLIC_SECTOR_RW,
    HQLA_L2A_SOVEREIGN_REFERENCE,
    HQLA_L2B_CORPORATE_BEST_GRADE,
    HQLA_L2B_CORPORATE_REFERENCE,
    HQLA_L2B_CORPORATE_WORST_GRADE,
    HQLA_L2B_EQUITY_REFERENCE,
    HQLA_L2B_RMBS_MAX_LTV,
    HQLA_L2B_RMBS_MIN_GRADE,
    HQLA_L2B_RMBS_REFERENCE,
    MDB_TABLE,
    NON_HQLA,
    PSE_TABLE,
    QUALIFYING_MDB,
    RATING_GRADES,
    SOVEREIGN_TABLE,
    UNRATED,
    pct,
)
from .schema import COUNTERPARTY_TYPES, EQUITY_LISTING_CODES, HQLA_LEVEL_CODES, PRODUCT_CODES, PositionArrays


@dataclass(frozen=True)
class Reason:
    """Why a declared HQLA holding is not counted."""

    key: str
    reference: str
    text: str

    @property
    def label(self) -> str:
        return f"{self.reference}: declared HQLA but not eligible, {self.text}"


REASONS: tuple[Reason, ...] = (
    Reason("l1_risk_weight", HQLA_L1_SECURITIES_REFERENCE,
           "Level 1 securities need a 0% risk weight (this one is higher)"),
    Reason("l2a_risk_weight", HQLA_L2A_SOVEREIGN_REFERENCE,
           f"Level 2A public-sector securities need a risk weight of {pct(HQLA_L2A_PUBLIC_SECTOR_RW)} or less"),
    Reason("l2a_rating", HQLA_L2A_BONDS_REFERENCE, f"Level 2A bonds need a rating of {HQLA_L2A_MIN_GRADE} or better"),
    Reason("l2a_financial", HQLA_L2A_BONDS_REFERENCE, "Level 2A corporate bonds must not be issued by a financial "
           "institution"),
    Reason("l2b_corporate_rating", HQLA_L2B_CORPORATE_REFERENCE,
           f"Level 2B corporate bonds need a rating from {HQLA_L2B_CORPORATE_BEST_GRADE} to "
           f"{HQLA_L2B_CORPORATE_WORST_GRADE}"),
    Reason("l2b_corporate_financial", HQLA_L2B_CORPORATE_REFERENCE,
           "Level 2B corporate bonds must not be issued by a financial institution"),
    Reason("l2b_equity_listing", HQLA_L2B_EQUITY_REFERENCE, "Level 2B equity must be exchange-traded (listed)"),
    Reason("l2b_equity_financial", HQLA_L2B_EQUITY_REFERENCE,
           "Level 2B equity must not be issued by a financial institution"),
    Reason("l2b_rmbs_rating", HQLA_L2B_RMBS_REFERENCE, f"Level 2B RMBS need a rating of {HQLA_L2B_RMBS_MIN_GRADE} or "
           "better"),
    Reason("l2b_rmbs_ltv", HQLA_L2B_RMBS_REFERENCE,
           f"Level 2B RMBS need underlying mortgages with an average LTV of {pct(HQLA_L2B_RMBS_MAX_LTV)} or less"),
)
REASON_INDEX: dict[str, int] = {r.key: i for i, r in enumerate(REASONS)}


def _weights(table: object) -> np.ndarray:
    return np.array([table.weights[b] for b in table.bucket_of_grade])  # type: ignore[attr-defined]


_PUBLIC_SECTOR_RW = {
    "sovereign": _weights(SOVEREIGN_TABLE),
    "pse": _weights(PSE_TABLE),
    "mdb": _weights(MDB_TABLE),
    "mdb_qualifying": np.full(len(RATING_GRADES), QUALIFYING_MDB.weight),
}
_L1_BY_NATURE = ("cash", "central_bank_reserves")
_NON_HQLA = HQLA_LEVEL_CODES.index(NON_HQLA)


def _grade_at_most(rating: np.ndarray, worst: str) -> np.ndarray:
    """Rated ``worst`` or better (unrated fails)."""
    return (rating <= RATING_GRADES.index(worst)) & (rating != RATING_GRADES.index(UNRATED))


@dataclass(frozen=True)
class Eligibility:
    """``level``: the HQLA level code that counts (NON_HQLA when ineligible);
    ``reason``: index into REASONS for an ineligible declared holding, else -1."""

    level: np.ndarray
    reason: np.ndarray


def hqla_eligibility(a: PositionArrays) -> Eligibility:
    """Check every asset declared HQLA; collateral levels (secured funding, reverse repos) are left as stated."""
    n = len(a.product)
    reason = np.full(n, -1, dtype=np.int16)
    declared = a.hqla_level
    asset = a.side_mask("asset") & (declared != _NON_HQLA)
    if not asset.any():
        return Eligibility(level=declared, reason=reason)
    product = a.product
    rating = a.rating
    financial = np.isin(a.counterparty_type, [COUNTERPARTY_TYPES.index(c) for c in FINANCIAL_COUNTERPARTIES])

    def fail(mask: np.ndarray, key: str) -> None:
        reason[mask & asset & (reason == -1)] = REASON_INDEX[key]

    def level_is(code: str) -> np.ndarray:
        return declared == HQLA_LEVEL_CODES.index(code)

    public_rw = np.full(n, np.nan)
    for code, weights in _PUBLIC_SECTOR_RW.items():
        rows = product == PRODUCT_CODES.index(code)
        public_rw[rows] = weights[rating[rows]]
    public = ~np.isnan(public_rw)
    by_nature = np.isin(product, [PRODUCT_CODES.index(c) for c in _L1_BY_NATURE])

    fail(level_is("L1") & ~by_nature & public & (public_rw > 0.0), "l1_risk_weight")
    fail(level_is("L2A") & public & (public_rw > HQLA_L2A_PUBLIC_SECTOR_RW), "l2a_risk_weight")
    fail(level_is("L2A") & ~public & ~_grade_at_most(rating, HQLA_L2A_MIN_GRADE), "l2a_rating")
    fail(level_is("L2A") & (product == PRODUCT_CODES.index("corporate")) & financial, "l2a_financial")
    corporate_grade = _grade_at_most(rating, HQLA_L2B_CORPORATE_WORST_GRADE) & (
        rating >= RATING_GRADES.index(HQLA_L2B_CORPORATE_BEST_GRADE)
    )
    fail(level_is("L2B_CORPORATE") & ~corporate_grade, "l2b_corporate_rating")
    fail(level_is("L2B_CORPORATE") & financial, "l2b_corporate_financial")
    listed = a.equity_listing == EQUITY_LISTING_CODES.index("listed")
    fail(level_is("L2B_EQUITY") & ~listed, "l2b_equity_listing")
    fail(level_is("L2B_EQUITY") & financial, "l2b_equity_financial")
    fail(level_is("L2B_RMBS") & ~_grade_at_most(rating, HQLA_L2B_RMBS_MIN_GRADE), "l2b_rmbs_rating")
    fail(level_is("L2B_RMBS") & (a.ltv > HQLA_L2B_RMBS_MAX_LTV), "l2b_rmbs_ltv")

    level = np.where(reason >= 0, _NON_HQLA, declared).astype(np.int16)
    return Eligibility(level=level, reason=reason)
