"""The field-count check of CSV books: every row has one field per column, or it is refused naming the row."""
from __future__ import annotations

import gzip
import io

import pytest

from simulations import user_files
from simulations.engine import PositionsFormatError


def _problem(data: bytes, max_positions: int | None = None) -> str | None:
    found = user_files._ragged_row(io.BytesIO(data), max_positions)
    return None if found is None else str(found)


@pytest.mark.parametrize("block", [user_files.SCAN_BLOCK_BYTES, 5])
@pytest.mark.parametrize(("data", "expected"), [
    (b"a,b,c\n1,2,3\n4,5,6\n", None),
    (b"a,b,c\n1,2,3\n4,5,6", None),  # no final line break
    (b"a,b,c\n1,2,3\n\n4,5,6\n7,8\n", "row 3: has 2 fields; the header has 3"),  # blank lines are not rows
    (b"a,b,c\r\n1,2,3\r\n\r\n4,5,6,7\r\n", "row 2: has 4 fields; the header has 3"),
    (b'a,b,c\n1,2,3\n4,"5,x",6\n7,8\n', "row 3: has 2 fields"),  # a quoted comma is no separator
    (b'a,b,c\n1,2,3\n4,"5\nx",6\n7,8,9\n', None),  # nor is a quoted line break
    (b'"a","b,c"\n1,2\n3\n', "row 2: has 1 fields; the header has 2"),
])
def test_rows_are_counted_exactly(monkeypatch, block, data, expected):
    monkeypatch.setattr(user_files, "SCAN_BLOCK_BYTES", block)
    problem = _problem(data)
    assert problem == expected if expected is None else expected in problem


def test_the_count_stops_at_the_position_limit():
    assert "more than 2 positions" in _problem(b"a\n1\n2\n3\n4,5\n", max_positions=2)


def test_a_ragged_row_in_a_gzip_file_is_found_too():
    data = gzip.compress(b"position_id,product,notional\nA,cash,100\nB,cash\n")
    with pytest.raises(PositionsFormatError) as caught:
        user_files.read_positions_in_batches(io.BytesIO(data), "csv")
    assert caught.value.row == 2 and "has 2 fields" in caught.value.message
