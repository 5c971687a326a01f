"""Maturity edges of the rules, decided exactly.

A position states its maturities in years (``*_maturity_years``, years of 365
days, as before), in calendar days (``*_maturity_days``) or as dates (read
into days from the as-of date). Days are compared with edges counted on the
calendar from the as-of date, never through a 365-day-year decimal:

- "within 30 days" (BCBS238 LCR horizon): residual days ≤ 30;
- "three months or less" (d424 paras 19, 21–30, original maturity): the
  maturity falls on or before the start date plus three calendar months,
  the start being the maturity date less the original maturity;
- "less than six months" / "less than one year" (d295): the maturity falls
  before the as-of date plus six / twelve calendar months.

Years keep their rules: ≤ 30/365, ≤ 0.25, < 0.5 and < 1.0 years.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .factors import (
    LCR_HORIZON_DAYS,
    LCR_HORIZON_YEARS,
    NSFR_LONG_MATURITY_MONTHS,
    NSFR_LONG_MATURITY_YEARS,
    NSFR_SHORT_MATURITY_MONTHS,
    NSFR_SHORT_MATURITY_YEARS,
    SHORT_TERM_MAX_ORIGINAL_MATURITY_MONTHS,
    SHORT_TERM_MAX_ORIGINAL_MATURITY_YEARS,
    RegulatorySettings,
    parse_as_of,
)
from .schema import EngineInputError, PositionArrays


@dataclass(frozen=True)
class Maturities:
    """Per-position answers to the maturity questions of the rules.

    Every flag is false for a position without that maturity; ``residual_known``
    tells the two apart.
    """

    residual_known: np.ndarray
    within_30_days: np.ndarray
    under_6_months: np.ndarray
    under_1_year: np.ndarray
    short_term_original: np.ndarray

    @property
    def one_year_or_more(self) -> np.ndarray:
        return self.residual_known & ~self.under_1_year


def _months_later_in_days(as_of: np.datetime64, months: int) -> int:
    """Days from ``as_of`` to the same day ``months`` calendar months later (end of month kept)."""
    start = pd.Timestamp(as_of)
    return int((start + pd.DateOffset(months=months) - start).days)


def maturities(a: PositionArrays, settings: RegulatorySettings) -> Maturities:
    """The maturity flags of every position under ``settings`` (its as-of date)."""
    years = a.residual_maturity_years
    days = a.residual_maturity_days
    by_days = ~np.isnan(days)
    original_days = a.original_maturity_days
    if (by_days.any() or (~np.isnan(original_days)).any()) and settings.as_of_date is None:
        raise EngineInputError("maturities in days or as dates are measured from the as-of date: set as_of_date")

    within = years <= LCR_HORIZON_YEARS
    under_6m = years < NSFR_SHORT_MATURITY_YEARS
    under_1y = years < NSFR_LONG_MATURITY_YEARS
    short = a.original_maturity_years <= SHORT_TERM_MAX_ORIGINAL_MATURITY_YEARS
    if settings.as_of_date is not None:
        as_of = np.datetime64(parse_as_of(settings.as_of_date), "D")
        six = _months_later_in_days(as_of, NSFR_SHORT_MATURITY_MONTHS)
        twelve = _months_later_in_days(as_of, NSFR_LONG_MATURITY_MONTHS)
        within = np.where(by_days, days <= LCR_HORIZON_DAYS, within)
        under_6m = np.where(by_days, days < six, under_6m)
        under_1y = np.where(by_days, days < twelve, under_1y)
        by_original_days = ~np.isnan(original_days)
        if by_original_days.any():
            rows = np.flatnonzero(by_original_days)
            # The maturity date (as-of + residual days; the as-of date when the
            # residual is not in days) less the original maturity is the start.
            residual = np.where(np.isnan(days[rows]), 0.0, days[rows]).astype(np.int64)
            maturity = as_of + residual.astype("timedelta64[D]")
            start = maturity - original_days[rows].astype(np.int64).astype("timedelta64[D]")
            starts = pd.DatetimeIndex(start)
            edge = (starts + pd.DateOffset(months=SHORT_TERM_MAX_ORIGINAL_MATURITY_MONTHS)).to_numpy("datetime64[D]")
            short = short.copy()
            short[rows] = maturity <= edge
    return Maturities(
        residual_known=~np.isnan(years) | by_days,
        within_30_days=within,
        under_6_months=under_6m,
        under_1_year=under_1y,
        short_term_original=short,
    )
