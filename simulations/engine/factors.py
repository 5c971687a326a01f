"""Every regulatory factor the engine applies, as data, in one place.

Each table names its source (BCBS d424 for credit risk, BCBS238 for the LCR,
BCBS d295 for the NSFR, the Basel capital and leverage minimums) and the
table and paragraph it comes from, so that a computed figure can always be
traced back to a line of ``docs/REGULATORY.md``. The calculators build their
rule labels from the ``reference`` strings below; nothing else in the engine
holds a regulatory number.

Values that ``REGULATORY.md`` marks as not confirmed ([U]), and national
discretions, are not constants: they are fields of :class:`RegulatorySettings`
with documented defaults, so a run can state and override them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

# ===========================================================================
# Rating scale
# ===========================================================================

#: External rating grades accepted in the ``rating`` and ``issuer_rating``
#: columns, best first. ``D`` is a rated entity in default; ``NR`` is unrated.
RATING_GRADES: tuple[str, ...] = (
    "AAA", "AA+", "AA", "AA-",
    "A+", "A", "A-",
    "BBB+", "BBB", "BBB-",
    "BB+", "BB", "BB-",
    "B+", "B", "B-",
    "CCC+", "CCC", "CCC-", "CC", "C", "D",
    "NR",
)
UNRATED = "NR"

# d424 uses two bucketings of the same scale. The sovereign-style tables put
# BB+ to B- in one bucket; the corporate table splits it at BB-, so a B+
# corporate is 150% while a B+ sovereign is 100% (REGULATORY.md 1.2).
SOVEREIGN_SCALE: tuple[str, ...] = (
    "AAA to AA–", "A+ to A–", "BBB+ to BBB–", "BB+ to B–", "below B–", "unrated",
)
CORPORATE_SCALE: tuple[str, ...] = (
    "AAA to AA–", "A+ to A–", "BBB+ to BBB–", "BB+ to BB–", "below BB–", "unrated",
)


def _bucket(grade: str, scale: str) -> int:
    """Bucket index (0..5) of ``grade`` on the sovereign or corporate scale."""
    if grade == UNRATED:
        return 5
    position = RATING_GRADES.index(grade)
    if position <= RATING_GRADES.index("AA-"):
        return 0
    if position <= RATING_GRADES.index("A-"):
        return 1
    if position <= RATING_GRADES.index("BBB-"):
        return 2
    last_of_fourth = "B-" if scale == "sovereign" else "BB-"
    if position <= RATING_GRADES.index(last_of_fourth):
        return 3
    return 4


#: Bucket of each grade of RATING_GRADES, per scale.
SOVEREIGN_BUCKET_OF_GRADE: tuple[int, ...] = tuple(_bucket(g, "sovereign") for g in RATING_GRADES)
CORPORATE_BUCKET_OF_GRADE: tuple[int, ...] = tuple(_bucket(g, "corporate") for g in RATING_GRADES)


# ===========================================================================
# Credit risk: standardised approach (BCBS d424)
# ===========================================================================


@dataclass(frozen=True)
class RatingTable:
    """A d424 risk-weight table indexed by external rating bucket.

    ``weights`` has one entry per bucket of ``scale``; ``nan`` marks a bucket
    the table hands over to another treatment (unrated banks go to SCRA,
    unrated covered bonds to Table 9).
    """

    reference: str
    scale: str
    weights: tuple[float, float, float, float, float, float]

    @property
    def bucket_labels(self) -> tuple[str, ...]:
        return SOVEREIGN_SCALE if self.scale == "sovereign" else CORPORATE_SCALE

    @property
    def bucket_of_grade(self) -> tuple[int, ...]:
        return SOVEREIGN_BUCKET_OF_GRADE if self.scale == "sovereign" else CORPORATE_BUCKET_OF_GRADE


_NAN = math.nan

SOVEREIGN_TABLE = RatingTable("d424 Table 1 (para 7)", "sovereign", (0.00, 0.20, 0.50, 1.00, 1.50, 1.00))
PSE_TABLE = RatingTable("d424 Table 4 (paras 11–12)", "sovereign", (0.20, 0.50, 0.50, 1.00, 1.50, 0.50))
MDB_TABLE = RatingTable("d424 Table 5 (para 15)", "sovereign", (0.20, 0.30, 0.50, 1.00, 1.50, 0.50))
BANK_ECRA_TABLE = RatingTable("d424 Table 6 (para 18)", "sovereign", (0.20, 0.30, 0.50, 1.00, 1.50, _NAN))
BANK_ECRA_SHORT_TERM_TABLE = RatingTable(
    "d424 Table 6 (para 19), short-term ≤ 3m", "sovereign", (0.20, 0.20, 0.20, 0.50, 1.50, _NAN)
)
COVERED_BOND_RATED_TABLE = RatingTable("d424 Table 8 (para 35)", "sovereign", (0.10, 0.20, 0.20, 0.50, 1.00, _NAN))
CORPORATE_TABLE = RatingTable("d424 Table 10 (paras 39–40)", "corporate", (0.20, 0.50, 0.75, 1.00, 1.50, 1.00))

#: Original maturity at or below which a bank exposure is short-term
#: (d424 paras 19 and Table 7: "three months or less"), in years.
SHORT_TERM_MAX_ORIGINAL_MATURITY_YEARS = 0.25


@dataclass(frozen=True)
class ScraGrade:
    """Risk weights of one SCRA grade for unrated banks (d424 Table 7)."""

    base: float
    short_term: float


SCRA_REFERENCE = "d424 Table 7 (paras 21–30)"
SCRA_GRADES: dict[str, ScraGrade] = {
    "A": ScraGrade(base=0.40, short_term=0.20),
    "B": ScraGrade(base=0.75, short_term=0.50),
    "C": ScraGrade(base=1.50, short_term=1.50),
}
#: Grade A base weight when the counterparty bank meets the footnote-18
#: capital thresholds; the thresholds themselves are settings ([U]).
SCRA_GRADE_A_REDUCED_RW = 0.30
SCRA_GRADE_A_REDUCED_REFERENCE = "d424 Table 7 (footnote 18)"

#: Unrated covered bonds (d424 Table 9): issuer risk weight -> bond risk weight.
#: REGULATORY.md gives no paragraph number for this table.
COVERED_BOND_UNRATED_REFERENCE = "d424 Table 9"
COVERED_BOND_UNRATED_BY_ISSUER_RW: dict[float, float] = {
    0.20: 0.10,
    0.30: 0.15,
    0.40: 0.20,
    0.50: 0.25,
    0.75: 0.35,
    1.00: 0.50,
    1.50: 1.00,
}


@dataclass(frozen=True)
class FlatWeight:
    """A single d424 risk weight that does not depend on rating or LTV."""

    weight: float
    reference: str
    description: str


QUALIFYING_MDB = FlatWeight(0.00, "d424 para 14", "qualifying MDB")
CORPORATE_SME_UNRATED = FlatWeight(0.85, "d424 para 43", "corporate SME, unrated")
REGULATORY_RETAIL = FlatWeight(0.75, "d424 para 55", "regulatory retail")
RETAIL_TRANSACTOR = FlatWeight(0.45, "d424 para 56", "retail transactor")
OTHER_RETAIL = FlatWeight(1.00, "d424 para 57", "other retail")
EQUITY = FlatWeight(2.50, "d424 para 50", "equity")
SUBORDINATED_DEBT = FlatWeight(1.50, "d424 para 53", "subordinated debt")
OTHER_ASSETS = FlatWeight(1.00, "d424 para 95", "other assets")
CASH = FlatWeight(0.00, "d424 para 96", "cash")
CASH_IN_COLLECTION = FlatWeight(0.20, "d424 para 97", "cash items in the process of collection")
#: Equity by listing (d424 paras 50–52): ``equity_listing`` codes of the
#: positions format -> weight. Listed and unlisted equity both take the general
#: 250%; speculative unlisted equity 400%; equity under national legislated
#: programmes 100%.
EQUITY_BY_LISTING: dict[str, FlatWeight] = {
    "listed": FlatWeight(2.50, "d424 para 50", "equity, listed"),
    "unlisted": FlatWeight(2.50, "d424 para 50", "equity, unlisted"),
    "speculative_unlisted": FlatWeight(4.00, "d424 para 51", "speculative unlisted equity"),
    "legislated_programme": FlatWeight(1.00, "d424 para 52", "equity under a national legislated programme"),
}
#: Retail segment of an off-balance item to an individual (``retail_segment``
#: codes): regulatory retail (para 55), transactor (para 56), other retail
#: (para 57).
RETAIL_SEGMENTS: tuple[str, ...] = ("regulatory", "transactor", "other")
#: Residential mortgage-backed securities are securitisation exposures: d424's
#: standardised tables do not weigh them; the securitisation framework
#: (CRE40–44) does. The engine applies one risk weight, a setting, floored at
#: the 15% of the securitisation framework (CRE42, SEC-ERBA/SEC-SA floor).
RMBS_REFERENCE = "securitisation framework (CRE40–44), RMBS"
RMBS_RW_FLOOR = 0.15


@dataclass(frozen=True)
class LtvTable:
    """A d424 real-estate table indexed by LTV band.

    ``upper_bounds`` are the inclusive upper edges of every band but the last
    (REGULATORY.md 1.3: "the upper bound of each band is inclusive"), so a
    loan at exactly 0.50 LTV falls in the first band. ``weights`` has one more
    entry than ``upper_bounds``; ``nan`` marks bands whose weight is a formula
    on the counterparty's weight (Table 13).
    """

    reference: str
    upper_bounds: tuple[float, ...]
    weights: tuple[float, ...]

    @property
    def band_labels(self) -> tuple[str, ...]:
        bounds = [f"{round(b * 100):d}%" for b in self.upper_bounds]
        labels = [f"LTV ≤ {bounds[0]}"]
        labels += [f"LTV {lo[:-1]}–{hi}" for lo, hi in itertools.pairwise(bounds)]
        labels.append(f"LTV > {bounds[-1]}")
        return tuple(labels)


RRE_GENERAL_TABLE = LtvTable(
    "d424 Table 11 (para 64)", (0.50, 0.60, 0.80, 0.90, 1.00), (0.20, 0.25, 0.30, 0.40, 0.50, 0.70)
)
RRE_INCOME_TABLE = LtvTable(
    "d424 Table 12 (para 67)", (0.50, 0.60, 0.80, 0.90, 1.00), (0.30, 0.35, 0.45, 0.60, 0.75, 1.05)
)
CRE_GENERAL_TABLE = LtvTable("d424 Table 13 (para 70)", (0.60, 0.80), (_NAN, _NAN, _NAN))
CRE_INCOME_TABLE = LtvTable("d424 Table 14 (para 73)", (0.60, 0.80), (0.70, 0.90, 1.10))

#: Table 13, LTV ≤ 60%: min(60%, counterparty RW).
CRE_GENERAL_LOW_LTV_CAP = 0.60
#: "RW of counterparty" for general CRE (para 70): individuals and SMEs have a
#: fixed weight; any other counterparty takes its unsecured weight.
CRE_COUNTERPARTY_INDIVIDUAL_RW = 0.75
CRE_COUNTERPARTY_SME_RW = 0.85

#: Loan-splitting (d424 paras 65 and 71, a national discretion): the part of
#: the loan up to 55% of the property value, less the liens of others that
#: rank ahead and shared pro rata with pari passu liens, takes the secured
#: weight (20% residential; min(60%, counterparty RW) commercial); the rest
#: takes the counterparty's weight. The worked examples of para 65's footnotes
#: (CRE20.86) are tests.
LOAN_SPLITTING_SHARE = 0.55
LOAN_SPLITTING_RRE_REFERENCE = "d424 para 65 (loan-splitting)"
LOAN_SPLITTING_RRE_SECURED_RW = 0.20
LOAN_SPLITTING_CRE_REFERENCE = "d424 para 71 (loan-splitting)"
#: Whole-loan LTV with liens of others: the loan amount of the LTV includes
#: every lien ranking ahead of or pari passu with the bank's (d424 para 62).
LTV_OTHER_LIENS_REFERENCE = "d424 para 62"
REAL_ESTATE_APPROACHES: tuple[str, ...] = ("whole_loan", "loan_splitting")

#: Defaulted exposures (d424 paras 92–93): the unsecured part, net of specific
#: provisions, is 150% below the provision threshold and 100% at or above it;
#: defaulted general residential real estate is 100%.
DEFAULTED_REFERENCE = "d424 para 92"
DEFAULTED_RRE_REFERENCE = "d424 para 93"
DEFAULTED_PROVISION_THRESHOLD = 0.20
DEFAULTED_RW_BELOW_THRESHOLD = 1.50
DEFAULTED_RW_AT_OR_ABOVE_THRESHOLD = 1.00
DEFAULTED_RRE_RW = 1.00


@dataclass(frozen=True)
class CcfClass:
    """An off-balance-sheet credit conversion factor class (d424 paras 78–85)."""

    ccf: float
    reference: str
    description: str


#: Keyed by the ``ccf_class`` codes of the positions format.
CCF_CLASSES: dict[str, CcfClass] = {
    "direct_credit_substitute": CcfClass(
        1.00, "d424 para 79", "direct credit substitutes, guarantees, repos with recourse, securities lent"
    ),
    "nif_ruf": CcfClass(0.50, "d424 para 80", "note issuance and revolving underwriting facilities"),
    "transaction_contingent": CcfClass(0.50, "d424 para 81", "transaction-related contingents"),
    "commitment": CcfClass(0.40, "d424 para 82", "commitments, whatever the maturity"),
    "trade_letter_of_credit": CcfClass(0.20, "d424 para 83", "short-term self-liquidating trade letters of credit"),
    "unconditionally_cancellable": CcfClass(
        0.10, "d424 para 84", "commitments unconditionally cancellable by the bank"
    ),
}


# ===========================================================================
# LCR (BCBS238)
# ===========================================================================


@dataclass(frozen=True)
class HqlaLevel:
    """An HQLA asset type: its level, the factor (1 - haircut) and source."""

    level: str
    factor: float
    reference: str
    description: str


#: Keyed by the ``hqla_level`` codes of the positions format (NON_HQLA is not
#: listed: it is not an HQLA type).
HQLA_LEVELS: dict[str, HqlaLevel] = {
    "L1": HqlaLevel("L1", 1.00, "BCBS238 para 50", "Level 1"),
    "L2A": HqlaLevel("L2A", 0.85, "BCBS238 para 52", "Level 2A"),
    "L2B_RMBS": HqlaLevel("L2B", 0.75, "BCBS238 para 54(a)", "Level 2B RMBS"),
    "L2B_CORPORATE": HqlaLevel("L2B", 0.50, "BCBS238 para 54(b)", "Level 2B corporate bonds"),
    "L2B_EQUITY": HqlaLevel("L2B", 0.50, "BCBS238 para 54(c)", "Level 2B equity"),
}
NON_HQLA = "NON_HQLA"

#: Level 2 at most 40% and Level 2B at most 15% of HQLA after haircuts
#: (BCBS238 paras 51 and 48 / Annex 1); the Annex 1 adjustment constants
#: (15/85, 15/60, 2/3) are derived from these two caps in lcr.py.
LEVEL2_CAP = 0.40
LEVEL2B_CAP = 0.15
HQLA_CAP_REFERENCE = "BCBS238 Annex 1"

#: The LCR stress horizon, 30 calendar days, in years (maturities are in
#: years of 365 days).
LCR_HORIZON_YEARS = 30 / 365
#: The same horizon when maturities are given in days or as dates: exact.
LCR_HORIZON_DAYS = 30
#: Month edges of the rules, decided on the calendar from the as-of date when
#: maturities are given as dates or days: "three months or less" (d424 paras
#: 19 and 21–30, original maturity), "less than six months" and "less than one
#: year" (d295, residual maturity).
SHORT_TERM_MAX_ORIGINAL_MATURITY_MONTHS = 3
NSFR_SHORT_MATURITY_MONTHS = 6
NSFR_LONG_MATURITY_MONTHS = 12
LCR_MINIMUM = 1.00

# HQLA eligibility (BCBS238 paras 49–54): what a declared level must meet to
# count, checked on the rating, issuer and listing columns. A holding that
# fails is not HQLA; its LCR rule says which condition failed.
#: Level 1 securities: 0% risk weight under the standardised approach
#: (para 50(c)); cash and central-bank reserves are Level 1 by nature.
HQLA_L1_SECURITIES_REFERENCE = "BCBS238 para 50(c)"
#: Level 2A: 20% risk weight (para 52(a)); corporate bonds and covered bonds
#: rated AA– or better, corporate bonds of non-financial issuers (para 52(b)).
HQLA_L2A_SOVEREIGN_REFERENCE = "BCBS238 para 52(a)"
HQLA_L2A_BONDS_REFERENCE = "BCBS238 para 52(b)"
HQLA_L2A_MIN_GRADE = "AA-"
HQLA_L2A_PUBLIC_SECTOR_RW = 0.20
#: Level 2B RMBS: rated AA or better (para 54(a)); average LTV of the
#: underlying mortgages at issuance of 80% or less, checked when ``ltv`` is given.
HQLA_L2B_RMBS_REFERENCE = "BCBS238 para 54(a)"
HQLA_L2B_RMBS_MIN_GRADE = "AA"
HQLA_L2B_RMBS_MAX_LTV = 0.80
#: Level 2B corporate bonds: non-financial issuers rated A+ to BBB– (para 54(b)).
HQLA_L2B_CORPORATE_REFERENCE = "BCBS238 para 54(b)"
HQLA_L2B_CORPORATE_BEST_GRADE = "A+"
HQLA_L2B_CORPORATE_WORST_GRADE = "BBB-"
#: Level 2B equity: exchange-traded common equity of non-financial issuers (para 54(c)).
HQLA_L2B_EQUITY_REFERENCE = "BCBS238 para 54(c)"
#: Counterparty types that are financial institutions: their bonds and
#: shares are not Level 2 (paras 52(b), 54(b), 54(c)).
FINANCIAL_COUNTERPARTIES: tuple[str, ...] = ("bank", "other_fi")


@dataclass(frozen=True)
class Rate:
    """A run-off or inflow rate with its source."""

    rate: float
    reference: str


# Outflows (BCBS238 section II.B; see REGULATORY.md 2.2 for confirmation labels).
RETAIL_STABLE_OUTFLOW = Rate(0.05, "BCBS238 paras 75–78")
RETAIL_STABLE_ENHANCED_OUTFLOW = Rate(0.03, "BCBS238 para 78")
RETAIL_LESS_STABLE_OUTFLOW_REFERENCE = "BCBS238 paras 79–81"  # rate is a setting (≥ 10%)
RETAIL_TERM_BEYOND_HORIZON_OUTFLOW = Rate(0.00, "BCBS238 para 82")
#: A retail term deposit the depositor may withdraw within 30 days without a
#: significant penalty is a demand deposit (BCBS238 paras 82–84): it runs off
#: at the stable or less-stable rate, whatever its maturity.
RETAIL_TERM_PENALTY_FREE_REFERENCE = "BCBS238 paras 82–84"
OPERATIONAL_OUTFLOW = Rate(0.25, "BCBS238 para 93")
OPERATIONAL_INSURED_OUTFLOW = Rate(0.05, "BCBS238 para 104")
CORPORATE_NON_OPERATIONAL_OUTFLOW = Rate(0.40, "BCBS238 para 107")
CORPORATE_NON_OPERATIONAL_INSURED_OUTFLOW = Rate(0.20, "BCBS238 para 108")
OTHER_LEGAL_ENTITY_OUTFLOW = Rate(1.00, "BCBS238 paras 109–111")
DEBT_SECURITIES_OUTFLOW = Rate(1.00, "BCBS238 para 110")
DERIVATIVE_NET_OUTFLOW = Rate(1.00, "BCBS238 para 116")
#: Other contractual cash outflows within 30 days (BCBS238 para 141): the
#: "other liabilities" line when it falls due within the horizon.
OTHER_CONTRACTUAL_OUTFLOW = Rate(1.00, "BCBS238 para 141")
OTHER_CONTINGENT_REFERENCE = "BCBS238 paras 137–140"
#: Wholesale funding and debt whose contractual maturity is beyond the 30-day
#: horizon does not run off within it.
BEYOND_HORIZON_REFERENCE = "BCBS238 para 16 (30-day horizon), contractual maturity beyond 30 days"

SECURED_FUNDING_REFERENCE = "BCBS238 para 115 (secured funding table)"
#: Run-off of secured funding by the HQLA level of its collateral.
SECURED_FUNDING_OUTFLOW_BY_COLLATERAL: dict[str, float] = {
    "L1": 0.00,
    "L2A": 0.15,
    "L2B_RMBS": 0.25,
    "L2B_CORPORATE": 0.50,
    "L2B_EQUITY": 0.50,
    NON_HQLA: 1.00,
}
#: Secured funding with the central bank runs off at 0% whatever the collateral.
SECURED_FUNDING_CENTRAL_BANK_OUTFLOW = 0.00
#: Sovereign or PSE lender, collateral other than L1/L2A: 25%.
SECURED_FUNDING_SOVEREIGN_PSE_OUTFLOW = 0.25

COMMITTED_FACILITY_REFERENCE = "BCBS238 para 131 (committed facilities)"
#: The point of para 131 that sets each drawdown rate, by counterparty type:
#: (a) retail and small business, (b) credit and (c) liquidity facilities to
#: non-financial corporates, sovereigns, central banks, PSEs and MDBs, (d)
#: banks, (e) credit and (f) liquidity facilities to other financial institutions.
COMMITTED_CREDIT_FACILITY_PARAGRAPH: dict[str, str] = {
    "individual": "131(a)", "sme": "131(a)", "corporate": "131(b)", "sovereign": "131(b)",
    "central_bank": "131(b)", "pse": "131(b)", "mdb": "131(b)", "bank": "131(d)", "other_fi": "131(e)",
}
COMMITTED_LIQUIDITY_FACILITY_PARAGRAPH: dict[str, str] = {
    "individual": "131(a)", "sme": "131(a)", "corporate": "131(c)", "sovereign": "131(c)",
    "central_bank": "131(c)", "pse": "131(c)", "mdb": "131(c)", "bank": "131(d)", "other_fi": "131(f)",
}
#: Committed facilities drawdown rates, by counterparty type of the positions
#: format (other FIs are "other financial institutions"; no counterparty type
#: of the format maps to "other legal entities").
COMMITTED_CREDIT_FACILITY_OUTFLOW: dict[str, float] = {
    "individual": 0.05,
    "sme": 0.05,
    "corporate": 0.10,
    "sovereign": 0.10,
    "central_bank": 0.10,
    "pse": 0.10,
    "mdb": 0.10,
    "bank": 0.40,
    "other_fi": 0.40,
}
COMMITTED_LIQUIDITY_FACILITY_OUTFLOW: dict[str, float] = {
    "individual": 0.05,
    "sme": 0.05,
    "corporate": 0.30,
    "sovereign": 0.30,
    "central_bank": 0.30,
    "pse": 0.30,
    "mdb": 0.30,
    "bank": 0.40,
    "other_fi": 1.00,
}

# Inflows (BCBS238 section II.C).
RETAIL_INFLOW = Rate(0.50, "BCBS238 para 153")
WHOLESALE_NON_FINANCIAL_INFLOW = Rate(0.50, "BCBS238 para 154")
FINANCIAL_INFLOW = Rate(1.00, "BCBS238 para 154")
REVERSE_REPO_REFERENCE = "BCBS238 para 145"
#: Reverse repo inflow rate by the HQLA level of the collateral received.
REVERSE_REPO_INFLOW_BY_COLLATERAL: dict[str, float] = {
    "L1": 0.00,
    "L2A": 0.15,
    "L2B_RMBS": 0.25,
    "L2B_CORPORATE": 0.50,
    "L2B_EQUITY": 0.50,
    NON_HQLA: 1.00,
}
#: Net outflows = outflows − min(inflows, 75% × outflows) (LCR40.1).
INFLOW_CAP = 0.75
INFLOW_CAP_REFERENCE = "LCR40.1"


# ===========================================================================
# NSFR (BCBS d295)
# ===========================================================================

NSFR_ASF_REFERENCE = "d295 ASF (paras 21–25)"
NSFR_RSF_REFERENCE = "d295 RSF (paras 36–43)"
NSFR_OFF_BALANCE_REFERENCE = "d295 para 47 (Table 3)"
#: The d295 paragraph of each ASF and RSF factor (Tables 1 and 2): a line of
#: the NSFR trace names the paragraph of its factor, not the range.
NSFR_ASF_PARAGRAPH: dict[float, str] = {1.00: "d295 para 21", 0.95: "d295 para 22", 0.90: "d295 para 23",
                                        0.50: "d295 para 24", 0.00: "d295 para 25"}
NSFR_RSF_PARAGRAPH: dict[float, str] = {0.00: "d295 para 36", 0.05: "d295 para 37", 0.10: "d295 para 38",
                                        0.15: "d295 para 39", 0.50: "d295 para 40", 0.65: "d295 para 41",
                                        0.85: "d295 para 42", 1.00: "d295 para 43"}
#: Derivative liabilities (d295 para 25(b) for the net amount, para 43(d) for
#: the add-on on gross liabilities) and "other liabilities" without a stated
#: maturity (para 25(a)), kept apart so the add-on never reaches the latter.
NSFR_DERIVATIVE_LIABILITY_REFERENCE = "d295 paras 25(b) and 43(d)"
NSFR_OTHER_LIABILITIES_REFERENCE = "d295 para 25(a)"
NSFR_DERIVATIVE_ASSET_REFERENCE = "d295 para 43(b)"

#: Residual maturity edges of the NSFR, in years.
NSFR_SHORT_MATURITY_YEARS = 0.5
NSFR_LONG_MATURITY_YEARS = 1.0
#: Non-FI loans of one year or more at or below this risk weight take 65%.
NSFR_LOW_RISK_WEIGHT = 0.35

ASF_CAPITAL = 1.00
ASF_LONG_TERM = 1.00
ASF_STABLE_RETAIL = 0.95
ASF_LESS_STABLE_RETAIL = 0.90
ASF_WHOLESALE_NON_FINANCIAL = 0.50
ASF_OPERATIONAL = 0.50
ASF_FINANCIAL_6M_1Y = 0.50
ASF_OTHER = 0.00

RSF_CASH_AND_RESERVES = 0.00
RSF_LEVEL1 = 0.05
RSF_LEVEL2A = 0.15
RSF_LEVEL2B = 0.50
RSF_FI_LOANS_UNDER_6M = 0.15
RSF_UNDER_1Y = 0.50
RSF_LOANS_LONG_LOW_RW = 0.65
RSF_LOANS_LONG_HIGH_RW = 0.85
RSF_NON_HQLA_SECURITIES_LONG = 0.85
RSF_EXCHANGE_TRADED_EQUITY = 0.85
#: Equity that is not exchange-traded (d295 para 43(c)).
RSF_NON_EXCHANGE_TRADED_EQUITY = 1.00
RSF_FULL = 1.00
RSF_NET_DERIVATIVE_ASSETS = 1.00
RSF_COMMITTED_FACILITIES = 0.05
NSFR_MINIMUM = 1.00


# ===========================================================================
# Capital and leverage minimums
# ===========================================================================

CAPITAL_REFERENCE = "RBC20.1"
CET1_MINIMUM = 0.045
TIER1_MINIMUM = 0.060
TOTAL_CAPITAL_MINIMUM = 0.080
CONSERVATION_BUFFER = 0.025
CONSERVATION_BUFFER_REFERENCE = "RBC30.2"
LEVERAGE_MINIMUM = 0.03
LEVERAGE_REFERENCE = "LEV20 / LEV40.4"


# ===========================================================================
# Settings: unconfirmed values and national discretions
# ===========================================================================


@dataclass(frozen=True)
class RegulatorySettings:
    """Values REGULATORY.md does not confirm, and discretions, made explicit.

    Every field has the default the engine uses when a run does not say
    otherwise; a run that overrides one records it in its parameters.
    """

    #: d424 Table 7 footnote 18 [U on thresholds]: an SCRA Grade A bank gets
    #: 30% instead of 40% when its CET1 ratio and leverage ratio reach these
    #: thresholds (read from ``cpty_cet1_ratio`` / ``cpty_leverage_ratio``).
    scra_grade_a_reduced_rw_enabled: bool = True
    scra_grade_a_cet1_threshold: float = 0.14
    scra_grade_a_leverage_threshold: float = 0.05
    #: d295 [U]: share of gross derivative liabilities that requires 100% RSF.
    #: Variation margin is not modelled, so the derivative liabilities of the
    #: positions are taken as gross.
    nsfr_derivative_liabilities_rsf: float = 0.20
    #: LEV30 [U]: floor on the CCF applied to off-balance items in the
    #: leverage exposure measure.
    leverage_ccf_floor: float = 0.10
    #: RBC30 [U on the range]: countercyclical buffer added to the CET1, Tier 1
    #: and total capital requirements with buffers, bounded by the maximum.
    countercyclical_buffer: float = 0.0
    countercyclical_buffer_max: float = 0.025
    #: BCBS238 para 78 (national discretion): stable retail deposits under an
    #: enhanced deposit insurance scheme run off at 3% instead of 5%.
    lcr_stable_retail_enhanced: bool = False
    #: BCBS238 paras 79–81: less-stable retail run-off, "at least 10%".
    lcr_less_stable_retail_rate: float = 0.10
    #: Other contingent funding obligations (guarantees, letters of credit,
    #: unconditionally cancellable lines): run-off left to national discretion
    #: and absent from REGULATORY.md.
    lcr_other_contingent_rate: float = 0.0
    #: d295 para 47: RSF of off-balance items other than committed facilities,
    #: left to national discretion and absent from REGULATORY.md.
    nsfr_other_contingent_rsf: float = 0.0
    #: d424 paras 64–65 and 70–71 (national discretion): general real estate
    #: weighted on the whole loan (Tables 11 and 13) or by loan-splitting.
    real_estate_approach: str = "whole_loan"
    #: Date the maturities are measured from (ISO, YYYY-MM-DD): needed when a
    #: book gives maturities as dates or days, so that month edges ("three
    #: months or less", "less than six months", "less than one year") are
    #: decided on the calendar. Empty: maturities in years only.
    as_of_date: str | None = None
    #: Risk weight of residential mortgage-backed securities held (securitisation
    #: framework, outside d424's tables; at least the 15% floor, at most 1250%).
    rmbs_risk_weight: float = 1.00

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "real_estate_approach":
                if value not in REAL_ESTATE_APPROACHES:
                    raise ValueError(
                        f"setting real_estate_approach must be one of {', '.join(REAL_ESTATE_APPROACHES)}, "
                        f"got {value!r}"
                    )
                continue
            if item.name == "as_of_date":
                if value is not None:
                    parse_as_of(value)
                continue
            if item.name == "rmbs_risk_weight":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                        or not RMBS_RW_FLOOR <= value <= 12.5:
                    raise ValueError(
                        f"setting rmbs_risk_weight must be a number between {RMBS_RW_FLOOR} and 12.5, got {value!r}"
                    )
                continue
            if item.type in ("bool", bool):
                if not isinstance(value, bool):
                    raise ValueError(f"setting {item.name} must be true or false, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"setting {item.name} must be a number, got {value!r}")
            if not math.isfinite(value) or not 0.0 <= value <= 1.0:
                raise ValueError(f"setting {item.name} must be a fraction between 0 and 1, got {value!r}")
        if self.lcr_less_stable_retail_rate < 0.10:
            raise ValueError(
                "setting lcr_less_stable_retail_rate must be at least 0.10 (BCBS238 paras 79–81), "
                f"got {self.lcr_less_stable_retail_rate!r}"
            )
        if self.countercyclical_buffer > self.countercyclical_buffer_max:
            raise ValueError(
                f"setting countercyclical_buffer ({self.countercyclical_buffer!r}) exceeds "
                f"countercyclical_buffer_max ({self.countercyclical_buffer_max!r})"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form, for run parameters."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegulatorySettings:
        """Build settings from a (partial) dict; unknown keys are an error."""
        if not isinstance(data, dict):
            raise ValueError(f"settings must be a JSON object, got {type(data).__name__}")
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**data)


DEFAULT_SETTINGS = RegulatorySettings()


def parse_as_of(value: Any) -> date:
    """The as-of date of a setting (ISO YYYY-MM-DD), or ValueError naming the setting."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"setting as_of_date must be a date YYYY-MM-DD, got {value!r}") from None


def pct(value: float) -> str:
    """Format a factor as a percentage for rule labels: 0.4 -> '40%', 0.025 -> '2.5%'."""
    text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"
