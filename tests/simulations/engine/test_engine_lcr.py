"""LCR: haircuts, the Annex 1 caps, run-off and inflow rates, the 75% inflow cap."""

from __future__ import annotations

import pytest

from simulations.engine import DEFAULT_SETTINGS, CapitalStack, RegulatorySettings, compute_lcr, compute_metrics

# 1000 of stable retail deposits run off at 5%: 50 of outflows.
OUTFLOW_50 = {"product": "retail_deposit_stable", "notional": 1000.0}


def test_the_level_2b_15_percent_cap_binds(frame):
    lcr = compute_lcr(
        frame(
            {"product": "cash", "notional": 100.0},
            {"product": "corporate", "notional": 100.0, "rating": "A", "hqla_level": "L2B_CORPORATE"},
            OUTFLOW_50,
        )
    )
    hqla = lcr["hqla"]
    assert hqla["levels"]["L2B"] == {"before_haircut": 100.0, "after_haircut": 50.0}
    # Adj15 = max(50 − 15/85·100, 50 − 15/60·100, 0) = 50 − 300/17 = 550/17
    assert hqla["adj15"] == pytest.approx(32.35294117647059)
    assert hqla["adj40"] == 0.0
    assert hqla["level2b_cap_binding"] is True
    assert hqla["level2_cap_binding"] is False
    # HQLA = 150 − 550/17 = 2000/17; Level 2B is then 15% of it
    assert hqla["total"] == pytest.approx(117.6470588235294)
    assert lcr["ratio"] == pytest.approx(2.352941176470588)


def test_the_level_2_40_percent_cap_binds(frame):
    lcr = compute_lcr(
        frame(
            {"product": "cash", "notional": 100.0},
            {"product": "sovereign", "notional": 200.0, "rating": "A", "hqla_level": "L2A"},
            OUTFLOW_50,
        )
    )
    hqla = lcr["hqla"]
    assert hqla["levels"]["L2A"]["after_haircut"] == pytest.approx(170.0)
    assert hqla["adj15"] == 0.0
    # Adj40 = max(170 − 2/3·100, 0) = 310/3
    assert hqla["adj40"] == pytest.approx(103.33333333333333)
    assert hqla["level2_cap_binding"] is True
    assert hqla["level2b_cap_binding"] is False
    assert hqla["total"] == pytest.approx(166.66666666666666)
    assert lcr["ratio"] == pytest.approx(3.3333333333333335)


def test_both_caps_bind_together(frame):
    lcr = compute_lcr(
        frame(
            {"product": "cash", "notional": 100.0},
            {"product": "sovereign", "notional": 100.0, "rating": "A", "hqla_level": "L2A"},
            {"product": "equity", "notional": 100.0, "hqla_level": "L2B_EQUITY"},
            OUTFLOW_50,
        )
    )
    hqla = lcr["hqla"]
    # Adj15 = max(50 − 15/85·185, 50 − 25, 0) = 25; Adj40 = 85 + 50 − 25 − 200/3 = 130/3
    assert hqla["adj15"] == pytest.approx(25.0)
    assert hqla["adj40"] == pytest.approx(43.333333333333336)
    assert hqla["total"] == pytest.approx(166.66666666666666)


def test_no_cap_binds_when_level_1_dominates(frame):
    lcr = compute_lcr(
        frame(
            {"product": "cash", "notional": 1000.0},
            {"product": "sovereign", "notional": 100.0, "rating": "A", "hqla_level": "L2A"},
            {"product": "corporate", "notional": 100.0, "rating": "BBB", "hqla_level": "L2B_CORPORATE"},
            OUTFLOW_50,
        )
    )
    assert lcr["hqla"]["adj15"] == 0.0
    assert lcr["hqla"]["adj40"] == 0.0
    assert lcr["hqla"]["total"] == pytest.approx(1135.0)


def lcr_with_inflows(frame, inflow: float) -> dict:
    return compute_lcr(
        frame(
            {"product": "cash", "notional": 50.0},
            {"product": "fi_funding", "notional": 100.0},  # 100% run-off
            {"product": "inflow_financial", "notional": inflow},  # 100% inflow
        )
    )


def test_the_75_percent_inflow_cap_binds(frame):
    lcr = lcr_with_inflows(frame, 200.0)
    assert lcr["outflows"]["total"] == 100.0
    assert lcr["inflows"]["total"] == 200.0
    assert lcr["inflows"]["cap_binding"] is True
    assert lcr["inflows"]["recognised"] == 75.0
    assert lcr["net_outflows"] == 25.0
    assert lcr["ratio"] == 2.0


def test_the_75_percent_inflow_cap_does_not_bind(frame):
    lcr = lcr_with_inflows(frame, 60.0)
    assert lcr["inflows"]["cap_binding"] is False
    assert lcr["inflows"]["recognised"] == 60.0
    assert lcr["net_outflows"] == 40.0
    assert lcr["ratio"] == 1.25
    assert lcr["pass"] is True


def test_inflows_equal_to_the_cap_are_all_recognised(frame):
    lcr = lcr_with_inflows(frame, 75.0)
    assert lcr["inflows"]["cap_binding"] is False
    assert lcr["net_outflows"] == 25.0


def test_an_lcr_below_100_percent_fails(frame):
    lcr = compute_lcr(frame({"product": "cash", "notional": 99.0}, {"product": "fi_funding", "notional": 100.0}))
    assert lcr["ratio"] == 0.99
    assert lcr["pass"] is False


def lcr_factors(frame, *rows: dict, settings: RegulatorySettings = DEFAULT_SETTINGS) -> list[float]:
    positions = frame(*({"notional": 100.0, **row} for row in rows))
    result = compute_metrics(positions, CapitalStack(cet1=10.0), settings)
    return result.explain["lcr_factor"].tolist()


def test_it_applies_the_outflow_run_off_rates(frame):
    within = 10 / 365
    beyond = 60 / 365
    assert lcr_factors(
        frame,
        {"product": "retail_deposit_stable"},
        {"product": "retail_deposit_less_stable"},
        {"product": "retail_term_deposit", "residual_maturity_years": beyond},
        {"product": "retail_term_deposit", "residual_maturity_years": within, "insured": True},
        {"product": "retail_term_deposit", "residual_maturity_years": within},
        {"product": "operational_deposit"},
        {"product": "operational_deposit", "insured": True},
        {"product": "corporate_deposit"},
        {"product": "corporate_deposit", "insured": True},
        {"product": "corporate_deposit", "residual_maturity_years": beyond},
        {"product": "fi_funding"},
        {"product": "fi_funding", "residual_maturity_years": beyond},
        {"product": "long_term_debt", "residual_maturity_years": within},
        {"product": "long_term_debt", "residual_maturity_years": 3.0},
    ) == [0.05, 0.10, 0.0, 0.05, 0.10, 0.25, 0.05, 0.40, 0.20, 0.0, 1.00, 0.0, 1.00, 0.0]


def test_the_30_day_horizon_includes_day_30(frame):
    assert lcr_factors(
        frame,
        {"product": "fi_funding", "residual_maturity_years": 30 / 365},
        {"product": "fi_funding", "residual_maturity_years": 31 / 365},
    ) == [1.00, 0.0]


def test_it_runs_off_secured_funding_by_collateral_and_lender(frame):
    secured = {"product": "secured_funding", "residual_maturity_years": 5 / 365}
    assert lcr_factors(
        frame,
        {**secured, "hqla_level": "L1"},
        {**secured, "hqla_level": "L2A"},
        {**secured, "hqla_level": "L2B_RMBS"},
        {**secured, "hqla_level": "L2B_CORPORATE"},
        {**secured, "hqla_level": "NON_HQLA"},
        {**secured, "hqla_level": "NON_HQLA", "counterparty_type": "central_bank"},
        {**secured, "hqla_level": "NON_HQLA", "counterparty_type": "sovereign"},
        {**secured, "hqla_level": "L2A", "counterparty_type": "pse"},
    ) == [0.0, 0.15, 0.25, 0.50, 1.00, 0.0, 0.25, 0.15]


def test_it_draws_committed_facilities_by_counterparty(frame):
    commitment = {"product": "off_balance", "ccf_class": "commitment"}
    assert lcr_factors(
        frame,
        {**commitment, "counterparty_type": "individual"},
        {**commitment, "counterparty_type": "corporate"},
        {**commitment, "counterparty_type": "bank", "rating": "A"},
        {**commitment, "counterparty_type": "corporate", "liquidity_facility": True},
        {**commitment, "counterparty_type": "other_fi", "liquidity_facility": True},
        {"product": "off_balance", "ccf_class": "unconditionally_cancellable", "counterparty_type": "corporate"},
    ) == [0.05, 0.10, 0.40, 0.30, 1.00, 0.0]


def test_it_applies_the_inflow_rates(frame):
    assert lcr_factors(
        frame,
        {"product": "inflow_retail"},
        {"product": "inflow_wholesale_nonfin"},
        {"product": "inflow_financial"},
        {"product": "inflow_reverse_repo", "hqla_level": "L1"},
        {"product": "inflow_reverse_repo", "hqla_level": "L2A"},
        {"product": "inflow_reverse_repo", "hqla_level": "NON_HQLA"},
        {"product": "inflow_financial", "residual_maturity_years": 0.5},
    ) == [0.50, 0.50, 1.00, 0.0, 0.15, 1.00, 0.0]


def test_the_discretionary_rates_are_settings(frame):
    settings = RegulatorySettings(
        lcr_stable_retail_enhanced=True, lcr_less_stable_retail_rate=0.15, lcr_other_contingent_rate=0.05
    )
    assert lcr_factors(
        frame,
        {"product": "retail_deposit_stable"},
        {"product": "retail_deposit_less_stable"},
        {"product": "off_balance", "ccf_class": "trade_letter_of_credit", "counterparty_type": "corporate"},
        settings=settings,
    ) == [0.03, 0.15, 0.05]


def test_without_net_outflows_the_ratio_is_none_and_passes(frame):
    lcr = compute_lcr(frame({"product": "cash", "notional": 10.0}))
    assert lcr["ratio"] is None
    assert lcr["pass"] is True
