"""Capital ratios, buffers and the leverage ratio on hand examples."""

from __future__ import annotations

import pytest

from simulations.engine import CapitalStack, RegulatorySettings, compute_capital, compute_metrics

# RWA: 1000 × 75% + 400 × 75% + 500 × 0% + (100 × 40%) × 100% = 1090
# Leverage exposure: 1000 + 400 + 500 + 100 (cash) + 100 × 40% = 2040
BOOK = [
    {"product": "corporate", "notional": 1000.0, "rating": "BBB"},
    {"product": "retail_regulatory", "notional": 400.0},
    {"product": "sovereign", "notional": 500.0, "rating": "AAA"},
    {"product": "off_balance", "notional": 100.0, "ccf_class": "commitment", "counterparty_type": "corporate"},
    {"product": "cash", "notional": 100.0},
]
CAPITAL = CapitalStack(cet1=80.0, at1=15.0, tier2=25.0)


def test_it_computes_the_capital_ratios_of_a_hand_book(frame):
    result = compute_metrics(frame(*BOOK), CAPITAL).capital
    assert result["rwa"] == pytest.approx(1090.0)
    assert result["ratios"]["cet1"] == pytest.approx(0.07339449541284404)
    assert result["ratios"]["tier1"] == pytest.approx(0.0871559633027523)
    assert result["ratios"]["total"] == pytest.approx(0.11009174311926606)
    assert all(result["pass"].values())
    assert result["minimums_pass"] is True
    assert result["buffers_pass"] is True


def test_it_computes_the_leverage_ratio_of_a_hand_book(frame):
    leverage = compute_metrics(frame(*BOOK), CAPITAL).capital["leverage"]
    assert leverage["exposure"]["on_balance"] == pytest.approx(2000.0)
    assert leverage["exposure"]["off_balance"] == pytest.approx(40.0)
    assert leverage["exposure_measure"] == pytest.approx(2040.0)
    assert leverage["ratio"] == pytest.approx(0.04656862745098039)
    assert leverage["pass"] is True


def test_the_requirements_are_the_basel_minimums_and_buffers():
    result = compute_capital(CAPITAL, 1000.0, 2000.0)
    assert result["requirements"] == {
        "cet1": {"minimum": 0.045, "with_buffers": 0.07},
        "tier1": {"minimum": 0.06, "with_buffers": 0.085},
        "total": {"minimum": 0.08, "with_buffers": 0.105},
    }
    assert result["leverage"]["minimum"] == 0.03


def test_a_bank_exactly_at_7_percent_cet1_meets_the_buffered_requirement():
    at = compute_capital(CapitalStack(cet1=70.0, at1=15.0, tier2=20.0), 1000.0, 1000.0)
    below = compute_capital(CapitalStack(cet1=69.99, at1=15.0, tier2=20.0), 1000.0, 1000.0)
    assert at["pass"]["cet1_with_buffers"] is True
    assert below["pass"]["cet1_with_buffers"] is False
    assert below["pass"]["cet1_minimum"] is True
    assert below["buffers_pass"] is False
    assert below["shortfall_with_buffers"]["cet1"] == pytest.approx(0.01)


def test_a_bank_below_the_minimums_fails_them():
    result = compute_capital(CapitalStack(cet1=40.0, at1=10.0, tier2=20.0), 1000.0, 1000.0)
    assert result["pass"] == {
        "cet1_minimum": False,
        "cet1_with_buffers": False,
        "tier1_minimum": False,
        "tier1_with_buffers": False,
        "total_minimum": False,
        "total_with_buffers": False,
    }


def test_the_countercyclical_buffer_raises_every_buffered_requirement():
    settings = RegulatorySettings(countercyclical_buffer=0.01)
    result = compute_capital(CapitalStack(cet1=75.0, at1=15.0, tier2=20.0), 1000.0, 1000.0, settings)
    assert result["requirements"]["cet1"]["with_buffers"] == 0.08
    assert result["requirements"]["total"]["with_buffers"] == 0.115
    assert result["pass"]["cet1_with_buffers"] is False


def test_a_leverage_ratio_below_3_percent_fails():
    result = compute_capital(CapitalStack(cet1=29.0), 100.0, 1000.0)
    assert result["leverage"]["ratio"] == pytest.approx(0.029)
    assert result["leverage"]["pass"] is False
    assert result["minimums_pass"] is False


def test_the_leverage_ccf_floor_is_a_setting(frame):
    positions = frame(
        {"product": "cash", "notional": 100.0},
        {"product": "off_balance", "notional": 100.0, "ccf_class": "unconditionally_cancellable",
         "counterparty_type": "corporate"},
    )
    capital = CapitalStack(cet1=10.0)
    default = compute_metrics(positions, capital).capital["leverage"]["exposure"]
    floored = compute_metrics(positions, capital, RegulatorySettings(leverage_ccf_floor=0.2)).capital
    assert default["off_balance"] == pytest.approx(10.0)
    assert floored["leverage"]["exposure"]["off_balance"] == pytest.approx(20.0)


def test_ratios_are_none_without_rwa():
    result = compute_capital(CapitalStack(cet1=10.0), 0.0, 0.0)
    assert result["ratios"] == {"cet1": None, "tier1": None, "total": None}
    assert result["leverage"]["ratio"] is None
    assert result["buffers_pass"] is True
