"""A user's own book: format detection, the capital stack, the metrics."""
from __future__ import annotations

import pandas as pd
import pytest

from simulations.engine import (
    CapitalFormatError,
    CapitalStack,
    PositionsFormatError,
    SimulationConfig,
    generate_portfolio,
)
from simulations.user_files import (
    FROM_FILE,
    FROM_POSITIONS,
    capital_from_positions,
    compute_book,
    load_capital,
    sniff_format,
)


def test_parquet_is_told_from_csv_by_content_or_name():
    assert sniff_format(b"PAR1") == "parquet"
    assert sniff_format(b"posi", "book.PARQUET") == "parquet"
    assert sniff_format(b"posi", "book.csv") == "csv"
    assert sniff_format(b"posi") == "csv"


def test_the_capital_defaults_to_the_capital_instruments_of_the_book():
    config = SimulationConfig()
    positions = generate_portfolio(1, 500, config)
    assert capital_from_positions(positions) == config.capital_stack()


def test_a_book_without_capital_instruments_has_no_capital():
    frame = pd.DataFrame({"position_id": ["A"], "product": ["cash"], "notional": [10.0]})
    assert capital_from_positions(frame) == CapitalStack(cet1=0.0, at1=0.0, tier2=0.0)


def test_a_capital_file_overrides_the_positions(tmp_path):
    path = tmp_path / "book.csv"
    generate_portfolio(1, 500, SimulationConfig()).to_csv(path, index=False)
    given = compute_book(path, capital=load_capital('{"cet1": 1e9}'))
    derived = compute_book(path)
    assert given.capital_source == FROM_FILE and derived.capital_source == FROM_POSITIONS
    assert given.capital.cet1 == 1e9 and given.format == "csv"
    assert given.result.summary["cet1_ratio"] > derived.result.summary["cet1_ratio"]
    assert given.as_dict()["capital_stack"] == {"cet1": 1e9, "at1": 0.0, "tier2": 0.0, "source": FROM_FILE}


def test_bytes_are_accepted_too():
    csv = b"position_id,product,notional\nA,cash,100\nB,capital_cet1,40\n"
    book = compute_book(csv)
    assert book.n_positions == 2 and book.capital.cet1 == 40.0


@pytest.mark.parametrize("text, field", [("[1]", None), ('{"cet1": "lots"}', "cet1"), ("{", None)])
def test_a_bad_capital_stack_is_refused(text, field):
    with pytest.raises(CapitalFormatError) as refused:
        load_capital(text)
    assert refused.value.field == field


def test_a_bad_book_names_the_row_and_column():
    with pytest.raises(PositionsFormatError) as refused:
        compute_book(b"position_id,product,notional\nA,cash,100\nB,cash,-3\n")
    assert (refused.value.row, refused.value.column) == (2, "notional")
