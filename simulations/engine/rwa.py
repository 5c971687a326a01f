"""Credit risk-weighted assets under the d424 standardised approach.

Each position gets a rule: the table row (or paragraph) that gave its risk
weight. Rules form a small catalogue, built once per settings from the
factor tables; a position carries the integer code of its rule, and the
output exposes it as a pandas Categorical.

The computation works on whole columns: rows are grouped by weighting method
(a handful of groups) and each group is weighted with array lookups.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .factors import (
    BANK_ECRA_SHORT_TERM_TABLE,
    BANK_ECRA_TABLE,
    CASH,
    CASH_IN_COLLECTION,
    CCF_CLASSES,
    CORPORATE_SME_UNRATED,
    CORPORATE_TABLE,
    COVERED_BOND_RATED_TABLE,
    COVERED_BOND_UNRATED_BY_ISSUER_RW,
    COVERED_BOND_UNRATED_REFERENCE,
    CRE_COUNTERPARTY_INDIVIDUAL_RW,
    CRE_COUNTERPARTY_SME_RW,
    CRE_GENERAL_LOW_LTV_CAP,
    CRE_GENERAL_TABLE,
    CRE_INCOME_TABLE,
    DEFAULT_SETTINGS,
    DEFAULTED_PROVISION_THRESHOLD,
    DEFAULTED_REFERENCE,
    DEFAULTED_RRE_REFERENCE,
    DEFAULTED_RRE_RW,
    DEFAULTED_RW_AT_OR_ABOVE_THRESHOLD,
    DEFAULTED_RW_BELOW_THRESHOLD,
    EQUITY_BY_LISTING,
    LOAN_SPLITTING_CRE_REFERENCE,
    LOAN_SPLITTING_RRE_REFERENCE,
    LOAN_SPLITTING_RRE_SECURED_RW,
    LOAN_SPLITTING_SHARE,
    MDB_TABLE,
    OTHER_ASSETS,
    OTHER_RETAIL,
    PSE_TABLE,
    QUALIFYING_MDB,
    REGULATORY_RETAIL,
    RETAIL_TRANSACTOR,
    RRE_GENERAL_TABLE,
    RMBS_REFERENCE,
    RRE_INCOME_TABLE,
    SCRA_GRADE_A_REDUCED_REFERENCE,
    SCRA_GRADE_A_REDUCED_RW,
    SCRA_GRADES,
    SCRA_REFERENCE,
    SOVEREIGN_TABLE,
    SUBORDINATED_DEBT,
    FlatWeight,
    LtvTable,
    RatingTable,
    RegulatorySettings,
    pct,
)
from .maturity import maturities
from .schema import (
    COUNTERPARTY_TYPES,
    EQUITY_LISTING_CODES,
    PRODUCT_CODES,
    RETAIL_SEGMENT_CODES,
    SCRA_GRADE_CODES,
    UNRATED_CODE,
    PositionArrays,
    position_arrays,
    row_groups,
    validate_positions,
)

# ===========================================================================
# Weighting methods
# ===========================================================================

#: How a row is weighted. Off-balance items and derivative assets take the
#: method of their counterparty type.
METHODS: tuple[str, ...] = (
    "sovereign", "pse", "mdb", "mdb_qualifying", "bank", "covered_bond", "corporate", "sme",
    "retail_regulatory", "retail_transactor", "retail_other", "rre_general", "rre_income", "cre_general",
    "cre_income", "defaulted", "equity", "subordinated_debt", "other_assets", "cash",
    "by_counterparty", "not_credit", "cash_in_collection", "rmbs",
)
_M = {name: i for i, name in enumerate(METHODS)}

_METHOD_OF_PRODUCT: dict[str, str] = {
    "cash": "cash", "central_bank_reserves": "sovereign", "sovereign": "sovereign", "pse": "pse", "mdb": "mdb",
    "mdb_qualifying": "mdb_qualifying", "bank": "bank", "covered_bond": "covered_bond", "corporate": "corporate",
    "sme_corporate": "sme", "retail_regulatory": "retail_regulatory", "retail_transactor": "retail_transactor",
    "retail_other": "retail_other", "rre_general": "rre_general", "rre_income": "rre_income",
    "cre_general": "cre_general", "cre_income": "cre_income", "defaulted_loan": "defaulted", "equity": "equity",
    "subordinated_debt": "subordinated_debt", "other_assets": "other_assets",
    "derivative_asset": "by_counterparty", "off_balance": "by_counterparty",
    "cash_in_collection": "cash_in_collection", "rmbs": "rmbs",
}
#: Other financial institutions are weighted as corporates (d424 para 38).
_METHOD_OF_COUNTERPARTY: dict[str, str] = {
    "sovereign": "sovereign", "central_bank": "sovereign", "pse": "pse", "mdb": "mdb", "bank": "bank",
    "other_fi": "corporate", "corporate": "corporate", "sme": "sme", "individual": "retail_regulatory",
}
METHOD_OF_PRODUCT = np.array([_M[_METHOD_OF_PRODUCT.get(p, "not_credit")] for p in PRODUCT_CODES], dtype=np.int8)
METHOD_OF_COUNTERPARTY = np.array([_M[_METHOD_OF_COUNTERPARTY[c]] for c in COUNTERPARTY_TYPES], dtype=np.int8)

EXPOSURE_CLASSES: tuple[str, ...] = (
    "sovereign", "pse", "mdb", "bank", "covered_bond", "corporate", "corporate_sme", "retail",
    "residential_real_estate", "commercial_real_estate", "defaulted", "equity", "subordinated_debt",
    "other_assets", "securitisation",
)
_CLASS_OF_METHOD: dict[str, str] = {
    "sovereign": "sovereign", "pse": "pse", "mdb": "mdb", "mdb_qualifying": "mdb", "bank": "bank",
    "covered_bond": "covered_bond", "corporate": "corporate", "sme": "corporate_sme",
    "retail_regulatory": "retail", "retail_transactor": "retail", "retail_other": "retail",
    "rre_general": "residential_real_estate", "rre_income": "residential_real_estate",
    "cre_general": "commercial_real_estate", "cre_income": "commercial_real_estate", "defaulted": "defaulted",
    "equity": "equity", "subordinated_debt": "subordinated_debt", "other_assets": "other_assets",
    "cash": "other_assets", "cash_in_collection": "other_assets", "rmbs": "securitisation",
}
CLASS_OF_METHOD = np.array(
    [EXPOSURE_CLASSES.index(_CLASS_OF_METHOD[m]) if m in _CLASS_OF_METHOD else -1 for m in METHODS],
    dtype=np.int16,
)
EXPOSURE_CLASS_DTYPE = pd.CategoricalDtype(list(EXPOSURE_CLASSES))

_SCRA_A = SCRA_GRADE_CODES.index("A")
#: LTV-banded tables, by weighting method.
_LTV_TABLES: dict[str, LtvTable] = {
    "rre_general": RRE_GENERAL_TABLE,
    "rre_income": RRE_INCOME_TABLE,
    "cre_general": CRE_GENERAL_TABLE,
    "cre_income": CRE_INCOME_TABLE,
}


# ===========================================================================
# Rule catalogue
# ===========================================================================


@dataclass(frozen=True)
class RuleBook:
    """Rule labels, their risk weights, and lookup arrays into them.

    ``weights[code]`` is the risk weight of a rule; it is ``nan`` for the
    Table 13 rules (a formula on the counterparty's weight) and for rows that
    are not credit exposures.
    """

    labels: tuple[str, ...]
    weights: np.ndarray
    #: rule code per rating grade, per rating table (-1: table defers)
    by_rating: dict[str, np.ndarray]
    scra_base: np.ndarray
    scra_short: np.ndarray
    scra_reduced: int
    covered_unrated_issuer_rw: np.ndarray
    covered_unrated_rules: np.ndarray
    by_ltv: dict[str, np.ndarray]
    flat: dict[str, int]
    defaulted_low: int
    defaulted_high: int
    defaulted_rre: int
    not_credit: int
    equity_by_listing: np.ndarray
    counterparty_individual: int
    counterparty_sme: int
    loan_splitting: dict[str, int]
    ccf_labels: tuple[str, ...]
    ccf_values: np.ndarray

    @property
    def dtype(self) -> pd.CategoricalDtype:
        return pd.CategoricalDtype(list(self.labels))


class _Builder:
    def __init__(self) -> None:
        self.labels: list[str] = []
        self.weights: list[float] = []

    def add(self, label: str, weight: float) -> int:
        self.labels.append(label)
        self.weights.append(weight)
        return len(self.labels) - 1

    def rating_table(self, table: RatingTable) -> np.ndarray:
        codes = [
            -1 if np.isnan(weight) else self.add(f"{table.reference}, {label}", weight)
            for label, weight in zip(table.bucket_labels, table.weights, strict=True)
        ]
        return np.array([codes[b] for b in table.bucket_of_grade], dtype=np.int16)

    def ltv_table(self, table: LtvTable, suffixes: tuple[str, ...] = ()) -> np.ndarray:
        suffixes = suffixes or ("",) * len(table.weights)
        return np.array(
            [
                self.add(f"{table.reference}, {band}{suffix}", weight)
                for band, weight, suffix in zip(table.band_labels, table.weights, suffixes, strict=True)
            ],
            dtype=np.int16,
        )

    def flat(self, weight: FlatWeight) -> int:
        return self.add(f"{weight.reference}, {weight.description}", weight.weight)


@functools.lru_cache(maxsize=16)
def rule_book(settings: RegulatorySettings = DEFAULT_SETTINGS) -> RuleBook:
    """The catalogue of risk-weight rules under ``settings``."""
    b = _Builder()
    not_credit = b.add("not a credit exposure", np.nan)
    by_rating = {
        "sovereign": b.rating_table(SOVEREIGN_TABLE),
        "pse": b.rating_table(PSE_TABLE),
        "mdb": b.rating_table(MDB_TABLE),
        "bank": b.rating_table(BANK_ECRA_TABLE),
        "bank_short": b.rating_table(BANK_ECRA_SHORT_TERM_TABLE),
        "covered_bond": b.rating_table(COVERED_BOND_RATED_TABLE),
        "corporate": b.rating_table(CORPORATE_TABLE),
    }
    scra_base = np.array(
        [b.add(f"{SCRA_REFERENCE}, Grade {g}", SCRA_GRADES[g].base) for g in SCRA_GRADE_CODES], dtype=np.int16
    )
    scra_short = np.array(
        [b.add(f"{SCRA_REFERENCE}, Grade {g}, short-term ≤ 3m", SCRA_GRADES[g].short_term)
         for g in SCRA_GRADE_CODES],
        dtype=np.int16,
    )
    scra_reduced = b.add(
        f"{SCRA_GRADE_A_REDUCED_REFERENCE}, Grade A, CET1 ≥ {pct(settings.scra_grade_a_cet1_threshold)} "
        f"and leverage ≥ {pct(settings.scra_grade_a_leverage_threshold)} (thresholds are settings)",
        SCRA_GRADE_A_REDUCED_RW,
    )
    issuer_rw = np.array(sorted(COVERED_BOND_UNRATED_BY_ISSUER_RW))
    covered_unrated = np.array(
        [
            b.add(f"{COVERED_BOND_UNRATED_REFERENCE}, unrated covered bond, issuer RW {pct(rw)}",
                  COVERED_BOND_UNRATED_BY_ISSUER_RW[rw])
            for rw in issuer_rw
        ],
        dtype=np.int16,
    )
    flat = {
        "mdb_qualifying": b.flat(QUALIFYING_MDB),
        "sme": b.flat(CORPORATE_SME_UNRATED),
        "retail_regulatory": b.flat(REGULATORY_RETAIL),
        "retail_transactor": b.flat(RETAIL_TRANSACTOR),
        "retail_other": b.flat(OTHER_RETAIL),

        "subordinated_debt": b.flat(SUBORDINATED_DEBT),
        "other_assets": b.flat(OTHER_ASSETS),
        "cash": b.flat(CASH),
        "cash_in_collection": b.flat(CASH_IN_COLLECTION),
        "rmbs": b.add(f"{RMBS_REFERENCE}: RW {pct(settings.rmbs_risk_weight)} (setting)", settings.rmbs_risk_weight),
    }
    equity_by_listing = np.array([b.flat(EQUITY_BY_LISTING[code]) for code in EQUITY_LISTING_CODES], dtype=np.int16)
    counterparty_individual = b.add(
        f"d424 para 70, RW of counterparty: individual {pct(CRE_COUNTERPARTY_INDIVIDUAL_RW)}",
        CRE_COUNTERPARTY_INDIVIDUAL_RW,
    )
    counterparty_sme = b.add(f"d424 para 70, RW of counterparty: SME {pct(CRE_COUNTERPARTY_SME_RW)}",
                             CRE_COUNTERPARTY_SME_RW)
    share = pct(LOAN_SPLITTING_SHARE)
    loan_splitting = {
        "rre_general": b.add(
            f"{LOAN_SPLITTING_RRE_REFERENCE}: {pct(LOAN_SPLITTING_RRE_SECURED_RW)} on the part up to {share} of "
            "the property value (less liens ranking ahead, shared pro rata with pari passu liens), "
            "counterparty RW on the rest", np.nan),
        "cre_general": b.add(
            f"{LOAN_SPLITTING_CRE_REFERENCE}: min({pct(CRE_GENERAL_LOW_LTV_CAP)}, counterparty RW) on the part up "
            f"to {share} of the property value (less liens ranking ahead, shared pro rata with pari passu liens), "
            "counterparty RW on the rest", np.nan),
    }
    cap = pct(CRE_GENERAL_LOW_LTV_CAP)
    # Table 13 gives a formula on the counterparty's weight, not a number.
    suffixes = {"cre_general": (f", min({cap}, counterparty RW)", ", counterparty RW", ", counterparty RW")}
    by_ltv = {name: b.ltv_table(table, suffixes.get(name, ())) for name, table in _LTV_TABLES.items()}
    threshold = pct(DEFAULTED_PROVISION_THRESHOLD)
    defaulted_low = b.add(f"{DEFAULTED_REFERENCE}, defaulted, SP < {threshold}", DEFAULTED_RW_BELOW_THRESHOLD)
    defaulted_high = b.add(
        f"{DEFAULTED_REFERENCE}, defaulted, SP ≥ {threshold}", DEFAULTED_RW_AT_OR_ABOVE_THRESHOLD
    )
    defaulted_rre = b.add(f"{DEFAULTED_RRE_REFERENCE}, defaulted general RRE", DEFAULTED_RRE_RW)
    ccf_labels = tuple(f"{c.reference}, {c.description}: CCF {pct(c.ccf)}" for c in CCF_CLASSES.values())
    return RuleBook(
        labels=tuple(b.labels),
        weights=np.array(b.weights),
        by_rating=by_rating,
        scra_base=scra_base,
        scra_short=scra_short,
        scra_reduced=scra_reduced,
        covered_unrated_issuer_rw=issuer_rw,
        covered_unrated_rules=covered_unrated,
        by_ltv=by_ltv,
        flat=flat,
        defaulted_low=defaulted_low,
        defaulted_high=defaulted_high,
        defaulted_rre=defaulted_rre,
        not_credit=not_credit,
        equity_by_listing=equity_by_listing,
        counterparty_individual=counterparty_individual,
        counterparty_sme=counterparty_sme,
        loan_splitting=loan_splitting,
        ccf_labels=ccf_labels,
        ccf_values=np.array([c.ccf for c in CCF_CLASSES.values()]),
    )


# ===========================================================================
# Weighting
# ===========================================================================


@dataclass(frozen=True)
class RwaArrays:
    """Per-position results as arrays (codes index the rule book)."""

    exposure_class: np.ndarray
    ccf: np.ndarray
    ccf_class: np.ndarray
    ead: np.ndarray
    risk_weight: np.ndarray
    rwa: np.ndarray
    rule: np.ndarray
    book: RuleBook
    #: Rule of the counterparty weight a general CRE or loan-splitting row used (-1: none).
    counterparty_rule: np.ndarray | None = None


def _ltv_band(table: LtvTable, ltv: np.ndarray) -> np.ndarray:
    # side="left": a value equal to an upper bound stays in the lower band.
    return np.searchsorted(np.array(table.upper_bounds), ltv, side="left")


class _Weigher:
    """Rule codes for groups of rows sharing a weighting method."""

    def __init__(self, a: PositionArrays, book: RuleBook, settings: RegulatorySettings) -> None:
        self.a = a
        self.book = book
        self.settings = settings
        self.short_term = maturities(a, settings).short_term_original
        self.ltv = _ltv_with_other_liens(a)

    def rules(self, method: int, idx: np.ndarray) -> np.ndarray:
        a, book = self.a, self.book
        name = METHODS[method]
        if name in ("sovereign", "pse", "mdb", "corporate"):
            return book.by_rating[name][a.rating[idx]]
        if name == "bank":
            return self._bank(idx, a.rating[idx], short=self._short_term(idx))
        if name == "covered_bond":
            return self._covered_bond(idx)
        if name == "sme":
            rating = a.rating[idx]
            return np.where(rating == UNRATED_CODE, book.flat["sme"], book.by_rating["corporate"][rating])
        if name in book.flat:
            return np.full(len(idx), book.flat[name], dtype=np.int16)
        if name == "equity":
            listing = np.maximum(a.equity_listing[idx], 0)  # empty is listed (the default)
            return book.equity_by_listing[listing]
        if name in _LTV_TABLES:
            return book.by_ltv[name][_ltv_band(_LTV_TABLES[name], self.ltv[idx])]
        if name == "defaulted":
            return self._defaulted(idx)
        return np.full(len(idx), book.not_credit, dtype=np.int16)

    def _short_term(self, idx: np.ndarray) -> np.ndarray:
        # An unknown original maturity is not short-term (NaN compares false).
        return self.short_term[idx]

    def _bank(self, idx: np.ndarray, rating: np.ndarray, short: np.ndarray) -> np.ndarray:
        """ECRA (Table 6) for rated banks, SCRA (Table 7) for unrated ones."""
        a, book, settings = self.a, self.book, self.settings
        rated = np.where(short, book.by_rating["bank_short"][rating], book.by_rating["bank"][rating])
        grade = a.scra_grade[idx]
        safe_grade = np.maximum(grade, 0)  # validation guarantees a grade where it is used
        unrated = np.where(short, book.scra_short[safe_grade], book.scra_base[safe_grade])
        if settings.scra_grade_a_reduced_rw_enabled:
            reduced = (
                (grade == _SCRA_A)
                & ~short
                & (a.cpty_cet1_ratio[idx] >= settings.scra_grade_a_cet1_threshold)
                & (a.cpty_leverage_ratio[idx] >= settings.scra_grade_a_leverage_threshold)
            )
            unrated = np.where(reduced, book.scra_reduced, unrated)
        return np.where(rating == UNRATED_CODE, unrated, rated).astype(np.int16)

    def _covered_bond(self, idx: np.ndarray) -> np.ndarray:
        """Table 8 on the bond's rating; unrated bonds Table 9 on the issuer's weight."""
        a, book = self.a, self.book
        rating = a.rating[idx]
        rated = book.by_rating["covered_bond"][rating]
        issuer_rule = self._bank(idx, a.issuer_rating[idx], short=np.zeros(len(idx), dtype=bool))
        issuer_rw = book.weights[issuer_rule]
        position = np.searchsorted(book.covered_unrated_issuer_rw, issuer_rw)
        unrated = book.covered_unrated_rules[np.minimum(position, len(book.covered_unrated_rules) - 1)]
        return np.where(rating == UNRATED_CODE, unrated, rated).astype(np.int16)

    def _defaulted(self, idx: np.ndarray) -> np.ndarray:
        """d424 paras 92–93, on the provision ratio of the outstanding amount."""
        a, book = self.a, self.book
        notional = a.notional[idx]
        provision = a.specific_provision[idx]
        ratio = np.divide(provision, notional, out=np.zeros(len(idx)), where=notional > 0)
        rules = np.where(ratio >= DEFAULTED_PROVISION_THRESHOLD, book.defaulted_high, book.defaulted_low)
        general_rre = a.product[idx] == PRODUCT_CODES.index("rre_general")
        return np.where(general_rre, book.defaulted_rre, rules).astype(np.int16)

    def counterparty_weight(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The "RW of counterparty" of general real estate (d424 para 70), and the rule that gave it."""
        cpty = self.a.counterparty_type[idx]
        method = METHOD_OF_COUNTERPARTY[cpty]
        rule = np.empty(len(idx), dtype=np.int16)
        for m, group in row_groups(method, len(METHODS)):
            rule[group] = self.rules(m, idx[group])
        rule[cpty == COUNTERPARTY_TYPES.index("individual")] = self.book.counterparty_individual
        rule[cpty == COUNTERPARTY_TYPES.index("sme")] = self.book.counterparty_sme
        return self.book.weights[rule], rule


def _property_value(a: PositionArrays) -> np.ndarray:
    """The property's value: stated, or the bank's loan over its LTV."""
    return np.where(np.isnan(a.property_value), a.notional / a.ltv, a.property_value)


def _ltv_with_other_liens(a: PositionArrays) -> np.ndarray:
    """Whole-loan LTV: the loan amount includes the liens of others ranking ahead or pari passu (d424 para 62)."""
    others = np.nan_to_num(a.senior_liens) + np.nan_to_num(a.pari_passu_liens)
    if not others.any():
        return a.ltv
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(others > 0, a.ltv + others / _property_value(a), a.ltv)


def loan_splitting_secured_part(
    loan: np.ndarray, exposure: np.ndarray, property_value: np.ndarray, senior: np.ndarray, pari_passu: np.ndarray
) -> np.ndarray:
    """The part of the exposure that takes the secured weight under loan-splitting (d424 paras 65, 71).

    55% of the property value, less the liens of others ranking ahead; when
    others hold pari passu liens, that amount is shared pro rata between them
    and the bank's lien (``loan``). The part is at most the exposure.
    """
    available = LOAN_SPLITTING_SHARE * property_value - senior
    with np.errstate(divide="ignore", invalid="ignore"):
        shared = np.where(pari_passu > 0, available * pari_passu / (pari_passu + loan), 0.0)
    return np.clip(available - shared, 0.0, exposure)


def rwa_arrays(a: PositionArrays, settings: RegulatorySettings = DEFAULT_SETTINGS) -> RwaArrays:
    """Weight every position of validated arrays."""
    book = rule_book(settings)
    weigher = _Weigher(a, book, settings)
    n = len(a.product)

    method = METHOD_OF_PRODUCT[a.product]
    by_cpty = method == _M["by_counterparty"]
    method[by_cpty] = METHOD_OF_COUNTERPARTY[a.counterparty_type[by_cpty]]
    # An off-balance item to an individual is weighted by its retail segment.
    segment = np.where(by_cpty, a.retail_segment, -1)
    method[segment == RETAIL_SEGMENT_CODES.index("transactor")] = _M["retail_transactor"]
    method[segment == RETAIL_SEGMENT_CODES.index("other")] = _M["retail_other"]
    defaulted = a.defaulted & (method != _M["not_credit"])
    method[defaulted] = _M["defaulted"]

    rule = np.empty(n, dtype=np.int16)
    for m, idx in row_groups(method, len(METHODS)):
        rule[idx] = weigher.rules(m, idx)
    risk_weight = book.weights[rule]

    counterparty_rule = np.full(n, -1, dtype=np.int16)
    splitting = settings.real_estate_approach == "loan_splitting"
    cre = np.flatnonzero(method == _M["cre_general"])
    if len(cre):
        counterparty_rw, counterparty_rule[cre] = weigher.counterparty_weight(cre)
        low_ltv = _ltv_band(CRE_GENERAL_TABLE, weigher.ltv[cre]) == 0
        risk_weight[cre] = np.where(
            low_ltv, np.minimum(CRE_GENERAL_LOW_LTV_CAP, counterparty_rw), counterparty_rw
        )

    credit = method != _M["not_credit"]
    off_balance = a.ccf_class >= 0
    ccf = np.where(off_balance, book.ccf_values[np.maximum(a.ccf_class, 0)], np.nan)
    ead = np.where(credit, a.carrying_amount, 0.0)
    ead = np.where(off_balance, ead * ccf, ead)
    rwa = np.where(credit, ead * risk_weight, 0.0)

    if splitting:
        for name in ("rre_general", "cre_general"):
            rows = np.flatnonzero(method == _M[name])
            if not len(rows):
                continue
            counterparty_rw, counterparty_rule[rows] = weigher.counterparty_weight(rows)
            secured_rw = (np.full(len(rows), LOAN_SPLITTING_RRE_SECURED_RW) if name == "rre_general"
                          else np.minimum(CRE_GENERAL_LOW_LTV_CAP, counterparty_rw))
            secured = loan_splitting_secured_part(
                a.notional[rows], ead[rows], _property_value(a)[rows], np.nan_to_num(a.senior_liens[rows]),
                np.nan_to_num(a.pari_passu_liens[rows]),
            )
            rwa[rows] = secured * secured_rw + (ead[rows] - secured) * counterparty_rw
            risk_weight[rows] = np.divide(rwa[rows], ead[rows], out=secured_rw.astype(float), where=ead[rows] > 0)
            rule[rows] = book.loan_splitting[name]
    return RwaArrays(
        exposure_class=CLASS_OF_METHOD[method],
        ccf=ccf,
        ccf_class=a.ccf_class,
        ead=ead,
        risk_weight=risk_weight,
        rwa=rwa,
        rule=rule,
        book=book,
        counterparty_rule=counterparty_rule,
    )


def rwa_frame(positions: pd.DataFrame, result: RwaArrays) -> pd.DataFrame:
    """The per-position RWA table of :func:`compute_rwa`."""
    return pd.DataFrame(
        {
            "position_id": positions["position_id"],
            "exposure_class": pd.Categorical.from_codes(result.exposure_class, dtype=EXPOSURE_CLASS_DTYPE),
            "ccf": result.ccf,
            "ead": result.ead,
            "risk_weight": result.risk_weight,
            "rwa": result.rwa,
            "rule": pd.Categorical.from_codes(result.rule, dtype=result.book.dtype),
            "ccf_rule": pd.Categorical.from_codes(
                result.ccf_class, dtype=pd.CategoricalDtype(list(result.book.ccf_labels))
            ),
            "counterparty_rule": pd.Categorical.from_codes(
                result.counterparty_rule if result.counterparty_rule is not None
                else np.full(len(positions), -1, dtype=np.int16),
                dtype=result.book.dtype,
            ),
        }
    )


def compute_rwa(positions: pd.DataFrame, settings: RegulatorySettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """Risk-weight every position.

    Validates ``positions`` and returns one row per position, in the same
    order: ``position_id``; ``exposure_class`` (empty for funding, capital and
    inflows); ``ccf`` (off-balance items only, else NaN); ``ead`` (notional
    net of specific provisions, × CCF off balance; 0 when not a credit
    exposure); ``risk_weight`` (NaN when not a credit exposure); ``rwa``;
    ``rule`` (categorical: the table and band that gave the weight) and
    ``ccf_rule`` (categorical: the CCF paragraph, off-balance items only).
    """
    canonical = validate_positions(positions, as_of=settings.as_of_date)
    return rwa_frame(canonical, rwa_arrays(position_arrays(canonical), settings))
