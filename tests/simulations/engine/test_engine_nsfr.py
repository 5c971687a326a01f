"""NSFR on small hand portfolios."""

from __future__ import annotations

import pytest

from simulations.engine import RegulatorySettings, compute_nsfr

LIABILITIES = [
    {"product": "capital_cet1", "notional": 100.0},  # 100% -> 100
    {"product": "retail_deposit_stable", "notional": 200.0},  # 95% -> 190
    {"product": "retail_deposit_less_stable", "notional": 100.0},  # 90% -> 90
    {"product": "corporate_deposit", "notional": 100.0},  # 50% -> 50
    {"product": "fi_funding", "notional": 100.0, "residual_maturity_years": 0.25},  # 0% -> 0
    {"product": "fi_funding", "notional": 50.0, "residual_maturity_years": 0.75},  # 50% -> 25
    {"product": "long_term_debt", "notional": 100.0, "residual_maturity_years": 3.0},  # 100% -> 100
]
ASSETS = [
    {"product": "cash", "notional": 20.0},  # 0%
    {"product": "sovereign", "notional": 100.0, "rating": "AAA", "hqla_level": "L1"},  # 5% -> 5
    {"product": "corporate", "notional": 40.0, "rating": "AA", "hqla_level": "L2A"},  # 15% -> 6
    {"product": "rre_general", "notional": 200.0, "ltv": 0.6, "residual_maturity_years": 20.0},  # RW 25%: 65% -> 130
    {"product": "corporate", "notional": 100.0, "rating": "BBB", "residual_maturity_years": 3.0},  # RW 75%: 85% -> 85
    {"product": "corporate", "notional": 50.0, "rating": "BBB", "residual_maturity_years": 0.5},  # < 1y: 50% -> 25
    {"product": "bank", "notional": 60.0, "rating": "A", "residual_maturity_years": 0.2},  # FI < 6m: 15% -> 9
    {"product": "defaulted_loan", "notional": 30.0, "specific_provision": 10.0},  # 100% of 20 -> 20
    {"product": "other_assets", "notional": 10.0},  # 100% -> 10
    {"product": "off_balance", "notional": 100.0, "ccf_class": "commitment", "counterparty_type": "corporate"},  # 5
    {"product": "off_balance", "notional": 100.0, "ccf_class": "unconditionally_cancellable",
     "counterparty_type": "corporate"},  # 0% (setting)
]


def test_it_computes_the_nsfr_of_a_hand_portfolio(frame):
    nsfr = compute_nsfr(frame(*LIABILITIES, *ASSETS))
    assert nsfr["asf"]["total"] == pytest.approx(555.0)
    assert nsfr["rsf"]["total"] == pytest.approx(295.0)
    assert nsfr["rsf"]["off_balance"] == pytest.approx(5.0)
    assert nsfr["ratio"] == pytest.approx(1.8813559322033898)
    assert nsfr["pass"] is True


def test_it_reports_asf_and_rsf_by_factor(frame):
    nsfr = compute_nsfr(frame(*LIABILITIES, *ASSETS))
    assert nsfr["asf"]["by_factor"]["100%"] == {"amount": 200.0, "weighted": 200.0}
    assert nsfr["asf"]["by_factor"]["95%"]["weighted"] == pytest.approx(190.0)
    assert nsfr["asf"]["by_factor"]["0%"]["amount"] == 100.0
    assert nsfr["rsf"]["by_factor"]["65%"]["weighted"] == pytest.approx(130.0)
    assert nsfr["rsf"]["by_factor"]["100%"]["amount"] == pytest.approx(30.0)


def test_long_loans_split_at_a_35_percent_risk_weight(frame):
    nsfr = compute_nsfr(
        frame(
            {"product": "capital_cet1", "notional": 1000.0},
            # LTV 1.0: RW 50% > 35% -> 85%
            {"product": "rre_general", "notional": 100.0, "ltv": 1.0, "residual_maturity_years": 10.0},
            # LTV 0.8: RW 30% ≤ 35% -> 65%
            {"product": "rre_general", "notional": 100.0, "ltv": 0.8, "residual_maturity_years": 10.0},
        )
    )
    assert nsfr["rsf"]["total"] == pytest.approx(150.0)


def test_it_nets_derivative_assets_against_liabilities(frame):
    nsfr = compute_nsfr(
        frame(
            {"product": "capital_cet1", "notional": 100.0},
            {"product": "derivative_asset", "notional": 30.0, "counterparty_type": "bank", "rating": "A"},
            {"product": "derivative_liability", "notional": 10.0},
        )
    )
    # 100% × (30 − 10) + 20% × 10
    assert nsfr["derivatives"]["net_assets_rsf"] == pytest.approx(20.0)
    assert nsfr["derivatives"]["gross_liabilities_rsf"] == pytest.approx(2.0)
    assert nsfr["rsf"]["total"] == pytest.approx(22.0)
    assert nsfr["asf"]["total"] == pytest.approx(100.0)


def test_net_derivative_liabilities_bring_no_funding(frame):
    positions = frame(
        {"product": "capital_cet1", "notional": 100.0},
        {"product": "derivative_asset", "notional": 10.0, "counterparty_type": "corporate"},
        {"product": "derivative_liability", "notional": 30.0},
    )
    nsfr = compute_nsfr(positions)
    assert nsfr["rsf"]["total"] == pytest.approx(6.0)
    assert nsfr["asf"]["total"] == pytest.approx(100.0)
    settings = RegulatorySettings(nsfr_derivative_liabilities_rsf=0.05)
    assert compute_nsfr(positions, settings)["rsf"]["total"] == pytest.approx(1.5)


def test_tier2_with_less_than_a_year_left_is_not_counted_as_capital(frame):
    nsfr = compute_nsfr(
        frame(
            {"product": "capital_tier2", "notional": 100.0, "residual_maturity_years": 5.0},
            {"product": "capital_tier2", "notional": 100.0, "residual_maturity_years": 0.8},
            {"product": "capital_tier2", "notional": 100.0, "residual_maturity_years": 0.3},
            {"product": "other_assets", "notional": 100.0},
        )
    )
    assert nsfr["asf"]["total"] == pytest.approx(150.0)
