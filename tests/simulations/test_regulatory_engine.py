"""The lines a real book has, at their edges, against figures computed by hand from the Basel texts."""
from __future__ import annotations

import pandas as pd
import pytest

from simulations.engine import (
    CapitalStack,
    PositionsFormatError,
    RegulatorySettings,
    compute_lcr,
    compute_metrics,
    compute_nsfr,
    compute_rwa,
)

SPLITTING = RegulatorySettings(real_estate_approach="loan_splitting")


def book(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{"position_id": f"P{i}", **row} for i, row in enumerate(rows, start=1)])


def rwa_of(frame: pd.DataFrame, settings: RegulatorySettings = RegulatorySettings()) -> list[float]:
    return [round(v, 6) for v in compute_rwa(frame, settings)["rwa"]]


# -- cash items in the process of collection (d424 para 97) -----------------------------------


def test_cash_items_in_collection_weigh_20_percent():
    result = compute_rwa(book({"product": "cash_in_collection", "notional": 1000.0}))
    assert result["risk_weight"][0] == pytest.approx(0.20)
    assert result["rwa"][0] == pytest.approx(200.0)
    assert "d424 para 97" in str(result["rule"][0])


# -- RMBS: HQLA Level 2B with a 25% haircut, eligibility, credit treatment --------------------


def test_an_eligible_rmbs_counts_75_percent_and_is_weighted_by_the_setting():
    frame = book({"product": "rmbs", "notional": 1000.0, "rating": "AA", "hqla_level": "L2B_RMBS", "ltv": 0.80})
    lcr = compute_lcr(frame)
    assert lcr["hqla"]["levels"]["L2B"]["after_haircut"] == pytest.approx(750.0)
    assert rwa_of(frame) == [1000.0]  # default RMBS weight 100%
    assert rwa_of(frame, RegulatorySettings(rmbs_risk_weight=0.15)) == [150.0]
    nsfr = compute_nsfr(frame)
    assert nsfr["rsf"]["total"] == pytest.approx(500.0)  # unencumbered Level 2B: 50%
    with pytest.raises(ValueError, match="rmbs_risk_weight"):
        RegulatorySettings(rmbs_risk_weight=0.10)


@pytest.mark.parametrize(("rating", "ltv", "reason"), [
    ("AA-", 0.5, "need a rating of AA or better"),
    ("NR", 0.5, "need a rating of AA or better"),
    ("AAA", 0.81, "average LTV of 80% or less"),
])
def test_an_ineligible_rmbs_is_not_hqla_and_the_trace_says_why(rating, ltv, reason):
    frame = book({"product": "rmbs", "notional": 1000.0, "rating": rating, "hqla_level": "L2B_RMBS", "ltv": ltv})
    lcr = compute_lcr(frame)
    assert lcr["hqla"]["total"] == 0.0
    [rule] = lcr["rules"]
    assert "BCBS238 para 54(a)" in rule["rule"] and reason in rule["rule"]
    # Not HQLA for the NSFR either: a non-HQLA security without maturity, 85%.
    assert compute_nsfr(frame)["rsf"]["total"] == pytest.approx(850.0)


def test_declared_levels_are_checked_against_rating_and_issuer():
    frame = book(
        {"product": "sovereign", "notional": 100.0, "rating": "A", "hqla_level": "L1"},  # 20% RW: not L1
        {"product": "sovereign", "notional": 100.0, "rating": "AA-", "hqla_level": "L1"},  # 0% RW: L1
        {"product": "corporate", "notional": 100.0, "rating": "A+", "hqla_level": "L2A"},  # below AA-
        {"product": "corporate", "notional": 100.0, "rating": "BBB-", "hqla_level": "L2B_CORPORATE"},  # edge: in
        {"product": "corporate", "notional": 100.0, "rating": "BB+", "hqla_level": "L2B_CORPORATE"},  # out
        {"product": "corporate", "notional": 100.0, "rating": "AA", "hqla_level": "L2A",
         "counterparty_type": "other_fi"},  # financial issuer
        {"product": "equity", "notional": 100.0, "hqla_level": "L2B_EQUITY", "equity_listing": "unlisted"},
    )
    lcr = compute_lcr(frame)
    assert lcr["hqla"]["levels"]["L1"]["after_haircut"] == pytest.approx(100.0)
    assert lcr["hqla"]["levels"]["L2A"]["after_haircut"] == 0.0
    assert lcr["hqla"]["by_type"]["L2B_CORPORATE"]["before_haircut"] == pytest.approx(100.0)
    labels = " | ".join(r["rule"] for r in lcr["rules"])
    assert "BCBS238 para 50(c)" in labels and "BCBS238 para 52(b)" in labels
    assert "from A+ to BBB-" in labels and "must not be issued by a financial institution" in labels
    assert "must be exchange-traded" in labels


# -- other liabilities (d295 para 25(a)) apart from derivative liabilities -----------------------


def test_other_liabilities_have_no_stable_funding_and_no_derivative_add_on():
    frame = book(
        {"product": "other_liability", "notional": 1000.0},
        {"product": "derivative_liability", "notional": 200.0},
        {"product": "other_assets", "notional": 100.0},
    )
    nsfr = compute_nsfr(frame)
    assert nsfr["asf"]["total"] == 0.0
    assert nsfr["derivatives"]["liabilities"] == pytest.approx(200.0)
    assert nsfr["derivatives"]["gross_liabilities_rsf"] == pytest.approx(40.0)  # 20% of 200, not of 1,200
    assert nsfr["rsf"]["total"] == pytest.approx(140.0)
    labels = [r["rule"] for r in nsfr["rules"]]
    assert any(label.startswith("d295 para 25(a), other liabilities") for label in labels)


def test_other_liabilities_run_off_only_when_due_within_30_days():
    frame = book(
        {"product": "other_liability", "notional": 1000.0, "residual_maturity_days": 30},
        {"product": "other_liability", "notional": 500.0, "residual_maturity_days": 31},
        {"product": "other_liability", "notional": 700.0},
    )
    lcr = compute_lcr(frame, RegulatorySettings(as_of_date="2026-01-31"))
    assert lcr["outflows"]["by_category"]["other_contractual"] == {"amount": 2200.0, "weighted": 1000.0}


# -- equity by listing (d424 paras 50–52; d295 paras 42, 43(c)) -------------------------------------


def test_equity_weights_and_stable_funding_follow_the_listing():
    frame = book(
        {"product": "equity", "notional": 100.0},
        {"product": "equity", "notional": 100.0, "equity_listing": "unlisted"},
        {"product": "equity", "notional": 100.0, "equity_listing": "speculative_unlisted"},
        {"product": "equity", "notional": 100.0, "equity_listing": "legislated_programme"},
    )
    assert rwa_of(frame) == [250.0, 250.0, 400.0, 100.0]
    nsfr = compute_nsfr(frame)
    assert nsfr["rsf"]["total"] == pytest.approx(85.0 + 100.0 * 3)
    with pytest.raises(PositionsFormatError, match="equity_listing applies only to equity"):
        compute_rwa(book({"product": "corporate", "notional": 1.0, "equity_listing": "listed"}))


# -- retail off-balance: transactors 45%, regulatory retail 75%, other retail 100% ----------------


def test_retail_off_balance_items_are_weighted_by_segment_after_their_ccf():
    common = {"product": "off_balance", "notional": 1000.0, "counterparty_type": "individual",
              "ccf_class": "unconditionally_cancellable"}
    frame = book({**common, "retail_segment": "transactor"}, common, {**common, "retail_segment": "other"})
    result = compute_rwa(frame)
    assert list(result["ead"]) == [100.0, 100.0, 100.0]  # 10% CCF, d424 para 84
    assert [round(v, 6) for v in result["rwa"]] == [45.0, 75.0, 100.0]
    assert "d424 para 56" in str(result["rule"][0]) and "d424 para 55" in str(result["rule"][1])
    with pytest.raises(PositionsFormatError, match="retail_segment applies only"):
        compute_rwa(book({**common, "counterparty_type": "corporate", "retail_segment": "transactor"}))


# -- retail term deposits and the penalty-free withdrawal right (BCBS238 paras 82–84) --------------


def test_only_term_deposits_without_a_penalty_free_withdrawal_are_left_out_of_outflows():
    frame = book(
        {"product": "retail_term_deposit", "notional": 1000.0, "residual_maturity_years": 2.0, "insured": True},
        {"product": "retail_term_deposit", "notional": 1000.0, "residual_maturity_years": 2.0, "insured": True,
         "penalty_free_withdrawal": True},
        {"product": "retail_term_deposit", "notional": 1000.0, "residual_maturity_years": 2.0,
         "penalty_free_withdrawal": True},
    )
    lcr = compute_lcr(frame)
    assert lcr["outflows"]["by_category"]["retail_term"]["weighted"] == pytest.approx(0.0 + 50.0 + 100.0)
    with pytest.raises(PositionsFormatError, match="penalty_free_withdrawal applies only"):
        compute_lcr(book({"product": "corporate_deposit", "notional": 1.0, "penalty_free_withdrawal": True}))


# -- real estate: whole loan and loan-splitting (d424 paras 62, 64–65, 70–71) -----------------------


def test_the_d424_loan_splitting_worked_examples_come_out_exactly():
    frame = book(
        # €70,000 on €100,000: 20% on €55,000, 75% on €15,000.
        {"product": "rre_general", "notional": 70_000.0, "property_value": 100_000.0},
        # plus a pari passu lien of €10,000: 20% on €48,125, 75% on €21,875.
        {"product": "rre_general", "notional": 70_000.0, "property_value": 100_000.0, "pari_passu_liens": 10_000.0},
        # €30,000 behind a senior €10,000 and beside a pari passu €10,000: €33,750 available, 20% on all €30,000.
        {"product": "rre_general", "notional": 30_000.0, "property_value": 100_000.0, "senior_liens": 10_000.0,
         "pari_passu_liens": 10_000.0},
    )
    assert rwa_of(frame, SPLITTING) == [
        55_000 * 0.20 + 15_000 * 0.75,
        48_125 * 0.20 + 21_875 * 0.75,
        30_000 * 0.20,
    ]
    result = compute_rwa(frame, SPLITTING)
    assert "d424 para 65 (loan-splitting)" in str(result["rule"][0])
    assert "individual 75%" in str(result["counterparty_rule"][0])


def test_whole_loan_counts_the_liens_of_others_in_the_ltv():
    frame = book(
        {"product": "rre_general", "notional": 70_000.0, "property_value": 100_000.0},  # 70%: 30%
        {"product": "rre_general", "notional": 70_000.0, "property_value": 100_000.0, "pari_passu_liens": 10_000.0},
        {"product": "rre_general", "notional": 70_000.0, "property_value": 100_000.0, "senior_liens": 10_001.0},
        {"product": "rre_general", "notional": 40_000.0, "ltv": 0.4, "senior_liens": 10_000.0},  # 50%: 20%
    )
    assert rwa_of(frame) == [21_000.0, 21_000.0, 28_000.0, 8_000.0]  # 80% stays in 60–80%; 80.001% is 40%


def test_commercial_loan_splitting_uses_min_60_percent_and_the_counterparty_weight():
    frame = book({"product": "cre_general", "notional": 80_000.0, "property_value": 100_000.0,
                  "counterparty_type": "corporate", "rating": "BBB"})
    # 55,000 at min(60%, 75%) + 25,000 at 75%
    assert rwa_of(frame, SPLITTING) == [55_000 * 0.60 + 25_000 * 0.75]
    result = compute_rwa(frame, SPLITTING)
    assert "d424 Table 10" in str(result["counterparty_rule"][0])


# -- market value for HQLA ---------------------------------------------------------------------------


def test_hqla_count_at_market_value_while_rwa_uses_the_carrying_amount():
    frame = book(
        {"product": "corporate", "notional": 1000.0, "rating": "AA", "hqla_level": "L2A", "market_value": 900.0},
        {"product": "sovereign", "notional": 500.0, "rating": "AAA", "hqla_level": "L1"},
    )
    lcr = compute_lcr(frame)
    assert lcr["hqla"]["levels"]["L2A"]["after_haircut"] == pytest.approx(900.0 * 0.85)
    assert lcr["hqla"]["amount_basis"]["market_value_holdings"] == 1
    assert lcr["hqla"]["amount_basis"]["carrying_amount_holdings"] == 1
    assert rwa_of(frame) == [200.0, 0.0]
    only_carrying = compute_lcr(frame.drop(columns="market_value"))
    assert "carrying amount" in only_carrying["hqla"]["amount_basis"]["text"]


# -- exact maturities ------------------------------------------------------------------------------


def test_six_months_and_one_year_are_decided_on_the_calendar():
    as_of = RegulatorySettings(as_of_date="2026-01-31")  # +6 months: 2026-07-31 (181 days); +1 year: 365 days
    frame = book(
        {"product": "fi_funding", "notional": 100.0, "residual_maturity_days": 180},
        {"product": "fi_funding", "notional": 100.0, "maturity_date": "2026-07-31"},
        {"product": "fi_funding", "notional": 100.0, "residual_maturity_days": 364},
        {"product": "fi_funding", "notional": 100.0, "maturity_date": "2027-01-31"},
        {"product": "fi_funding", "notional": 100.0, "residual_maturity_years": 0.49},
    )
    nsfr = compute_nsfr(frame, as_of)
    # <6m: 0%; 6m–1y: 50%; ≥1y: 100%; years still accepted (0.49 < 0.5: 0%)
    assert nsfr["asf"]["total"] == pytest.approx(0 + 50 + 50 + 100 + 0)


def test_the_30_day_horizon_and_three_months_are_exact():
    as_of = RegulatorySettings(as_of_date="2026-02-28")
    lcr = compute_lcr(book(
        {"product": "fi_funding", "notional": 100.0, "residual_maturity_days": 30},
        {"product": "fi_funding", "notional": 100.0, "residual_maturity_days": 31},
    ), as_of)
    assert lcr["outflows"]["by_category"]["financial_institutions"]["weighted"] == pytest.approx(100.0)
    banks = book(
        # more than three months (ECRA A: 30%); 2025-12-31 + 3 months = 2026-03-31 exactly: short-term (20%)
        {"product": "bank", "notional": 100.0, "rating": "A", "start_date": "2025-11-28", "maturity_date": "2026-03-31"},
        {"product": "bank", "notional": 100.0, "rating": "A", "start_date": "2025-12-31",
         "maturity_date": "2026-03-31"},
        {"product": "bank", "notional": 100.0, "rating": "A", "start_date": "2025-12-30",
         "maturity_date": "2026-03-31"},
    )
    assert rwa_of(banks, as_of) == [30.0, 20.0, 30.0]


def test_days_or_dates_without_an_as_of_date_are_refused():
    with pytest.raises(PositionsFormatError, match="set as_of_date"):
        compute_lcr(book({"product": "fi_funding", "notional": 1.0, "residual_maturity_days": 10}))
    with pytest.raises(PositionsFormatError, match="once"):
        compute_lcr(book({"product": "fi_funding", "notional": 1.0, "residual_maturity_days": 10,
                          "residual_maturity_years": 0.1}), RegulatorySettings(as_of_date="2026-01-01"))
    with pytest.raises(ValueError, match="as_of_date"):
        RegulatorySettings(as_of_date="31/01/2026")


# -- trace and messages ------------------------------------------------------------------------------


def test_nsfr_lines_cite_their_paragraph():
    frame = book(
        {"product": "retail_deposit_stable", "notional": 100.0},
        {"product": "corporate_deposit", "notional": 100.0},
        {"product": "cash", "notional": 100.0},
        {"product": "off_balance", "notional": 100.0, "counterparty_type": "corporate", "ccf_class": "commitment"},
        {"product": "secured_funding", "notional": 100.0, "residual_maturity_years": 0.7},
    )
    labels = [r["rule"] for r in compute_nsfr(frame)["rules"]]
    assert any(label.startswith("d295 para 22,") for label in labels)
    assert any(label.startswith("d295 para 24,") for label in labels)
    assert any(label.startswith("d295 para 36,") for label in labels)
    assert any(label.startswith("d295 para 47") for label in labels)
    assert not any("paras 21–25" in label or "paras 36–43" in label for label in labels)


def test_messages_show_plain_numbers():
    with pytest.raises(PositionsFormatError) as caught:
        compute_rwa(book({"product": "corporate", "notional": -250.0}))
    assert "negative amount -250.0" in str(caught.value) and "np." not in str(caught.value)


def test_metrics_state_the_settings_in_force():
    frame = book({"product": "rre_general", "notional": 70_000.0, "property_value": 100_000.0},
                 {"product": "capital_cet1", "notional": 10_000.0})
    result = compute_metrics(frame, CapitalStack(cet1=10_000.0), SPLITTING)
    assert result.summary["total_rwa"] == pytest.approx(22_250.0)


def test_lcr_committed_facilities_and_secured_funding_cite_their_point():
    frame = book(
        {"product": "off_balance", "notional": 100.0, "counterparty_type": "bank", "rating": "A",
         "ccf_class": "commitment"},
        {"product": "off_balance", "notional": 100.0, "counterparty_type": "other_fi", "ccf_class": "commitment",
         "liquidity_facility": True},
        {"product": "secured_funding", "notional": 100.0, "hqla_level": "L2A", "residual_maturity_years": 0.01},
    )
    rules = {r["rule"]: r["weighted"] for r in compute_lcr(frame)["rules"]}
    assert rules["BCBS238 para 131(d), committed credit facility to bank: 40%"] == pytest.approx(40.0)
    assert rules["BCBS238 para 131(f), committed liquidity facility to other fi: 100%"] == pytest.approx(100.0)
    assert rules["BCBS238 para 115 (secured funding table), secured funding backed by L2A: 15%"] == pytest.approx(15.0)
