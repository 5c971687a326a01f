"""Deterministic Parquet and reading positions files."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from simulations.engine import (
    CapitalStack,
    PositionsFormatError,
    compute_metrics,
    frame_to_parquet_bytes,
    generate_portfolio,
    parquet_bytes_to_frame,
    read_positions_file,
)


@pytest.fixture(scope="module")
def positions() -> pd.DataFrame:
    return generate_portfolio(21, 2000)


def test_the_same_frame_always_gives_the_same_bytes(positions):
    explain = compute_metrics(positions, CapitalStack(cet1=1e9)).explain
    assert frame_to_parquet_bytes(positions) == frame_to_parquet_bytes(positions.copy())
    assert frame_to_parquet_bytes(explain) == frame_to_parquet_bytes(explain.copy())


def test_a_changed_frame_gives_other_bytes(positions):
    changed = positions.copy()
    changed.loc[0, "notional"] += 0.01
    assert hashlib.sha256(frame_to_parquet_bytes(changed)).digest() != hashlib.sha256(
        frame_to_parquet_bytes(positions)
    ).digest()


def test_parquet_round_trips_the_positions(positions):
    pd.testing.assert_frame_equal(parquet_bytes_to_frame(frame_to_parquet_bytes(positions)), positions)


def test_it_reads_a_parquet_file_from_bytes_or_a_path(positions, tmp_path):
    data = frame_to_parquet_bytes(positions)
    path = tmp_path / "positions.parquet"
    path.write_bytes(data)
    pd.testing.assert_frame_equal(read_positions_file(data, "parquet"), positions)
    pd.testing.assert_frame_equal(read_positions_file(path, "parquet"), positions)


def test_it_reads_a_csv_file_back_to_the_same_positions(positions, tmp_path):
    path = tmp_path / "positions.csv"
    positions.to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_positions_file(str(path), "csv"), positions)


def test_a_csv_file_keeps_leading_zeros_and_the_text_na():
    csv = b"position_id,product,notional,rating\n007,corporate,1.5,NR\n"
    result = read_positions_file(csv, "csv")
    assert result["position_id"].iloc[0] == "007"
    assert result["rating"].iloc[0] == "NR"


def test_a_file_that_is_not_parquet_is_a_format_error():
    with pytest.raises(PositionsFormatError, match="cannot read the Parquet file"):
        read_positions_file(b"not parquet at all", "parquet")


def test_an_empty_csv_file_is_a_format_error():
    with pytest.raises(PositionsFormatError):
        read_positions_file(b"", "csv")


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="format"):
        read_positions_file(b"", "xlsx")  # type: ignore[arg-type]
