"""Every metric of a user's own book, from a positions file and an optional capital file.

Pure (no Django): the command, the upload page and the API read the files,
call `compute_book`, and show or return the result. Nothing is stored.
The formats are documented in docs/positions_format.md.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from typing import IO, Any, Literal, Union

import numpy as np

from simulations.engine import (
    CapitalFormatError,
    CapitalStack,
    MetricsResult,
    compute_metrics,
    read_positions_file,
    validate_capital,
)
from simulations.results import aggregate_documents, checks, plain

PARQUET_MAGIC = b"PAR1"
CAPITAL_PRODUCTS = {"cet1": "capital_cet1", "at1": "capital_at1", "tier2": "capital_tier2"}
FROM_FILE = "capital file"
FROM_POSITIONS = "capital instruments of the positions file"

Source = Union[str, os.PathLike, bytes, IO[bytes]]


def sniff_format(head: bytes, filename: str = "") -> Literal["csv", "parquet"]:
    """Parquet files start with PAR1 (or are named so: then a bad file says it cannot be read as Parquet)."""
    if head.startswith(PARQUET_MAGIC) or filename.lower().endswith((".parquet", ".pq")):
        return "parquet"
    return "csv"


def _head(source: Source) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source[:4])
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            return fh.read(4)
    position = source.tell()
    head = source.read(4)
    source.seek(position)
    return head


def load_capital(data: bytes | str) -> CapitalStack:
    """A capital stack from JSON text; CapitalFormatError names what is wrong."""
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CapitalFormatError(None, f"the capital file is not valid JSON: {exc}") from None
    return validate_capital(parsed)


def capital_from_positions(positions: Any) -> CapitalStack:
    """The capital stack the capital instruments of a positions frame add up to."""
    notional = positions["notional"].to_numpy()
    # Compared as a categorical (codes, not a million strings) when the frame is canonical.
    return CapitalStack(**{
        name: round(float(np.sum(notional[(positions["product"] == code).to_numpy()])), 2)
        for name, code in CAPITAL_PRODUCTS.items()
    })


@dataclass(frozen=True)
class BookMetrics:
    """The metrics of one uploaded book."""

    n_positions: int
    format: str
    capital: CapitalStack
    capital_source: str
    result: MetricsResult

    def as_dict(self) -> dict[str, Any]:
        """Everything computed, JSON-ready (a ratio with no denominator is null)."""
        documents = aggregate_documents(self.result)
        return {
            "positions": self.n_positions,
            "format": self.format,
            "capital_stack": {**self.capital.to_dict(), "source": self.capital_source},
            "summary": documents["summary.json"],
            "checks": plain(checks(documents["capital.json"], documents["lcr.json"], documents["nsfr.json"])),
            "rwa_by_class": documents["rwa_by_class.json"],
            "stats_by_product": documents["stats_by_product.json"],
            "lcr": documents["lcr.json"],
            "nsfr": documents["nsfr.json"],
            "capital": documents["capital.json"],
        }


def compute_book(source: Source, *, filename: str = "", capital: CapitalStack | None = None) -> BookMetrics:
    """Read, validate and weigh a positions file (CSV or Parquet, told apart by content).

    Without a capital stack the ratios use the capital instruments the file
    holds. Raises PositionsFormatError naming the row and column of the first
    problem.
    """
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    fmt = sniff_format(_head(source), filename or str(source if isinstance(source, (str, os.PathLike)) else ""))
    positions = read_positions_file(source, fmt)
    stack = capital if capital is not None else capital_from_positions(positions)
    result = compute_metrics(positions, stack)
    return BookMetrics(
        n_positions=len(positions),
        format=fmt,
        capital=stack,
        capital_source=FROM_FILE if capital is not None else FROM_POSITIONS,
        result=result,
    )
