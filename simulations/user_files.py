"""Every metric of a user's own book, from a positions file and an optional capital file.

Pure (no Django): the command, the upload page and the API read the files,
call `compute_book`, and show or return the result. Nothing is stored.
The formats are documented in docs/positions_format.md.
"""
from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import lzma
import os
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any, Iterator, Literal, Union

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulations.engine import (
    CapitalFormatError,
    CapitalStack,
    MetricsResult,
    PositionsFormatError,
    RegulatorySettings,
    compute_metrics,
    validate_capital,
    validate_positions,
)
from simulations.results import aggregate_documents, checks, plain

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
CAPITAL_PRODUCTS = {"cet1": "capital_cet1", "at1": "capital_at1", "tier2": "capital_tier2"}
FROM_FILE = "capital file"
FROM_POSITIONS = "capital instruments of the positions file"

Source = Union[str, os.PathLike, bytes, IO[bytes]]


def sniff_format(head: bytes, filename: str = "") -> Literal["csv", "parquet"]:
    """Parquet files start with PAR1 (or are named so: then a bad file says it cannot be read as Parquet).

    Everything else is CSV, gzip-compressed or not (told by its first bytes, on
    every surface alike: never by the file's name)."""
    if head.startswith(PARQUET_MAGIC) or (
        filename.lower().endswith((".parquet", ".pq")) and not head.startswith(GZIP_MAGIC)
    ):
        return "parquet"
    return "csv"


def _binary(source: IO[bytes]) -> IO[bytes]:
    """The source as a binary stream, decompressed when it is gzip."""
    stream = source
    position = stream.tell()
    head = stream.read(2)
    stream.seek(position)
    return gzip.GzipFile(fileobj=stream, mode="rb") if head == GZIP_MAGIC else stream


def _too_many(max_positions: int) -> PositionsFormatError:
    return PositionsFormatError(
        None, None,
        f"the file holds more than {max_positions:,} positions, the most one computation here "
        "takes; launch a simulation run or use the compute_metrics command for a larger book",
    )


# Bytes of CSV counted at a time by the field-count check (whole lines).
SCAN_BLOCK_BYTES = 4 * 1024 * 1024
_COMMA, _NEWLINE, _RETURN = ord(","), ord("\n"), ord("\r")


def _ragged_row(stream: IO[bytes], max_positions: int | None = None) -> PositionsFormatError | None:
    """The first data row with more or fewer fields than the header, as a problem naming it.

    pandas would put a row with one field too many into the index, or fill a short
    row with empty cells; either silently moves values into other columns. Blank
    lines are skipped and not counted, as pandas does. Blocks without a quote are
    counted with numpy (commas per line); from the first quote on, the csv module
    reads the rest, since a quoted field may hold commas and line breaks.
    """
    header_line = stream.readline()
    while header_line and not header_line.strip():
        header_line = stream.readline()
    if not header_line:
        return None
    if b'"' in header_line:
        return _ragged_row_quoted(iter(()), header_line, stream, max_positions, 0)
    width = header_line.count(b",") + 1
    row = 0
    while True:
        block = stream.read(SCAN_BLOCK_BYTES)
        if not block:
            return None
        if not block.endswith(b"\n"):
            block += stream.readline()  # whole lines only
        if b'"' in block:
            return _ragged_row_quoted(io.StringIO(block.decode("utf-8")), header_line, stream, max_positions, row)
        data = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(data == _NEWLINE)
        if len(ends) == 0 or ends[-1] != len(data) - 1:
            ends = np.append(ends, len(data))
        starts = np.concatenate(([0], ends[:-1] + 1))
        commas = np.flatnonzero(data == _COMMA)
        fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
        length = ends - starts
        blank = (length == 0) | ((length == 1) & (data[np.minimum(starts, len(data) - 1)] == _RETURN))
        fields = fields[~blank]
        if max_positions is not None and row + len(fields) > max_positions:
            return _too_many(max_positions)  # reading stops here, whatever follows
        bad = np.flatnonzero(fields != width)
        if len(bad):
            return _field_count_problem(row + int(bad[0]) + 1, int(fields[bad[0]]), width)
        row += len(fields)


def _field_count_problem(row: int, fields: int, width: int) -> PositionsFormatError:
    return PositionsFormatError(
        row, None, f"has {fields} fields; the header has {width} (a row must have one field per column)"
    )


def _ragged_row_quoted(
    first: Iterator[str], header_line: bytes, stream: IO[bytes], max_positions: int | None, row: int
) -> PositionsFormatError | None:
    """The field-count check by the csv module, from ``first`` (text) and then the rest of ``stream``."""
    width = len(next(csv.reader([header_line.decode("utf-8")]), []))
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    try:
        for fields in csv.reader(itertools.chain(first, text)):
            if not fields:
                continue
            row += 1
            if max_positions is not None and row > max_positions:
                return _too_many(max_positions)
            if len(fields) != width:
                return _field_count_problem(row, len(fields), width)
        return None
    finally:
        text.detach()


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
    settings: RegulatorySettings = RegulatorySettings()

    def as_dict(self) -> dict[str, Any]:
        """Everything computed, JSON-ready (a ratio with no denominator is null)."""
        documents = aggregate_documents(self.result)
        return {
            "positions": self.n_positions,
            "format": self.format,
            "capital_stack": {**self.capital.to_dict(), "source": self.capital_source},
            "settings": self.settings.to_dict(),
            "summary": documents["summary.json"],
            "checks": plain(checks(documents["capital.json"], documents["lcr.json"], documents["nsfr.json"])),
            "rwa_by_class": documents["rwa_by_class.json"],
            "stats_by_product": documents["stats_by_product.json"],
            "lcr": documents["lcr.json"],
            "nsfr": documents["nsfr.json"],
            "capital": documents["capital.json"],
        }


# Rows read and validated at a time: the raw text of a batch is short-lived, only
# its canonical form (codes and floats, a fraction of the text's size) is kept.
BATCH_ROWS = 131_072
# A file that cannot even be opened or decompressed (a broken zip or gzip named
# .zip or .gz, which pandas decompresses by the name of a path).
UNREADABLE = (zipfile.BadZipFile, gzip.BadGzipFile, lzma.LZMAError, zlib.error, EOFError, OSError, tarfile.TarError)


def _shifted(exc: PositionsFormatError, offset: int) -> PositionsFormatError:
    """The same problem, its row counted from the start of the file rather than of the batch."""
    return PositionsFormatError(None if exc.row is None else exc.row + offset, exc.column, exc.message)


def _earliest_problem(raw: pd.DataFrame, exc: PositionsFormatError, as_of: str | None = None) -> PositionsFormatError:
    """The problem on the earliest row, where the first one found may lie further down.

    Validation checks column by column, so a bad `notional` on row 3 is found before a
    bad `rating` on row 2. A prefix of the rows fails as soon as it holds a bad row, so
    a bisection over prefix lengths (some 17 validations for a whole batch, only on a
    file already refused) finds the shortest failing prefix: its last row is the first
    bad one, and validating it names that row's problem."""
    if exc.row is None or exc.row <= 1:
        return exc
    good, bad = 0, exc.row  # raw[:good] validates; raw[:bad] does not
    while bad - good > 1:
        middle = (good + bad) // 2
        try:
            validate_positions(raw.iloc[:middle], as_of=as_of)
        except PositionsFormatError:
            bad = middle
        else:
            good = middle
    try:
        validate_positions(raw.iloc[:bad], as_of=as_of)
    except PositionsFormatError as earliest:
        return earliest if earliest.row is not None else exc
    return exc


def _csv_batches(source: Source, max_positions: int | None = None) -> Iterator[pd.DataFrame]:
    opened = open(source, "rb") if isinstance(source, (str, os.PathLike)) else None  # noqa: SIM115
    try:
        stream = _binary(opened or source)
        position = stream.tell()
        ragged = _ragged_row(stream, max_positions)
        if ragged is not None:
            raise ragged
        stream.seek(position)
        reader = pd.read_csv(
            stream,
            dtype={"position_id": "str"},
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            chunksize=BATCH_ROWS,
        )
        with reader:
            yield from reader
    except PositionsFormatError:
        raise
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise PositionsFormatError(None, None, f"cannot read the CSV file: {exc}") from None
    finally:
        if opened is not None:
            opened.close()


def _parquet_batches(source: Source) -> Iterator[pd.DataFrame]:
    try:
        parquet = pq.ParquetFile(source)
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            yield batch.to_pandas()
    except (pa.ArrowException, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise PositionsFormatError(None, None, f"cannot read the Parquet file: {exc}") from None


def read_positions_in_batches(
    source: Source, fmt: Literal["csv", "parquet"], *, max_positions: int | None = None, as_of: str | None = None
) -> pd.DataFrame:
    """Read and validate a positions file batch by batch; return the canonical frame.

    The same result and the same first error (row counted from the file's first
    data row) as reading the whole file at once, but the file's text never sits
    in memory whole: each batch is validated into compact codes and floats and
    its text dropped. An upload's memory is then bounded by its canonical size,
    not by the size of its text; with `max_positions`, reading stops as soon as
    the file is known to hold more, so memory is bounded whatever the file's size.
    """
    batches = _csv_batches(source, max_positions) if fmt == "csv" else _parquet_batches(source)
    canonical: list[pd.DataFrame] = []
    offset = 0
    try:
        for raw in batches:
            if len(raw) == 0:
                continue
            if max_positions is not None and offset + len(raw) > max_positions:
                raise _too_many(max_positions)
            try:
                canonical.append(validate_positions(raw, as_of=as_of))
            except PositionsFormatError as exc:
                raise _shifted(_earliest_problem(raw, exc, as_of), offset) from None
            offset += len(raw)
            del raw
    except UNREADABLE as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise PositionsFormatError(None, None, f"cannot read the file: {exc}") from None
    if not canonical:
        raise PositionsFormatError(None, None, "there are no positions")
    if len(canonical) == 1:
        return canonical[0]
    positions = pd.concat(canonical, ignore_index=True)
    del canonical
    # A position id may repeat across batches; each batch only saw its own.
    duplicated = positions["position_id"].duplicated().to_numpy()
    if duplicated.any():
        row = int(np.argmax(duplicated))
        raise PositionsFormatError(row + 1, "position_id", f"duplicate position_id {positions['position_id'].iloc[row]!r}")
    return positions


def compute_book(
    source: Source,
    *,
    filename: str = "",
    capital: CapitalStack | None = None,
    max_positions: int | None = None,
    settings: RegulatorySettings | None = None,
) -> BookMetrics:
    """Read, validate and weigh a positions file (CSV or Parquet, told apart by content).

    Without a capital stack the ratios use the capital instruments the file
    holds. Raises PositionsFormatError naming the row and column of the first
    problem.
    """
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    fmt = sniff_format(_head(source), filename or str(source if isinstance(source, (str, os.PathLike)) else ""))
    settings = settings or RegulatorySettings()
    positions = read_positions_in_batches(source, fmt, max_positions=max_positions, as_of=settings.as_of_date)
    stack = capital if capital is not None else capital_from_positions(positions)
    result = compute_metrics(positions, stack, settings)
    return BookMetrics(
        n_positions=len(positions),
        format=fmt,
        capital=stack,
        capital_source=FROM_FILE if capital is not None else FROM_POSITIONS,
        result=result,
        settings=settings,
    )


def load_settings(data: bytes | str) -> RegulatorySettings:
    """Regulatory settings from JSON text (a partial object; missing keys take their defaults).

    Raises ValueError naming the setting."""
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the settings are not valid JSON: {exc}") from None
    try:
        return RegulatorySettings.from_dict(parsed)
    except TypeError as exc:  # a setting of the wrong shape for the dataclass
        raise ValueError(f"the settings are not valid: {exc}") from None
