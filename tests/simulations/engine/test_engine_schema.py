"""The positions format: canonical form, defaults, and errors that name the row and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulations.engine import (
    COLUMN_NAMES,
    PRODUCT_CODES,
    CapitalFormatError,
    CapitalStack,
    PositionsFormatError,
    read_positions_file,
    validate_capital,
    validate_positions,
)
from simulations.engine.factors import CCF_CLASSES, RATING_GRADES

GOOD = {"product": "corporate", "notional": 100.0}


def error_of(df: pd.DataFrame) -> PositionsFormatError:
    with pytest.raises(PositionsFormatError) as caught:
        validate_positions(df)
    return caught.value


def test_it_returns_the_canonical_columns_with_defaults(frame):
    result = validate_positions(frame({"product": "corporate", "notional": "100.5"}))
    assert tuple(result.columns) == COLUMN_NAMES
    row = result.iloc[0]
    assert row["notional"] == 100.5
    assert row["specific_provision"] == 0.0
    assert row["rating"] == "NR"
    assert row["counterparty_type"] == "corporate"
    assert row["hqla_level"] == "NON_HQLA"
    assert bool(row["defaulted"]) is False
    assert isinstance(result["product"].dtype, pd.CategoricalDtype)
    assert result["notional"].dtype == np.float64


def test_it_normalises_case_spaces_and_dashes_in_codes(frame):
    result = validate_positions(frame({"product": " Corporate ", "notional": 1.0, "rating": "bbb–"}))
    assert result["product"].iloc[0] == "corporate"
    assert result["rating"].iloc[0] == "BBB-"


def test_cash_and_reserves_default_to_level_1(frame):
    result = validate_positions(frame({"product": "cash", "notional": 1.0}))
    assert result["hqla_level"].iloc[0] == "L1"


def test_a_missing_required_column_is_named(frame):
    error = error_of(frame({"product": "corporate"}))
    assert (error.row, error.column) == (None, "notional")
    assert "missing" in error.message


def test_an_unknown_column_is_named(frame):
    error = error_of(frame({**GOOD, "ratting": "AA"}))
    assert (error.row, error.column) == (None, "ratting")


def test_an_unknown_product_names_its_row(frame):
    error = error_of(frame(GOOD, GOOD, {"product": "crypto", "notional": 1.0}))
    assert (error.row, error.column) == (3, "product")
    assert "'crypto'" in error.message
    assert str(error).startswith("row 3, column 'product'")


def test_a_non_numeric_amount_names_its_row(frame):
    error = error_of(frame(GOOD, {"product": "corporate", "notional": "12,5"}))
    assert (error.row, error.column) == (2, "notional")
    assert "not a number" in error.message


def test_a_negative_exposure_names_its_row(frame):
    error = error_of(frame(GOOD, GOOD, GOOD, {"product": "corporate", "notional": -1.0}))
    assert (error.row, error.column) == (4, "notional")


def test_an_empty_amount_names_its_row(frame):
    error = error_of(frame(GOOD, {"product": "corporate", "notional": np.nan}))
    assert (error.row, error.column) == (2, "notional")


def test_an_infinite_amount_is_refused(frame):
    error = error_of(frame({"product": "corporate", "notional": np.inf}))
    assert (error.row, error.column) == (1, "notional")


def test_real_estate_without_ltv_names_its_row(frame):
    error = error_of(frame(GOOD, {"product": "rre_general", "notional": 1.0}))
    assert (error.row, error.column) == (2, "ltv")


def test_an_ltv_typed_as_a_percentage_is_refused(frame):
    error = error_of(frame({"product": "rre_general", "notional": 1.0, "ltv": 80}))
    assert (error.row, error.column) == (1, "ltv")
    assert "fraction" in error.message


def test_a_provision_above_the_notional_is_refused(frame):
    error = error_of(frame({"product": "defaulted_loan", "notional": 10.0, "specific_provision": 11.0}))
    assert (error.row, error.column) == (1, "specific_provision")


def test_an_unrated_bank_needs_its_scra_grade(frame):
    error = error_of(frame(GOOD, {"product": "bank", "notional": 1.0}))
    assert (error.row, error.column) == (2, "scra_grade")


def test_an_off_balance_item_needs_its_ccf_class_and_counterparty(frame):
    error = error_of(frame({"product": "off_balance", "notional": 1.0, "counterparty_type": "corporate"}))
    assert (error.row, error.column) == (1, "ccf_class")
    error = error_of(frame({"product": "off_balance", "notional": 1.0, "ccf_class": "commitment"}))
    assert (error.row, error.column) == (1, "counterparty_type")


def test_a_ccf_class_on_a_loan_is_refused(frame):
    error = error_of(frame({**GOOD, "ccf_class": "commitment"}))
    assert (error.row, error.column) == (1, "ccf_class")


def test_an_hqla_level_the_product_cannot_have_is_refused(frame):
    error = error_of(frame(GOOD, {"product": "retail_regulatory", "notional": 1.0, "hqla_level": "L1"}))
    assert (error.row, error.column) == (2, "hqla_level")


def test_a_deposit_cannot_be_defaulted(frame):
    error = error_of(frame({"product": "retail_deposit_stable", "notional": 1.0, "defaulted": "yes"}))
    assert (error.row, error.column) == (1, "defaulted")


def test_an_unreadable_flag_names_its_row(frame):
    error = error_of(frame({**GOOD, "insured": "true"}, {**GOOD, "insured": "maybe"}))
    assert (error.row, error.column) == (2, "insured")


def test_an_unknown_rating_names_its_row(frame):
    error = error_of(frame(GOOD, {**GOOD, "rating": "AAA+"}))
    assert (error.row, error.column) == (2, "rating")


def test_a_duplicate_position_id_names_the_second_row():
    df = pd.DataFrame({"position_id": ["a", "b", "a"], "product": ["corporate"] * 3, "notional": [1.0] * 3})
    error = error_of(df)
    assert (error.row, error.column) == (3, "position_id")


def test_an_empty_position_id_names_its_row():
    df = pd.DataFrame({"position_id": ["a", " "], "product": ["corporate"] * 2, "notional": [1.0] * 2})
    error = error_of(df)
    assert (error.row, error.column) == (2, "position_id")


def test_a_csv_error_names_the_data_row_counted_from_1():
    csv = b"position_id,product,notional\np1,corporate,10\np2,corporate,abc\n"
    with pytest.raises(PositionsFormatError) as caught:
        read_positions_file(csv, "csv")
    assert (caught.value.row, caught.value.column) == (2, "notional")


# ---------------------------------------------------------------------------
# Capital
# ---------------------------------------------------------------------------


def test_it_reads_a_capital_object():
    assert validate_capital({"cet1": 100, "at1": "5.5"}) == CapitalStack(cet1=100.0, at1=5.5, tier2=0.0)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "cet1"),
        ({"cet1": -1}, "cet1"),
        ({"cet1": "lots"}, "cet1"),
        ({"cet1": True}, "cet1"),
        ({"cet1": float("nan")}, "cet1"),
        ({"cet1": 1, "tier2": None}, "tier2"),
        ({"cet1": 1, "tier3": 4}, "tier3"),
    ],
)
def test_a_bad_capital_object_names_the_field(data, field):
    with pytest.raises(CapitalFormatError) as caught:
        validate_capital(data)
    assert caught.value.field == field


def test_a_capital_that_is_not_an_object_is_refused():
    with pytest.raises(CapitalFormatError):
        validate_capital([1, 2, 3])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Documentation
# ---------------------------------------------------------------------------


def test_the_csv_example_of_the_documentation_is_valid(repo_root):
    text = (repo_root / "docs" / "positions_format.md").read_text(encoding="utf-8")
    example = text.split("```csv\n", 1)[1].split("```", 1)[0]
    positions = read_positions_file(example.encode(), "csv")
    assert positions["product"].tolist()[:2] == ["rre_general", "bank"]
    assert bool(positions["defaulted"].iloc[3]) is True


def test_the_format_documentation_lists_every_column_and_code(repo_root):
    text = (repo_root / "docs" / "positions_format.md").read_text(encoding="utf-8")
    for code in (*COLUMN_NAMES, *PRODUCT_CODES, *CCF_CLASSES, *RATING_GRADES):
        assert f"`{code}`" in text, code
