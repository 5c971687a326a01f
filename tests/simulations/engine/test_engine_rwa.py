"""Credit risk weights against the d424 tables of REGULATORY.md, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from simulations.engine import RegulatorySettings, compute_rwa


def weigh(frame, *rows: dict, settings: RegulatorySettings | None = None) -> pd.DataFrame:
    positions = frame(*({"notional": 100.0, **row} for row in rows))
    return compute_rwa(positions) if settings is None else compute_rwa(positions, settings)


def weights(frame, *rows: dict, **kwargs) -> list[float]:
    return weigh(frame, *rows, **kwargs)["risk_weight"].tolist()


# ---------------------------------------------------------------------------
# Real estate: Table 11 band edges, upper bound inclusive
# ---------------------------------------------------------------------------

RRE_GENERAL_CASES = [
    (0.30, 0.20),
    (0.50, 0.20),
    (0.5000001, 0.25),
    (0.55, 0.25),
    (0.60, 0.25),
    (0.70, 0.30),
    (0.80, 0.30),
    (0.85, 0.40),
    (0.90, 0.40),
    (0.95, 0.50),
    (1.00, 0.50),
    (1.01, 0.70),
    (1.40, 0.70),
]


@pytest.mark.parametrize(("ltv", "expected"), RRE_GENERAL_CASES)
def test_it_weights_general_residential_real_estate_by_ltv_band(frame, ltv, expected):
    assert weights(frame, {"product": "rre_general", "ltv": ltv}) == [expected]


def test_it_names_the_table_and_band_in_the_rule(frame):
    result = weigh(frame, {"product": "rre_general", "ltv": 0.85}, {"product": "rre_general", "ltv": 0.80})
    assert result["rule"].tolist() == [
        "d424 Table 11 (para 64), LTV 80–90%",
        "d424 Table 11 (para 64), LTV 60–80%",
    ]
    assert isinstance(result["rule"].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize(
    ("ltv", "expected"),
    [(0.50, 0.30), (0.55, 0.35), (0.80, 0.45), (0.85, 0.60), (1.00, 0.75), (1.01, 1.05)],
)
def test_it_weights_income_producing_residential_real_estate_by_table_12(frame, ltv, expected):
    assert weights(frame, {"product": "rre_income", "ltv": ltv}) == [expected]


@pytest.mark.parametrize(("ltv", "expected"), [(0.60, 0.70), (0.61, 0.90), (0.80, 0.90), (0.81, 1.10)])
def test_it_weights_income_producing_commercial_real_estate_by_table_14(frame, ltv, expected):
    assert weights(frame, {"product": "cre_income", "ltv": ltv}) == [expected]


@pytest.mark.parametrize(
    ("counterparty", "rating", "ltv", "expected"),
    [
        ("individual", None, 0.60, 0.60),  # min(60%, 75%)
        ("individual", None, 0.70, 0.75),
        ("sme", None, 0.50, 0.60),  # min(60%, 85%)
        ("sme", None, 0.90, 0.85),
        ("corporate", "AA", 0.50, 0.20),  # min(60%, 20%)
        ("corporate", "B+", 0.70, 1.50),
    ],
)
def test_it_weights_general_commercial_real_estate_on_the_counterparty(frame, counterparty, rating, ltv, expected):
    row = {"product": "cre_general", "ltv": ltv, "counterparty_type": counterparty, "rating": rating}
    assert weights(frame, row) == [expected]


# ---------------------------------------------------------------------------
# Rating tables
# ---------------------------------------------------------------------------


def test_a_b_plus_corporate_is_150_percent_while_a_b_plus_sovereign_is_100_percent(frame):
    result = weigh(frame, {"product": "corporate", "rating": "B+"}, {"product": "sovereign", "rating": "B+"})
    assert result["risk_weight"].tolist() == [1.50, 1.00]
    assert result["rule"].tolist() == [
        "d424 Table 10 (paras 39–40), below BB–",
        "d424 Table 1 (para 7), BB+ to B–",
    ]


@pytest.mark.parametrize(
    ("rating", "expected"),
    [("AA", 0.20), ("A", 0.50), ("BBB", 0.75), ("BB+", 1.00), ("BB-", 1.00), ("B+", 1.50), ("CCC", 1.50),
     ("NR", 1.00)],
)
def test_it_weights_corporates_by_table_10(frame, rating, expected):
    assert weights(frame, {"product": "corporate", "rating": rating}) == [expected]


@pytest.mark.parametrize(
    ("rating", "expected"),
    [("AAA", 0.0), ("AA-", 0.0), ("A+", 0.20), ("BBB-", 0.50), ("BB+", 1.00), ("B-", 1.00), ("CCC+", 1.50),
     ("NR", 1.00)],
)
def test_it_weights_sovereigns_by_table_1(frame, rating, expected):
    assert weights(frame, {"product": "sovereign", "rating": rating}) == [expected]


def test_it_weights_pses_and_mdbs_by_tables_4_and_5(frame):
    assert weights(
        frame,
        {"product": "pse", "rating": "AA"},
        {"product": "pse", "rating": "A"},
        {"product": "pse", "rating": "BBB"},
        {"product": "pse", "rating": "NR"},
        {"product": "mdb", "rating": "A"},
        {"product": "mdb", "rating": "NR"},
        {"product": "mdb_qualifying", "rating": "NR"},
    ) == [0.20, 0.50, 0.50, 0.50, 0.30, 0.50, 0.0]


def test_it_weights_an_unrated_sme_at_85_percent_and_a_rated_one_as_a_corporate(frame):
    assert weights(frame, {"product": "sme_corporate"}, {"product": "sme_corporate", "rating": "BBB"}) == [
        0.85,
        0.75,
    ]


def test_it_weights_retail_equity_subordinated_debt_and_other_assets(frame):
    assert weights(
        frame,
        {"product": "retail_regulatory"},
        {"product": "retail_transactor"},
        {"product": "retail_other"},
        {"product": "equity"},
        {"product": "subordinated_debt"},
        {"product": "other_assets"},
        {"product": "cash"},
    ) == [0.75, 0.45, 1.00, 2.50, 1.50, 1.00, 0.0]


# ---------------------------------------------------------------------------
# Banks: ECRA, short-term, SCRA
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "original_maturity", "expected"),
    [
        ("AA", 2.0, 0.20),
        ("A", 2.0, 0.30),
        ("BBB", 2.0, 0.50),
        ("BB", 2.0, 1.00),
        ("CCC", 2.0, 1.50),
        ("A", 0.25, 0.20),  # three months exactly is short-term
        ("BBB", 0.10, 0.20),
        ("BB", 0.10, 0.50),
        ("CCC", 0.10, 1.50),
        ("A", 0.26, 0.30),
    ],
)
def test_it_weights_rated_banks_by_table_6(frame, rating, original_maturity, expected):
    row = {"product": "bank", "rating": rating, "original_maturity_years": original_maturity}
    assert weights(frame, row) == [expected]


@pytest.mark.parametrize(
    ("grade", "original_maturity", "expected"),
    [("A", 2.0, 0.40), ("B", 2.0, 0.75), ("C", 2.0, 1.50), ("A", 0.2, 0.20), ("B", 0.2, 0.50), ("C", 0.2, 1.50)],
)
def test_it_weights_unrated_banks_by_scra_grade(frame, grade, original_maturity, expected):
    row = {"product": "bank", "scra_grade": grade, "original_maturity_years": original_maturity}
    assert weights(frame, row) == [expected]


def test_a_well_capitalised_grade_a_bank_gets_30_percent_at_the_thresholds(frame):
    base = {"product": "bank", "scra_grade": "A", "original_maturity_years": 2.0}
    result = weigh(
        frame,
        {**base, "cpty_cet1_ratio": 0.14, "cpty_leverage_ratio": 0.05},
        {**base, "cpty_cet1_ratio": 0.15, "cpty_leverage_ratio": 0.049},
        {**base, "cpty_cet1_ratio": 0.139, "cpty_leverage_ratio": 0.06},
        {**base, "original_maturity_years": 0.2, "cpty_cet1_ratio": 0.2, "cpty_leverage_ratio": 0.1},
    )
    assert result["risk_weight"].tolist() == [0.30, 0.40, 0.40, 0.20]
    assert result["rule"].iloc[0].startswith("d424 Table 7 (footnote 18), Grade A, CET1 ≥ 14% and leverage ≥ 5%")


def test_the_grade_a_30_percent_can_be_switched_off(frame):
    row = {"product": "bank", "scra_grade": "A", "cpty_cet1_ratio": 0.2, "cpty_leverage_ratio": 0.1}
    settings = RegulatorySettings(scra_grade_a_reduced_rw_enabled=False)
    assert weights(frame, row, settings=settings) == [0.40]


def test_the_grade_a_thresholds_are_settings(frame):
    row = {"product": "bank", "scra_grade": "A", "cpty_cet1_ratio": 0.12, "cpty_leverage_ratio": 0.04}
    settings = RegulatorySettings(scra_grade_a_cet1_threshold=0.12, scra_grade_a_leverage_threshold=0.04)
    assert weights(frame, row) == [0.40]
    assert weights(frame, row, settings=settings) == [0.30]


# ---------------------------------------------------------------------------
# Covered bonds
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "expected"), [("AAA", 0.10), ("A", 0.20), ("BBB", 0.20), ("BB", 0.50), ("CCC", 1.00)]
)
def test_it_weights_rated_covered_bonds_by_table_8(frame, rating, expected):
    assert weights(frame, {"product": "covered_bond", "rating": rating}) == [expected]


@pytest.mark.parametrize(
    ("issuer_rating", "scra_grade", "expected"),
    [
        ("AA", None, 0.10),  # issuer 20%
        ("A", None, 0.15),  # issuer 30%
        ("BBB", None, 0.25),  # issuer 50%
        ("BB", None, 0.50),  # issuer 100%
        ("CCC", None, 1.00),  # issuer 150%
        (None, "A", 0.20),  # issuer 40%
        (None, "B", 0.35),  # issuer 75%
        (None, "C", 1.00),  # issuer 150%
    ],
)
def test_it_weights_unrated_covered_bonds_by_table_9_on_the_issuer_weight(frame, issuer_rating, scra_grade, expected):
    row = {"product": "covered_bond", "issuer_rating": issuer_rating, "scra_grade": scra_grade}
    result = weigh(frame, row)
    assert result["risk_weight"].tolist() == [expected]
    assert result["rule"].iloc[0].startswith("d424 Table 9, unrated covered bond")


# ---------------------------------------------------------------------------
# Defaulted exposures
# ---------------------------------------------------------------------------


def test_a_defaulted_loan_with_provisions_below_20_percent_is_150_percent_net_of_provisions(frame):
    result = weigh(frame, {"product": "defaulted_loan", "specific_provision": 19.99})
    assert result["risk_weight"].tolist() == [1.50]
    assert result["ead"].tolist() == [pytest.approx(80.01)]
    assert result["rwa"].tolist() == [pytest.approx(120.015)]
    assert result["rule"].tolist() == ["d424 para 92, defaulted, SP < 20%"]


def test_a_defaulted_loan_with_provisions_of_exactly_20_percent_is_100_percent(frame):
    result = weigh(frame, {"product": "defaulted_loan", "specific_provision": 20.0})
    assert result["risk_weight"].tolist() == [1.00]
    assert result["rwa"].tolist() == [pytest.approx(80.0)]
    assert result["rule"].tolist() == ["d424 para 92, defaulted, SP ≥ 20%"]


def test_a_defaulted_loan_with_provisions_above_20_percent_is_100_percent(frame):
    assert weights(frame, {"product": "defaulted_loan", "specific_provision": 50.0}) == [1.00]


def test_the_defaulted_flag_overrides_the_product_weight(frame):
    result = weigh(
        frame,
        {"product": "corporate", "rating": "AAA", "defaulted": True},
        {"product": "rre_general", "ltv": 0.4, "defaulted": True},
    )
    assert result["risk_weight"].tolist() == [1.50, 1.00]
    assert result["exposure_class"].tolist() == ["defaulted", "defaulted"]
    assert result["rule"].tolist()[1] == "d424 para 93, defaulted general RRE"


# ---------------------------------------------------------------------------
# Off-balance: CCFs
# ---------------------------------------------------------------------------


def test_it_applies_each_ccf_to_the_undrawn_amount(frame):
    classes = [
        ("direct_credit_substitute", 1.00),
        ("nif_ruf", 0.50),
        ("transaction_contingent", 0.50),
        ("commitment", 0.40),
        ("trade_letter_of_credit", 0.20),
        ("unconditionally_cancellable", 0.10),
    ]
    rows = [
        {"product": "off_balance", "notional": 1000.0, "ccf_class": code, "counterparty_type": "corporate"}
        for code, _ in classes
    ]
    result = compute_rwa(frame(*rows))
    assert result["ccf"].tolist() == [ccf for _, ccf in classes]
    assert result["ead"].tolist() == [1000.0, 500.0, 500.0, 400.0, 200.0, 100.0]
    assert result["rwa"].tolist() == [1000.0, 500.0, 500.0, 400.0, 200.0, 100.0]
    assert result["ccf_rule"].iloc[3] == "d424 para 82, commitments, whatever the maturity: CCF 40%"


def test_an_off_balance_item_takes_its_counterpartys_weight(frame):
    result = weigh(
        frame,
        {"product": "off_balance", "ccf_class": "commitment", "counterparty_type": "individual"},
        {"product": "off_balance", "ccf_class": "commitment", "counterparty_type": "bank", "rating": "A"},
    )
    assert result["risk_weight"].tolist() == [0.75, 0.30]
    assert result["rwa"].tolist() == [pytest.approx(30.0), pytest.approx(12.0)]


def test_funding_and_inflows_carry_no_risk_weight(frame):
    result = weigh(frame, {"product": "retail_deposit_stable"}, {"product": "inflow_retail"})
    assert result["rwa"].tolist() == [0.0, 0.0]
    assert result["ead"].tolist() == [0.0, 0.0]
    assert result["risk_weight"].isna().all()
    assert result["exposure_class"].isna().all()
