"""Seeded data-generating processes whose truth is known (pure numpy/pandas, no Django).

Both processes are documented in docs/training.md; the coefficients below are the
documented ones. Each generated table records its truth per row (the true PD of
a borrower, the true regime and conditional variance of a day), so a model's
held-out quality can be compared with the best any model could do.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------
# Credit book with default outcomes
# ---------------------------------------------------------------------------
SECTORS = ("manufacturing", "retail_trade", "real_estate", "energy", "services", "agriculture", "technology", "transport")
SECTOR_SHARES = (0.16, 0.14, 0.16, 0.08, 0.18, 0.08, 0.12, 0.08)
# Log-odds shift of each sector (manufacturing is the reference).
SECTOR_EFFECT = {
    "manufacturing": 0.0, "retail_trade": 0.25, "real_estate": 0.35, "energy": 0.45,
    "services": -0.10, "agriculture": 0.20, "technology": -0.25, "transport": 0.15,
}
EXPOSURE_CLASSES = ("retail_mortgage", "retail_other", "sme", "corporate")
EXPOSURE_SHARES = (0.35, 0.25, 0.25, 0.15)
EXPOSURE_EFFECT = {"retail_mortgage": -0.40, "retail_other": 0.30, "sme": 0.20, "corporate": 0.0}
RATING_SHARES = (0.04, 0.07, 0.11, 0.15, 0.17, 0.15, 0.12, 0.09, 0.06, 0.04)  # grades 1 (best) … 10

# The logistic model of default: logit(PD) = β·x (documented in docs/training.md).
CREDIT_BETA = {
    "intercept": -3.30,
    "rating": 0.38,          # per grade above 5
    "ltv": 1.60,             # per unit of LTV above 0.7
    "ltv_over_90": 2.50,     # extra slope above an LTV of 0.9 (a kink a linear model misses)
    "dti": 2.20,             # per unit of debt-to-income above 0.35
    "log_maturity": 0.20,    # per unit of log(maturity in years)
    "macro": -0.45,          # per standard deviation of the macro factor (good times: fewer defaults)
}
CREDIT_FEATURES = ("rating", "ltv", "dti", "maturity_years", "sector", "exposure_class", "macro_factor")
CREDIT_TARGET = "default"
N_VINTAGES = 24


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def credit_true_logit(frame: pd.DataFrame) -> np.ndarray:
    """The true log-odds of default of each row, from the documented coefficients."""
    b = CREDIT_BETA
    ltv = frame["ltv"].to_numpy(float)
    return (
        b["intercept"]
        + b["rating"] * (frame["rating"].to_numpy(float) - 5.0)
        + b["ltv"] * (ltv - 0.7)
        + b["ltv_over_90"] * np.maximum(ltv - 0.9, 0.0)
        + b["dti"] * (frame["dti"].to_numpy(float) - 0.35)
        + b["log_maturity"] * np.log(frame["maturity_years"].to_numpy(float))
        + frame["sector"].map(SECTOR_EFFECT).to_numpy(float)
        + frame["exposure_class"].map(EXPOSURE_EFFECT).to_numpy(float)
        + b["macro"] * frame["macro_factor"].to_numpy(float)
    )


def generate_credit_data(*, rows: int, seed: int) -> pd.DataFrame:
    """A credit book of `rows` borrowers with a default flag drawn from the logistic model.

    Columns: the features (CREDIT_FEATURES), `true_pd` (the probability the flag
    was drawn with) and `default` (0/1). Same rows and seed → the same table.
    """
    if rows < 1:
        raise ValueError("rows must be at least 1")
    rng = np.random.default_rng(seed)
    rating = rng.choice(np.arange(1, 11), size=rows, p=RATING_SHARES)
    ltv = np.round(rng.beta(4.0, 3.0, size=rows) * 1.25, 4)
    dti = np.round(np.clip(rng.gamma(4.0, 0.09, size=rows), 0.0, 1.5), 4)
    maturity = rng.choice(np.array([1, 2, 3, 5, 7, 10, 15, 20, 25, 30]), size=rows)
    sector = rng.choice(np.array(SECTORS), size=rows, p=SECTOR_SHARES)
    exposure = rng.choice(np.array(EXPOSURE_CLASSES), size=rows, p=EXPOSURE_SHARES)
    # One systematic factor per vintage: borrowers of a vintage share their economy.
    vintages = rng.normal(0.0, 1.0, size=N_VINTAGES)
    macro = np.round(vintages[rng.integers(0, N_VINTAGES, size=rows)], 4)
    frame = pd.DataFrame({
        "rating": rating.astype(np.int64),
        "ltv": ltv,
        "dti": dti,
        "maturity_years": maturity.astype(np.int64),
        "sector": sector.astype(object),
        "exposure_class": exposure.astype(object),
        "macro_factor": macro,
    })
    true_pd = _logistic(credit_true_logit(frame))
    frame["true_pd"] = true_pd
    frame["default"] = (rng.random(rows) < true_pd).astype(np.int64)
    return frame


# ---------------------------------------------------------------------------
# Regime-switching market series
# ---------------------------------------------------------------------------
REGIMES = ("calm", "volatile", "crisis")
# Daily transition probabilities (row: today's regime, column: tomorrow's).
REGIME_TRANSITIONS = np.array([
    [0.985, 0.015, 0.000],
    [0.030, 0.950, 0.020],
    [0.000, 0.060, 0.940],
])
# Per regime: mean daily return and GARCH(1,1) (omega, alpha, beta). The
# unconditional daily volatility of the regimes is 0.6 %, 1.5 % and 4 %;
# a persistence of about 0.8 lets the variance reach a new regime's level within days.
REGIME_MEAN = np.array([0.0005, 0.0000, -0.0020])
REGIME_ALPHA = np.array([0.05, 0.06, 0.08])
REGIME_BETA = np.array([0.75, 0.75, 0.75])
REGIME_UNCONDITIONAL_VOL = np.array([0.006, 0.015, 0.040])
REGIME_OMEGA = REGIME_UNCONDITIONAL_VOL**2 * (1.0 - REGIME_ALPHA - REGIME_BETA)
SERIES_FEATURES = ("return", "abs_return", "rv_5", "rv_20", "rv_60")
SERIES_TRUTH = ("regime", "true_variance")


def generate_market_series(*, days: int, seed: int) -> pd.DataFrame:
    """Daily returns of a regime-switching process with GARCH(1,1)-type variance.

    The regime follows a Markov chain (REGIME_TRANSITIONS) started in calm; the
    conditional variance follows sigma2_t = omega_s + alpha_s * e_{t-1}^2 +
    beta_s * sigma2_{t-1} with the parameters of today's regime s; the return is
    mu_s + e_t, e_t = sigma_t * z_t, z_t ~ N(0, 1).

    Columns: `day` (0…), `return`, causal features (`abs_return`, realised
    volatility over the last 5, 20 and 60 days including today), and the truth:
    `regime` (0 calm, 1 volatile, 2 crisis), `regime_name`, `true_variance`
    (sigma2_t, known before the day's return is drawn).
    """
    if days < 2:
        raise ValueError("days must be at least 2")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(days)
    u = rng.random(days)
    cumulative = np.cumsum(REGIME_TRANSITIONS, axis=1)
    regime = np.zeros(days, dtype=np.int64)
    variance = np.empty(days)
    shock = np.empty(days)
    state = 0
    previous_var = REGIME_UNCONDITIONAL_VOL[0] ** 2
    previous_shock = 0.0
    for t in range(days):
        if t > 0:
            state = int(np.searchsorted(cumulative[state], u[t], side="right"))
            state = min(state, len(REGIMES) - 1)
        var = REGIME_OMEGA[state] + REGIME_ALPHA[state] * previous_shock**2 + REGIME_BETA[state] * previous_var
        regime[t] = state
        variance[t] = var
        shock[t] = np.sqrt(var) * z[t]
        previous_var, previous_shock = var, shock[t]
    returns = REGIME_MEAN[regime] + shock
    series = pd.Series(returns)
    frame = pd.DataFrame({
        "day": np.arange(days, dtype=np.int64),
        "return": returns,
        "abs_return": np.abs(returns),
        # Causal windows (today and before); the first days use what exists.
        "rv_5": series.rolling(5, min_periods=1).std(ddof=0).to_numpy(),
        "rv_20": series.rolling(20, min_periods=1).std(ddof=0).to_numpy(),
        "rv_60": series.rolling(60, min_periods=1).std(ddof=0).to_numpy(),
        "regime": regime,
        "regime_name": np.array(REGIMES, dtype=object)[regime],
        "true_variance": variance,
    })
    return frame


def frame_to_parquet(frame: pd.DataFrame) -> bytes:
    """The table as Parquet bytes, without the pandas index (same table → same bytes)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()
