"""The positions format: columns, codes, units, and its validation.

One row is one position of the balance sheet, off-balance book, funding or
30-day contractual inflows. The format is documented for people in
``docs/positions_format.md``; this module is its executable form.

Units: amounts in EUR (floats, cents), LTV as a fraction (0.8 = 80%),
maturities in years of 365 days, ratios as fractions.

``validate_positions`` turns any frame that follows the format (an upload, a
generated portfolio) into the canonical one the calculators read: canonical
column order, categorical codes with fixed categories, float64 amounts,
defaults filled in. It stops at the first problem and names its 1-based data
row (row 1 is the first data row, line 2 of a CSV file with a header) and its
column.
"""

from __future__ import annotations

import math
from datetime import date
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .factors import CCF_CLASSES, EQUITY_BY_LISTING, HQLA_LEVELS, NON_HQLA, RATING_GRADES, RETAIL_SEGMENTS, UNRATED

# ===========================================================================
# Errors
# ===========================================================================


class EngineInputError(ValueError):
    """Bad input to the engine, with a message meant for the person who gave it."""


class PositionsFormatError(EngineInputError):
    """A positions frame or file that does not follow the format.

    ``row`` is the 1-based data row (``None`` when the problem is not tied to
    a row, such as a missing column); ``column`` the offending column.
    """

    def __init__(self, row: int | None, column: str | None, message: str) -> None:
        self.row = row
        self.column = column
        self.message = message
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class CapitalFormatError(EngineInputError):
    """A capital stack that is not valid; ``field`` names the offending key."""

    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"capital field '{field}': {message}" if field else message)


# ===========================================================================
# Codes
# ===========================================================================

SIDES: tuple[str, ...] = ("asset", "off_balance", "liability", "capital", "inflow")

COUNTERPARTY_TYPES: tuple[str, ...] = (
    "sovereign", "central_bank", "pse", "mdb", "bank", "other_fi", "corporate", "sme", "individual",
)
SCRA_GRADE_CODES: tuple[str, ...] = ("A", "B", "C")
EQUITY_LISTING_CODES: tuple[str, ...] = tuple(EQUITY_BY_LISTING)
RETAIL_SEGMENT_CODES: tuple[str, ...] = RETAIL_SEGMENTS
CCF_CLASS_CODES: tuple[str, ...] = tuple(CCF_CLASSES)
HQLA_LEVEL_CODES: tuple[str, ...] = (*HQLA_LEVELS, NON_HQLA)

#: Collateral of secured funding and reverse repos may be of any level.
_COLLATERAL_LEVELS: tuple[str, ...] = (NON_HQLA, *HQLA_LEVELS)
_PUBLIC_SECTOR_LEVELS: tuple[str, ...] = (NON_HQLA, "L1", "L2A")


@dataclass(frozen=True)
class ProductSpec:
    """What a product code means and which optional columns it uses."""

    code: str
    side: str
    description: str
    #: counterparty_type filled in when the column is empty (None: stays empty).
    default_counterparty: str | None = None
    #: counterparty_type must be given (its risk weight or run-off depends on it).
    requires_counterparty: bool = False
    #: hqla_level values allowed; the first one is the default.
    hqla_levels: tuple[str, ...] = (NON_HQLA,)
    real_estate: bool = False
    #: may carry defaulted = true (on-balance loans and debt securities).
    defaultable: bool = False


_P = ProductSpec
PRODUCTS: tuple[ProductSpec, ...] = (
    # -- on-balance assets -------------------------------------------------
    _P("cash", "asset", "Cash, coins and notes", "central_bank", hqla_levels=("L1",)),
    _P("central_bank_reserves", "asset", "Reserves at the central bank", "central_bank", hqla_levels=("L1",)),
    _P("sovereign", "asset", "Loans to and bonds of sovereigns and central banks", "sovereign",
       hqla_levels=_PUBLIC_SECTOR_LEVELS, defaultable=True),
    _P("pse", "asset", "Public sector entities", "pse", hqla_levels=_PUBLIC_SECTOR_LEVELS, defaultable=True),
    _P("mdb", "asset", "Multilateral development banks", "mdb", hqla_levels=_PUBLIC_SECTOR_LEVELS,
       defaultable=True),
    _P("mdb_qualifying", "asset", "Qualifying multilateral development banks (0%)", "mdb",
       hqla_levels=_PUBLIC_SECTOR_LEVELS),
    _P("bank", "asset", "Exposures to banks (ECRA if rated, SCRA if unrated)", "bank", defaultable=True),
    _P("covered_bond", "asset", "Covered bonds", "bank", hqla_levels=(NON_HQLA, "L2A"), defaultable=True),
    _P("corporate", "asset", "Corporates", "corporate", hqla_levels=(NON_HQLA, "L2A", "L2B_CORPORATE"),
       defaultable=True),
    _P("sme_corporate", "asset", "Corporate SMEs (sales ≤ EUR 50m)", "sme", defaultable=True),
    _P("retail_regulatory", "asset", "Regulatory retail", "individual", defaultable=True),
    _P("retail_transactor", "asset", "Retail transactors", "individual", defaultable=True),
    _P("retail_other", "asset", "Other retail", "individual", defaultable=True),
    _P("rre_general", "asset", "General residential real estate", "individual", real_estate=True,
       defaultable=True),
    _P("rre_income", "asset", "Income-producing residential real estate", "individual", real_estate=True,
       defaultable=True),
    _P("cre_general", "asset", "General commercial real estate", requires_counterparty=True, real_estate=True,
       defaultable=True),
    _P("cre_income", "asset", "Income-producing commercial real estate", "corporate", real_estate=True,
       defaultable=True),
    _P("defaulted_loan", "asset", "Defaulted loans (always treated as defaulted)", "corporate", defaultable=True),
    _P("equity", "asset", "Equity holdings", "corporate", hqla_levels=(NON_HQLA, "L2B_EQUITY")),
    _P("subordinated_debt", "asset", "Subordinated debt and non-equity capital instruments", "bank",
       defaultable=True),
    _P("other_assets", "asset", "Other assets (fixed assets, prepayments)"),
    _P("cash_in_collection", "asset", "Cash items in the process of collection", "bank"),
    _P("rmbs", "asset", "Residential mortgage-backed securities held (HQLA Level 2B when eligible)", "other_fi",
       hqla_levels=(NON_HQLA, "L2B_RMBS")),
    _P("derivative_asset", "asset", "Net derivative assets (replacement cost)", requires_counterparty=True),
    # -- off-balance -------------------------------------------------------
    _P("off_balance", "off_balance", "Off-balance-sheet item (undrawn amount), with its CCF class",
       requires_counterparty=True),
    # -- funding -----------------------------------------------------------
    _P("retail_deposit_stable", "liability", "Stable retail deposits (insured, established relationship)",
       "individual"),
    _P("retail_deposit_less_stable", "liability", "Less-stable retail deposits", "individual"),
    _P("retail_term_deposit", "liability", "Retail term deposits", "individual"),
    _P("operational_deposit", "liability", "Operational deposits (clearing, custody, cash management)",
       "corporate"),
    _P("corporate_deposit", "liability", "Non-operational deposits of non-financial corporates", "corporate"),
    _P("fi_funding", "liability", "Unsecured funding from financial institutions", "bank"),
    _P("secured_funding", "liability", "Secured funding (repos), hqla_level is the collateral's", "bank",
       hqla_levels=_COLLATERAL_LEVELS),
    _P("long_term_debt", "liability", "Debt securities issued"),
    _P("derivative_liability", "liability", "Net derivative liabilities", "bank"),
    _P("other_liability", "liability",
       "Other liabilities (payables, accruals, provisions): no stable funding, no derivative add-on"),
    _P("capital_cet1", "capital", "Common Equity Tier 1 capital"),
    _P("capital_at1", "capital", "Additional Tier 1 capital"),
    _P("capital_tier2", "capital", "Tier 2 capital"),
    # -- 30-day contractual inflows -----------------------------------------
    _P("inflow_retail", "inflow", "Inflows from performing retail and small-business loans", "individual"),
    _P("inflow_wholesale_nonfin", "inflow", "Inflows from non-financial wholesale counterparties", "corporate"),
    _P("inflow_financial", "inflow", "Inflows from financial institutions and central banks", "bank"),
    _P("inflow_reverse_repo", "inflow", "Maturing reverse repos, hqla_level is the collateral's", "bank",
       hqla_levels=_COLLATERAL_LEVELS),
)
del _P

PRODUCT_CODES: tuple[str, ...] = tuple(p.code for p in PRODUCTS)
PRODUCT_BY_CODE: dict[str, ProductSpec] = {p.code: p for p in PRODUCTS}
REAL_ESTATE_PRODUCTS: tuple[str, ...] = tuple(p.code for p in PRODUCTS if p.real_estate)


def products_on_side(side: str) -> tuple[str, ...]:
    """Product codes of one side (asset, off_balance, liability, capital, inflow)."""
    return tuple(p.code for p in PRODUCTS if p.side == side)


# ===========================================================================
# Columns
# ===========================================================================


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the positions format."""

    name: str
    kind: str  # "id", "category", "float", "bool"
    required: bool
    unit: str
    description: str
    categories: tuple[str, ...] = ()


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("position_id", "id", True, "text", "Unique identifier of the position."),
    ColumnSpec("product", "category", True, "code", "Product code (see the product table).", PRODUCT_CODES),
    ColumnSpec("notional", "float", True, "EUR",
               "Outstanding amount: drawn balance of an asset, undrawn amount of an off-balance item, "
               "balance of a liability or capital instrument, contractual amount of a 30-day inflow."),
    ColumnSpec("specific_provision", "float", False, "EUR", "Specific provisions held against the position."),
    ColumnSpec("rating", "category", False, "grade", "External rating of the exposure; NR when unrated.",
               RATING_GRADES),
    ColumnSpec("issuer_rating", "category", False, "grade", "Rating of the issuing bank of an unrated covered bond.",
               RATING_GRADES),
    ColumnSpec("scra_grade", "category", False, "grade", "SCRA grade of an unrated bank (A, B or C).",
               SCRA_GRADE_CODES),
    ColumnSpec("counterparty_type", "category", False, "code", "Type of the counterparty.", COUNTERPARTY_TYPES),
    ColumnSpec("ltv", "float", False, "fraction", "Loan-to-value at origination (0.8 = 80%); real estate only."),
    ColumnSpec("original_maturity_years", "float", False, "years",
               "Original maturity; decides short-term bank exposures (≤ 0.25)."),
    ColumnSpec("residual_maturity_years", "float", False, "years",
               "Residual contractual maturity; empty for no contractual maturity."),
    ColumnSpec("defaulted", "bool", False, "flag", "Defaulted (> 90 days past due or unlikely to pay)."),
    ColumnSpec("ccf_class", "category", False, "code", "Credit conversion factor class of an off-balance item.",
               CCF_CLASS_CODES),
    ColumnSpec("liquidity_facility", "bool", False, "flag",
               "An off-balance commitment that is a liquidity (not credit) facility."),
    ColumnSpec("hqla_level", "category", False, "code",
               "HQLA level of a security held, or of the collateral of secured funding and reverse repos.",
               HQLA_LEVEL_CODES),
    ColumnSpec("insured", "bool", False, "flag", "Deposit fully covered by an effective deposit insurance scheme."),
    ColumnSpec("cpty_cet1_ratio", "float", False, "fraction", "CET1 ratio of an unrated counterparty bank."),
    ColumnSpec("cpty_leverage_ratio", "float", False, "fraction", "Leverage ratio of an unrated counterparty bank."),
    ColumnSpec("equity_listing", "category", False, "code",
               "Equity only: listed (default), unlisted, speculative_unlisted or legislated_programme.",
               EQUITY_LISTING_CODES),
    ColumnSpec("retail_segment", "category", False, "code",
               "Off-balance item to an individual: regulatory (default, 75%), transactor (45%) or other (100%).",
               RETAIL_SEGMENT_CODES),
    ColumnSpec("penalty_free_withdrawal", "bool", False, "flag",
               "Retail term deposit the depositor may withdraw within 30 days without a significant penalty."),
    ColumnSpec("market_value", "float", False, "EUR",
               "Market value of a holding; counts for HQLA (carrying amount when empty). RWA and leverage "
               "always use the carrying amount."),
    ColumnSpec("property_value", "float", False, "EUR",
               "Real estate only: value of the property (default: notional / ltv)."),
    ColumnSpec("senior_liens", "float", False, "EUR",
               "Real estate only: liens not held by the bank that rank ahead of the bank's."),
    ColumnSpec("pari_passu_liens", "float", False, "EUR",
               "Real estate only: liens not held by the bank that rank pari passu with the bank's."),
    ColumnSpec("residual_maturity_days", "float", False, "days",
               "Residual maturity in calendar days from the as-of date (instead of years)."),
    ColumnSpec("original_maturity_days", "float", False, "days",
               "Original maturity in calendar days (instead of years)."),
)
#: Columns read from a file but not kept: dates become days from the as-of date.
DATE_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("maturity_date", "date", False, "YYYY-MM-DD",
               "Contractual maturity date; with the as-of date it gives the residual maturity."),
    ColumnSpec("start_date", "date", False, "YYYY-MM-DD",
               "Start (origination) date; with maturity_date it gives the original maturity."),
)
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
INPUT_COLUMN_NAMES: tuple[str, ...] = (*COLUMN_NAMES, *(c.name for c in DATE_COLUMNS))
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)
CATEGORY_DTYPES: dict[str, pd.CategoricalDtype] = {
    c.name: pd.CategoricalDtype(list(c.categories), ordered=False) for c in COLUMNS if c.kind == "category"
}
#: Position of NR in the rating categories (the default rating).
UNRATED_CODE = RATING_GRADES.index(UNRATED)


def categorical(column: str, codes: np.ndarray) -> pd.Categorical:
    """Build a column's categorical from integer codes (-1 for empty)."""
    return pd.Categorical.from_codes(codes, dtype=CATEGORY_DTYPES[column])


def canonical_frame(position_id: pd.Series | pd.api.extensions.ExtensionArray, **columns: np.ndarray) -> pd.DataFrame:
    """Assemble a canonical positions frame from its ids and column arrays.

    Category columns are given as integer codes; every column of the format
    must be present.
    """
    data: dict[str, Any] = {"position_id": position_id}
    n = len(position_id)
    for spec in COLUMNS[1:]:
        values = columns.get(spec.name)
        if values is None:
            # Columns added to the format later take their empty value, so a
            # producer written before them still builds a canonical frame.
            values = {"category": np.full(n, -1, dtype=np.int16), "bool": np.zeros(n, dtype=bool)}.get(
                spec.kind, np.full(n, np.nan)
            )
            product = np.asarray(columns["product"])
            if spec.name == "equity_listing":
                values[product == PRODUCT_CODES.index("equity")] = EQUITY_LISTING_CODES.index("listed")
            elif spec.name == "retail_segment":
                individual = np.asarray(columns["counterparty_type"]) == COUNTERPARTY_TYPES.index("individual")
                values[(product == PRODUCT_CODES.index("off_balance")) & individual] = (
                    RETAIL_SEGMENT_CODES.index("regulatory"))
        data[spec.name] = categorical(spec.name, values) if spec.kind == "category" else values
    return pd.DataFrame(data)


# Lookup arrays indexed by product code, used by the calculators.
PRODUCT_SIDE_CODE: np.ndarray = np.array([SIDES.index(p.side) for p in PRODUCTS], dtype=np.int8)


def product_code(code: str) -> int:
    """Integer code of a product in the ``product`` categories."""
    return PRODUCT_CODES.index(code)


def product_mask(product_codes: np.ndarray, codes: tuple[str, ...]) -> np.ndarray:
    """Boolean mask of the rows whose product is one of ``codes``."""
    lookup = np.zeros(len(PRODUCT_CODES), dtype=bool)
    lookup[[product_code(c) for c in codes]] = True
    return lookup[product_codes]


# ===========================================================================
# Validation
# ===========================================================================

_MAX_LTV = 5.0  # an LTV above 500% is almost surely a percentage typed as a number
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _show(value: Any) -> str:
    """A value as a message shows it: plain Python (``-250.0``), never a library type."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _fail(mask: np.ndarray, column: str, message: Callable[[int], str] | str) -> None:
    """Raise for the first row of ``mask``, if any."""
    if mask.any():
        index = int(np.argmax(mask))
        text = message(index) if callable(message) else message
        raise PositionsFormatError(index + 1, column, text)


def _normalise_text(value: Any, upper: bool) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip().replace("–", "-").replace("−", "-")
    if not text:
        return None
    return text.upper() if upper else text.lower()


def _category_codes(series: pd.Series, column: str, upper: bool) -> np.ndarray:
    """Codes of ``series`` in the column's categories; -1 for empty cells."""
    dtype = CATEGORY_DTYPES[column]
    if isinstance(series.dtype, pd.CategoricalDtype) and series.dtype == dtype:
        return series.cat.codes.to_numpy().astype(np.int16)  # a writable copy
    raw = pd.Categorical(series)
    allowed = {value: i for i, value in enumerate(dtype.categories)}
    # Map the few distinct values, then the codes: no per-row Python work.
    mapping = np.empty(len(raw.categories) + 1, dtype=np.int16)
    mapping[-1] = -1
    for i, value in enumerate(raw.categories):
        text = _normalise_text(value, upper)
        mapping[i] = -1 if text is None else allowed.get(text, -2)
    codes = mapping[raw.codes]
    _fail(codes == -2, column,
          lambda i: f"unknown value {_show(series.iloc[i])}; allowed: {', '.join(dtype.categories)}")
    return codes


def _float_values(series: pd.Series, column: str) -> np.ndarray:
    """Float64 values of ``series``; NaN for empty cells, error for non-numbers."""
    if series.dtype == np.float64:
        values = series.to_numpy()
    else:
        if series.dtype == bool or pd.api.types.is_bool_dtype(series.dtype):
            _fail(np.ones(len(series), dtype=bool), column, lambda i: f"not a number: {_show(series.iloc[i])}")
        numeric = pd.to_numeric(series, errors="coerce")
        empty = series.isna().to_numpy()
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            empty = empty | series.astype("str").str.strip().eq("").to_numpy()
        values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
        _fail(np.isnan(values) & ~empty, column, lambda i: f"not a number: {_show(series.iloc[i])}")
    _fail(np.isinf(values), column, lambda i: f"not a finite number: {_show(series.iloc[i])}")
    return values


def _bool_values(series: pd.Series, column: str) -> np.ndarray:
    """Boolean values of ``series``; empty cells are false."""
    if series.dtype == bool:
        return series.to_numpy()
    raw = pd.Categorical(series)
    mapping = np.empty(len(raw.categories) + 1, dtype=np.int8)
    mapping[-1] = 0
    for i, value in enumerate(raw.categories):
        if isinstance(value, (bool, np.bool_)):
            mapping[i] = int(bool(value))
            continue
        text = _normalise_text(value, upper=False)
        mapping[i] = 0 if text is None or text in _FALSE else 1 if text in _TRUE else -1
    values = mapping[raw.codes]
    _fail(values == -1, column, lambda i: f"not true/false: {_show(series.iloc[i])}")
    return values.astype(bool)


def _date_days(series: pd.Series, column: str) -> np.ndarray:
    """Days since 1970-01-01 of ISO dates (YYYY-MM-DD); NaN for empty cells."""
    text = series.astype("str").str.strip()
    empty = series.isna().to_numpy() | text.eq("").to_numpy()
    parsed = pd.to_datetime(text.where(~empty, None), format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna().to_numpy() & ~empty
    _fail(bad, column, lambda i: f"not a date YYYY-MM-DD: {_show(series.iloc[i])}")
    days = (parsed.to_numpy(dtype="datetime64[D]").astype("int64")).astype(np.float64)
    days[empty] = np.nan
    return days


def validate_positions(df: pd.DataFrame, as_of: str | date | None = None) -> pd.DataFrame:
    """Check a positions frame and return it in canonical form.

    The returned frame has exactly the columns of :data:`COLUMN_NAMES`, in that
    order, with a fresh RangeIndex, categorical codes, float64 amounts and
    booleans; optional columns that are missing or empty get their defaults
    (no provision, NR rating, product's default counterparty type and HQLA
    level, false flags). Raises :class:`PositionsFormatError` at the first
    problem found.
    """
    if not isinstance(df, pd.DataFrame):
        raise PositionsFormatError(None, None, f"positions must be a table, got {type(df).__name__}")
    columns = [str(c) for c in df.columns]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise PositionsFormatError(None, duplicated[0], "column appears more than once")
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            raise PositionsFormatError(None, name, "required column is missing")
    unknown = [c for c in columns if c not in INPUT_COLUMN_NAMES]
    if unknown:
        raise PositionsFormatError(
            None, unknown[0], f"unknown column; the format has: {', '.join(INPUT_COLUMN_NAMES)}"
        )
    if len(df) == 0:
        raise PositionsFormatError(None, None, "there are no positions")
    df = df.set_axis(columns, axis=1).reset_index(drop=True)
    n = len(df)

    # -- identifiers -------------------------------------------------------
    ids = df["position_id"]
    _fail(ids.isna().to_numpy(), "position_id", "empty position_id")
    if ids.dtype != "str":
        ids = ids.astype("str")
    ids = ids.str.strip()
    _fail(ids.eq("").to_numpy(), "position_id", "empty position_id")
    _fail(ids.duplicated().to_numpy(), "position_id", lambda i: f"duplicate position_id {ids.iloc[i]!r}")

    # -- product -----------------------------------------------------------
    product = _category_codes(df["product"], "product", upper=False)
    _fail(product == -1, "product", "empty product")
    specs = PRODUCTS

    def per_product(attribute: Callable[[ProductSpec], Any]) -> np.ndarray:
        return np.array([attribute(p) for p in specs])[product]

    # -- amounts -----------------------------------------------------------
    notional = _float_values(df["notional"], "notional")
    _fail(np.isnan(notional), "notional", "empty notional")
    _fail(notional < 0, "notional", lambda i: f"negative amount {_show(notional[i])}")
    if "specific_provision" in df:
        provision = _float_values(df["specific_provision"], "specific_provision")
        provision = np.where(np.isnan(provision), 0.0, provision)
        _fail(provision < 0, "specific_provision", lambda i: f"negative amount {_show(provision[i])}")
        _fail(provision > notional, "specific_provision",
              lambda i: f"provision {_show(provision[i])} exceeds the notional {_show(notional[i])}")
    else:
        provision = np.zeros(n)

    # -- codes -------------------------------------------------------------
    def optional_codes(column: str, upper: bool) -> np.ndarray:
        if column in df:
            return _category_codes(df[column], column, upper)
        return np.full(n, -1, dtype=np.int16)

    rating = optional_codes("rating", upper=True)
    rating[rating == -1] = UNRATED_CODE
    issuer_rating = optional_codes("issuer_rating", upper=True)
    issuer_rating[issuer_rating == -1] = UNRATED_CODE
    scra = optional_codes("scra_grade", upper=True)
    counterparty = optional_codes("counterparty_type", upper=False)
    ccf_class = optional_codes("ccf_class", upper=False)
    hqla = optional_codes("hqla_level", upper=True)

    default_cpty = np.array(
        [-1 if p.default_counterparty is None else COUNTERPARTY_TYPES.index(p.default_counterparty) for p in specs],
        dtype=np.int16,
    )[product]
    counterparty = np.where(counterparty == -1, default_cpty, counterparty).astype(np.int16)
    _fail((counterparty == -1) & per_product(lambda p: p.requires_counterparty), "counterparty_type",
          lambda i: f"counterparty_type is required for product {PRODUCT_CODES[product[i]]!r}")

    default_hqla = np.array([HQLA_LEVEL_CODES.index(p.hqla_levels[0]) for p in specs], dtype=np.int16)[product]
    hqla = np.where(hqla == -1, default_hqla, hqla).astype(np.int16)
    allowed_hqla = np.zeros((len(specs), len(HQLA_LEVEL_CODES)), dtype=bool)
    for i, spec in enumerate(specs):
        allowed_hqla[i, [HQLA_LEVEL_CODES.index(level) for level in spec.hqla_levels]] = True
    _fail(~allowed_hqla[product, hqla], "hqla_level",
          lambda i: f"hqla_level {HQLA_LEVEL_CODES[hqla[i]]!r} is not allowed for product "
                    f"{PRODUCT_CODES[product[i]]!r}; allowed: {', '.join(specs[product[i]].hqla_levels)}")

    is_off_balance = per_product(lambda p: p.side == "off_balance")
    _fail(is_off_balance & (ccf_class == -1), "ccf_class", "ccf_class is required for an off_balance item")
    _fail(~is_off_balance & (ccf_class != -1), "ccf_class", "ccf_class applies only to off_balance items")

    bank_unrated = product == product_code("bank")
    bank_unrated &= rating == UNRATED_CODE
    _fail(bank_unrated & (scra == -1), "scra_grade", "an unrated bank exposure needs its SCRA grade (A, B or C)")
    # A counterparty bank of an off-balance item or a derivative is weighted
    # like a bank exposure, so it needs the same information.
    cpty_bank_unrated = (
        product_mask(product, ("off_balance", "derivative_asset"))
        & (counterparty == COUNTERPARTY_TYPES.index("bank"))
        & (rating == UNRATED_CODE)
    )
    _fail(cpty_bank_unrated & (scra == -1), "scra_grade",
          "an unrated bank counterparty needs its SCRA grade (A, B or C)")
    covered_unrated = (
        (product == product_code("covered_bond")) & (rating == UNRATED_CODE) & (issuer_rating == UNRATED_CODE)
    )
    _fail(covered_unrated & (scra == -1), "scra_grade",
          "an unrated covered bond needs the issuer's rating (issuer_rating) or SCRA grade")

    # -- real estate -------------------------------------------------------
    def amounts(column: str, applies: np.ndarray, where: str) -> np.ndarray:
        if column not in df:
            return np.full(n, np.nan)
        values = _float_values(df[column], column)
        _fail(values < 0, column, lambda i: f"negative amount {_show(values[i])}")
        _fail(~np.isnan(values) & ~applies, column, f"{column} applies only to {where}")
        return values

    real_estate = per_product(lambda p: p.real_estate)
    property_value = amounts("property_value", real_estate, "real estate")
    _fail(property_value == 0, "property_value", "property_value must be positive")
    senior_liens = amounts("senior_liens", real_estate, "real estate")
    pari_passu_liens = amounts("pari_passu_liens", real_estate, "real estate")
    ltv = _float_values(df["ltv"], "ltv") if "ltv" in df else np.full(n, np.nan)
    # With the property's value, the LTV of the bank's own loan follows.
    derived = np.isnan(ltv) & ~np.isnan(property_value)
    ltv = np.where(derived, np.divide(notional, property_value, out=np.full(n, np.nan), where=derived), ltv)
    _fail(real_estate & np.isnan(ltv), "ltv",
          lambda i: f"ltv (or property_value) is required for {PRODUCT_CODES[product[i]]!r}")
    _fail(ltv <= 0, "ltv", lambda i: f"ltv must be positive, got {_show(ltv[i])}")
    _fail(ltv > _MAX_LTV, "ltv", lambda i: f"ltv is a fraction (0.8 for 80%), got {_show(ltv[i])}")
    is_asset = per_product(lambda p: p.side == "asset")
    market_value = amounts("market_value", is_asset, "assets")

    # -- maturities and ratios --------------------------------------------
    def optional_floats(column: str, upper_bound: float | None = None) -> np.ndarray:
        if column not in df:
            return np.full(n, np.nan)
        values = _float_values(df[column], column)
        _fail(values < 0, column, lambda i: f"must not be negative, got {_show(values[i])}")
        if upper_bound is not None:
            _fail(values > upper_bound, column, lambda i: f"is a fraction (0.12 for 12%), got {_show(values[i])}")
        return values

    original_maturity = optional_floats("original_maturity_years")
    residual_maturity = optional_floats("residual_maturity_years")
    residual_days = optional_floats("residual_maturity_days")
    original_days = optional_floats("original_maturity_days")
    for column, days in (("residual_maturity_days", residual_days), ("original_maturity_days", original_days)):
        _fail(~np.isnan(days) & (days != np.floor(days)), column, lambda i, d=days: f"days are whole numbers, got {_show(d[i])}")
    maturity_day = _date_days(df["maturity_date"], "maturity_date") if "maturity_date" in df else np.full(n, np.nan)
    start_day = _date_days(df["start_date"], "start_date") if "start_date" in df else np.full(n, np.nan)
    _fail(~np.isnan(residual_maturity) & ~np.isnan(residual_days), "residual_maturity_days",
          "give the residual maturity once: in years or in days")
    _fail(~np.isnan(original_maturity) & ~np.isnan(original_days), "original_maturity_days",
          "give the original maturity once: in years or in days")
    _fail(~np.isnan(start_day) & np.isnan(maturity_day), "start_date", "start_date needs maturity_date")
    _fail(~np.isnan(maturity_day) & ~(np.isnan(residual_maturity) & np.isnan(residual_days)), "maturity_date",
          "give the residual maturity once: as maturity_date, in days or in years")
    _fail(~np.isnan(start_day) & ~(np.isnan(original_maturity) & np.isnan(original_days)), "start_date",
          "give the original maturity once: as start_date, in days or in years")
    _fail(start_day > maturity_day, "start_date", "start_date is after maturity_date")
    uses_calendar = ~np.isnan(residual_days) | ~np.isnan(original_days) | ~np.isnan(maturity_day)
    if uses_calendar.any():
        if as_of is None:
            column = ("maturity_date" if (~np.isnan(maturity_day)).any()
                      else "residual_maturity_days" if (~np.isnan(residual_days)).any() else "original_maturity_days")
            _fail(uses_calendar, column,
                  "maturities as dates or days are measured from the as-of date: set as_of_date")
        as_of_day = float((np.datetime64(str(as_of), "D") - np.datetime64("1970-01-01", "D")).astype(np.int64))
        from_dates = ~np.isnan(maturity_day)
        _fail(from_dates & (maturity_day < as_of_day), "maturity_date", "maturity_date is before the as-of date")
        residual_days = np.where(from_dates, maturity_day - as_of_day, residual_days)
        original_days = np.where(~np.isnan(start_day), maturity_day - start_day, original_days)

    cet1_ratio = optional_floats("cpty_cet1_ratio", 1.0)
    leverage_ratio = optional_floats("cpty_leverage_ratio", 1.0)

    # -- flags -------------------------------------------------------------
    def optional_bools(column: str) -> np.ndarray:
        return _bool_values(df[column], column) if column in df else np.zeros(n, dtype=bool)

    defaulted = optional_bools("defaulted")
    defaulted = defaulted | (product == product_code("defaulted_loan"))
    _fail(defaulted & ~per_product(lambda p: p.defaultable), "defaulted",
          lambda i: f"product {PRODUCT_CODES[product[i]]!r} cannot be flagged as defaulted")
    _fail(defaulted & (hqla != HQLA_LEVEL_CODES.index(NON_HQLA)), "hqla_level",
          "a defaulted position cannot count as HQLA")
    liquidity_facility = optional_bools("liquidity_facility")
    _fail(liquidity_facility & (ccf_class != CCF_CLASS_CODES.index("commitment")), "liquidity_facility",
          "liquidity_facility applies only to off_balance items of ccf_class 'commitment'")
    insured = optional_bools("insured")
    penalty_free = optional_bools("penalty_free_withdrawal")
    _fail(penalty_free & (product != product_code("retail_term_deposit")), "penalty_free_withdrawal",
          "penalty_free_withdrawal applies only to retail_term_deposit")

    equity_listing = optional_codes("equity_listing", upper=False)
    is_equity = product == product_code("equity")
    _fail((equity_listing != -1) & ~is_equity, "equity_listing", "equity_listing applies only to equity")
    equity_listing = np.where(is_equity & (equity_listing == -1), EQUITY_LISTING_CODES.index("listed"),
                              equity_listing).astype(np.int16)
    retail_segment = optional_codes("retail_segment", upper=False)
    individual_off_balance = is_off_balance & (counterparty == COUNTERPARTY_TYPES.index("individual"))
    _fail((retail_segment != -1) & ~individual_off_balance, "retail_segment",
          "retail_segment applies only to off_balance items to an individual")
    retail_segment = np.where(individual_off_balance & (retail_segment == -1),
                              RETAIL_SEGMENT_CODES.index("regulatory"), retail_segment).astype(np.int16)

    return canonical_frame(
        ids,
        product=product,
        notional=notional,
        specific_provision=provision,
        rating=rating,
        issuer_rating=issuer_rating,
        scra_grade=scra,
        counterparty_type=counterparty,
        ltv=ltv,
        original_maturity_years=original_maturity,
        residual_maturity_years=residual_maturity,
        defaulted=defaulted,
        ccf_class=ccf_class,
        liquidity_facility=liquidity_facility,
        hqla_level=hqla,
        insured=insured,
        cpty_cet1_ratio=cet1_ratio,
        cpty_leverage_ratio=leverage_ratio,
        equity_listing=equity_listing,
        retail_segment=retail_segment,
        penalty_free_withdrawal=penalty_free,
        market_value=market_value,
        property_value=property_value,
        senior_liens=senior_liens,
        pari_passu_liens=pari_passu_liens,
        residual_maturity_days=residual_days,
        original_maturity_days=original_days,
    )


# ===========================================================================
# Capital stack
# ===========================================================================


@dataclass(frozen=True)
class CapitalStack:
    """Regulatory capital of the bank, in EUR, after deductions."""

    cet1: float
    at1: float = 0.0
    tier2: float = 0.0

    @property
    def tier1(self) -> float:
        return self.cet1 + self.at1

    @property
    def total(self) -> float:
        return self.cet1 + self.at1 + self.tier2

    def to_dict(self) -> dict[str, float]:
        return {"cet1": self.cet1, "at1": self.at1, "tier2": self.tier2}


CAPITAL_FIELDS: tuple[str, ...] = ("cet1", "at1", "tier2")


def validate_capital(d: Mapping[str, Any]) -> CapitalStack:
    """Check a capital JSON object (``{"cet1": …, "at1": …, "tier2": …}``, EUR).

    ``cet1`` is required; ``at1`` and ``tier2`` default to 0. Raises
    :class:`CapitalFormatError` naming the offending field.
    """
    if not isinstance(d, Mapping):
        raise CapitalFormatError(None, f"capital must be a JSON object, got {type(d).__name__}")
    unknown = sorted(str(k) for k in d if k not in CAPITAL_FIELDS)
    if unknown:
        raise CapitalFormatError(unknown[0], f"unknown field; expected: {', '.join(CAPITAL_FIELDS)}")
    if "cet1" not in d:
        raise CapitalFormatError("cet1", "required field is missing")
    values: dict[str, float] = {}
    for name in CAPITAL_FIELDS:
        raw = d.get(name, 0.0)
        if isinstance(raw, bool) or raw is None:
            raise CapitalFormatError(name, f"not a number: {raw!r}")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise CapitalFormatError(name, f"not a number: {raw!r}") from None
        if not math.isfinite(value):
            raise CapitalFormatError(name, f"not a finite number: {raw!r}")
        if value < 0:
            raise CapitalFormatError(name, f"must not be negative, got {raw!r}")
        values[name] = value
    return CapitalStack(**values)


# ===========================================================================
# Arrays for the calculators
# ===========================================================================


@dataclass(frozen=True)
class PositionArrays:
    """The columns of a canonical positions frame as numpy arrays.

    Categorical columns are their integer codes (-1 for empty), in the order
    of the column's categories; the calculators index lookup tables with them.
    """

    product: np.ndarray
    notional: np.ndarray
    specific_provision: np.ndarray
    rating: np.ndarray
    issuer_rating: np.ndarray
    scra_grade: np.ndarray
    counterparty_type: np.ndarray
    ltv: np.ndarray
    original_maturity_years: np.ndarray
    residual_maturity_years: np.ndarray
    defaulted: np.ndarray
    ccf_class: np.ndarray
    liquidity_facility: np.ndarray
    hqla_level: np.ndarray
    insured: np.ndarray
    cpty_cet1_ratio: np.ndarray
    cpty_leverage_ratio: np.ndarray
    equity_listing: np.ndarray
    retail_segment: np.ndarray
    penalty_free_withdrawal: np.ndarray
    market_value: np.ndarray
    property_value: np.ndarray
    senior_liens: np.ndarray
    pari_passu_liens: np.ndarray
    residual_maturity_days: np.ndarray
    original_maturity_days: np.ndarray

    @property
    def carrying_amount(self) -> np.ndarray:
        """Notional net of specific provisions."""
        return self.notional - self.specific_provision

    def side_mask(self, side: str) -> np.ndarray:
        return PRODUCT_SIDE_CODE[self.product] == SIDES.index(side)


def position_arrays(positions: pd.DataFrame) -> PositionArrays:
    """Arrays of a frame already returned by :func:`validate_positions`."""
    values: dict[str, np.ndarray] = {}
    for spec in COLUMNS:
        if spec.kind == "id":
            continue
        column = positions[spec.name]
        if spec.kind == "category":
            values[spec.name] = column.cat.codes.to_numpy().astype(np.int16)
        else:
            values[spec.name] = column.to_numpy()
    return PositionArrays(**values)


def row_groups(codes: np.ndarray, size: int) -> list[tuple[int, np.ndarray]]:
    """(code, row indices) for every code present, in code order.

    One stable sort instead of a comparison per code keeps grouping linear in
    the number of rows however many codes there are.
    """
    order = np.argsort(codes, kind="stable")
    stops = np.cumsum(np.bincount(codes, minlength=size))
    groups = []
    start = 0
    for code, stop in enumerate(stops):
        if stop > start:
            groups.append((code, order[start:stop]))
        start = stop
    return groups
