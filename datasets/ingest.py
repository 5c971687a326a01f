"""Reading an uploaded table (CSV, xlsx, JSON records or Parquet) into one Parquet file.

Pure: no Django. The format is told by the file's content, never by its name, so
a pickle renamed `.csv` is refused as a pickle. CSV and Parquet are read in
batches with pyarrow and written batch by batch, so a large file never sits
whole in memory; an xlsx or JSON file is bounded by the upload limit. Every
problem is an `IngestError` naming the row and the column where there is one.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterator

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from datasets.stats import ColumnStats

# Rows written per Parquet row group: small enough that a filtered preview skips
# most of a large file by the row groups' statistics, large enough to compress well.
ROW_GROUP_ROWS = 131_072
CSV_BLOCK_BYTES = 4 * 1024 * 1024
MAX_COLUMNS = 2000
SNIFF_BYTES = 64 * 1024
PICKLE_PROTOCOL = re.compile(rb"^\x80[\x01-\x05]")
CONVERSION_ERROR = re.compile(r"In CSV column #(\d+): CSV conversion error to (\w+)")


class IngestError(Exception):
    """A file we cannot take, with the row (1 = first data row) and column where the problem is."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column

    def as_dict(self) -> dict[str, Any]:
        return {"detail": self.message, "row": self.row, "column": self.column}


@dataclass
class Ingested:
    """What was written: the Parquet file's rows, columns and per-column statistics."""

    source_format: str
    rows: int
    columns: list[dict[str, Any]]
    sheet: str = ""
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Telling formats apart by their bytes
# ---------------------------------------------------------------------------
def sniff(source: IO[bytes], filename: str = "") -> str:
    """"csv", "xlsx", "json" or "parquet", from the first bytes; anything else is an IngestError."""
    position = source.tell()
    head = source.read(SNIFF_BYTES)
    source.seek(position)
    named = f" ({filename})" if filename else ""
    if not head:
        raise IngestError(f"The file{named} is empty.")
    if head.startswith(b"PAR1"):
        return "parquet"
    if PICKLE_PROTOCOL.match(head):
        raise IngestError(
            f"The file{named} is a Python pickle, whatever its name says. Pickles can run code when loaded and "
            "are never read here; save the table as CSV, xlsx, JSON records or Parquet."
        )
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(source) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            raise IngestError(f"The file{named} looks like a zip archive but cannot be opened.") from None
        finally:
            source.seek(position)
        if "xl/workbook.xml" in names:
            return "xlsx"
        raise IngestError(f"The file{named} is a zip archive, not an xlsx workbook; upload the table itself.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise IngestError(f"The file{named} is an old Excel (.xls) or other OLE document; save it as .xlsx or CSV.")
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd")):
        raise IngestError(f"The file{named} is compressed; upload the uncompressed CSV, JSON or the Parquet file.")
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:1] in (b"[", b"{"):
        return "json"
    if b"\x00" in head:
        raise IngestError(
            f"The file{named} is binary (it holds NUL bytes), not CSV text; if it is UTF-16, save it as UTF-8."
        )
    return "csv"


# ---------------------------------------------------------------------------
# Writing batches into one Parquet file, with statistics
# ---------------------------------------------------------------------------
class _Writer:
    def __init__(self, sink: IO[bytes]) -> None:
        self.sink = sink
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.stats: list[ColumnStats] = []
        self.rows = 0

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if self.writer is None:
            self.schema = batch.schema
            self.writer = pq.ParquetWriter(self.sink, batch.schema, compression="snappy", write_statistics=True)
            self.stats = [ColumnStats(name, batch.schema.field(name).type) for name in batch.schema.names]
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        if not table.schema.equals(self.schema):
            table = table.cast(self.schema)
        self.writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        for i, stat in enumerate(self.stats):
            stat.update(table.column(i))
        self.rows += table.num_rows

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def reset(self) -> None:
        """Forget what was written (the file is read again from the start with wider types)."""
        self.close()
        self.sink.seek(0)
        self.sink.truncate()
        self.schema, self.stats, self.rows = None, [], 0


def _check_names(names: list[str], where: Callable[[int], str]) -> None:
    """Refuse empty, duplicated or too many column names (where(i) says where column i is named)."""
    if len(names) > MAX_COLUMNS:
        raise IngestError(f"The table has {len(names):,} columns; at most {MAX_COLUMNS:,} are taken.")
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if not str(name).strip():
            raise IngestError(f"Column {i + 1} has no name ({where(i)}); every column needs a header.",
                              column=f"#{i + 1}")
        if name in seen:
            raise IngestError(
                f"Column name {name!r} appears twice ({where(seen[name])} and {where(i)}); column names must be unique.",
                column=str(name),
            )
        seen[name] = i


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------
def _csv_first_bad_line(source: IO[bytes], expected: int | None) -> tuple[int, str] | None:
    """The first line (1 = header) that is not UTF-8 or has the wrong number of fields; read again, as text."""
    source.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    line_no = 0
    # Lines are decoded one at a time, so a bad byte is named by its line; then the
    # decoded text goes through the csv module to count fields (quoted newlines included).
    buffer: list[str] = []
    reader = csv.reader(_decoded_lines(source, decoder, buffer))
    try:
        for line_no, record in enumerate(reader, start=1):
            if expected is None:
                expected = len(record)
            elif record and len(record) != expected:
                return reader.line_num, f"has {len(record)} fields where the header has {expected}"
    except UnicodeDecodeError as exc:
        line = buffer[0] if buffer else "?"
        return int(line), f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position {exc.start + 1} of the line)"
    except csv.Error as exc:
        return reader.line_num, f"cannot be parsed ({exc})"
    return None


def _decoded_lines(source: IO[bytes], decoder: Any, buffer: list[str]) -> Iterator[str]:
    for number, raw in enumerate(source, start=1):
        buffer[:] = [str(number)]
        yield decoder.decode(raw)


def _csv_error(source: IO[bytes], exc: Exception, expected: int | None) -> IngestError:
    bad = _csv_first_bad_line(source, expected)
    if bad is not None:
        line, problem = bad
        return IngestError(f"Line {line} of the CSV file {problem}.", row=line - 1)
    return IngestError(f"The CSV file cannot be read: {exc}")


def _read_csv(source: IO[bytes], writer: _Writer) -> None:
    """Stream the CSV into the writer; a column whose later values do not fit the type guessed
    from the first block is read again as a wider type (integer → float → text)."""
    overrides: dict[str, pa.DataType] = {}
    for _attempt in range(2 * MAX_COLUMNS):
        source.seek(0)
        names: list[str] = []
        try:
            reader = pa_csv.open_csv(
                source,
                read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=True),
                parse_options=pa_csv.ParseOptions(newlines_in_values=False),
                convert_options=pa_csv.ConvertOptions(column_types=overrides, strings_can_be_null=True),
            )
            names = reader.schema.names
            _check_names(names, lambda i: f"field {i + 1} of the header")
            binary = [n for n in names if pa.types.is_binary(reader.schema.field(n).type)]
            if binary:
                raise _csv_error(source, ValueError("not UTF-8"), len(names))
            for batch in reader:
                writer.write(batch)
            return
        except IngestError:
            raise
        except pa.ArrowInvalid as exc:
            match = CONVERSION_ERROR.search(str(exc))
            if match and names:
                column = names[int(match.group(1))]
                wider = pa.float64() if match.group(2) == "int64" and column not in overrides else pa.string()
                if overrides.get(column) == pa.string():
                    raise IngestError(f"Column {column!r} cannot be read: {exc}", column=column) from None
                overrides[column] = wider
                writer.reset()
                continue
            raise _csv_error(source, exc, len(names) or None) from None
        except (UnicodeDecodeError, pa.ArrowException) as exc:
            raise _csv_error(source, exc, len(names) or None) from None
    raise IngestError("The CSV file's column types could not be settled.")


# ---------------------------------------------------------------------------
# Rows held as Python values (xlsx, JSON): one Arrow column each, text where types mix
# ---------------------------------------------------------------------------
def _column_array(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _table(names: list[str], columns: list[list[Any]]) -> pa.Table:
    return pa.table({name: _column_array(values) for name, values in zip(names, columns)})


# ---------------------------------------------------------------------------
# xlsx
# ---------------------------------------------------------------------------
def _read_xlsx(source: IO[bytes], writer: _Writer, sheet: str | None) -> str:
    """Read one sheet of values; formulas are refused (their cached results may be stale or absent)."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    try:
        workbook = load_workbook(source, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types on a damaged workbook
        raise IngestError(f"The xlsx workbook cannot be opened: {type(exc).__name__}: {exc}"[:500]) from None
    try:
        names = workbook.sheetnames
        if sheet:
            if sheet not in names:
                raise IngestError(f"The workbook has no sheet {sheet!r}; its sheets are: {', '.join(names)}.")
            chosen = sheet
        elif len(names) > 1:
            raise IngestError(
                f"The workbook has {len(names)} sheets ({', '.join(names)}); say which one to load (the sheet field)."
            )
        else:
            chosen = names[0]
        ws = workbook[chosen]
        rows = ws.iter_rows()
        header_cells = next(rows, None)
        if header_cells is None:
            raise IngestError(f"Sheet {chosen!r} is empty.")
        header = [c.value for c in header_cells]
        while header and header[-1] is None:
            header.pop()
        header_names = ["" if v is None else str(v).strip() for v in header]
        _check_names(header_names, lambda i: f"cell {get_column_letter(i + 1)}1")
        columns: list[list[Any]] = [[] for _ in header_names]
        width = len(header_names)
        for row_cells in rows:
            values = []
            for i, cell in enumerate(row_cells):
                value = cell.value
                if getattr(cell, "data_type", None) == "f":
                    raise IngestError(
                        f"Cell {cell.coordinate} of sheet {chosen!r} holds a formula ({str(value)[:60]}); formulas are "
                        "not evaluated here. Save the sheet with values only (copy, paste special › values) and "
                        "upload it again.",
                        row=cell.row - 1, column=header_names[i] if i < width else get_column_letter(i + 1),
                    )
                if i >= width:
                    if value is not None:
                        raise IngestError(
                            f"Cell {cell.coordinate} of sheet {chosen!r} holds a value in a column with no header.",
                            row=cell.row - 1, column=get_column_letter(i + 1),
                        )
                    continue
                values.append(value)
            if all(v is None for v in values):
                continue  # blank rows (formatting left behind) are not data
            values += [None] * (width - len(values))
            for column, value in zip(columns, values):
                column.append(value)
        if not columns or not columns[0]:
            raise IngestError(f"Sheet {chosen!r} has a header but no rows.")
        writer.write(_table(header_names, columns))
        return chosen
    finally:
        workbook.close()


# ---------------------------------------------------------------------------
# JSON records
# ---------------------------------------------------------------------------
def _no_duplicate_keys(record_no: Callable[[], int]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise IngestError(f"Record {record_no()} names column {key!r} twice; column names must be unique.",
                                  row=record_no(), column=key)
            out[key] = value
        return out
    return hook


def _records_table(records: Iterator[tuple[int, Any]]) -> pa.Table:
    names: list[str] = []
    index: dict[str, int] = {}
    columns: list[list[Any]] = []
    count = 0
    for number, record in records:
        if not isinstance(record, dict):
            raise IngestError(
                f"Record {number} is a JSON {type(record).__name__ if record is not None else 'null'}, not an object; "
                "records are objects of column names to values, one per row.", row=number,
            )
        for key, value in record.items():
            if isinstance(value, (dict, list)):
                raise IngestError(f"Record {number}, column {key!r} holds a nested {type(value).__name__}; "
                                  "records must be flat (one value per column).", row=number, column=key)
            if key not in index:
                if not key.strip():
                    raise IngestError(f"Record {number} has a column with an empty name.", row=number)
                index[key] = len(names)
                names.append(key)
                columns.append([None] * count)
        for key, i in index.items():
            columns[i].append(record.get(key))
        count += 1
    if count == 0:
        raise IngestError("The JSON file holds no records.")
    _check_names(names, lambda i: f"key {i + 1}")
    return _table(names, columns)


def _read_json(source: IO[bytes], writer: _Writer) -> None:
    """A list of objects (`[{…}, …]`) or one object per line (JSON Lines)."""
    source.seek(0)
    raw = source.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IngestError(f"Line {line} of the JSON file is not UTF-8 text.") from None
    stripped = text.lstrip()
    current = [0]
    hook = _no_duplicate_keys(lambda: current[0])
    if stripped.startswith("["):
        # Objects are built as they close, so (records being flat) the n-th object built is record n.
        def counting(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            current[0] += 1
            return hook(pairs)

        try:
            document = json.loads(text, object_pairs_hook=counting)
        except json.JSONDecodeError as exc:
            raise IngestError(f"The JSON file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None

        if not isinstance(document, list):
            raise IngestError("The JSON file is not a list of records.")

        def numbered() -> Iterator[tuple[int, Any]]:
            yield from enumerate(document, start=1)
        writer.write(_records_table(numbered()))
        return
    lines = text.splitlines()
    try:
        first = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        first = None
    if not isinstance(first, dict):
        try:
            whole = json.loads(text)
        except json.JSONDecodeError as exc:
            raise IngestError(f"The JSON file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
        raise IngestError(
            f"The JSON file holds one {type(whole).__name__ if whole is not None else 'null'}, not records: give a list "
            'of objects, one per row ([{"a": 1, "b": 2}, …]), or one object per line.'
        )

    if sum(1 for line in lines if line.strip()) == 1 and any(isinstance(v, list) for v in first.values()):
        raise IngestError(
            "The JSON file holds one object of columns (name → list of values), not records: give a list of "
            'objects, one per row ([{"a": 1, "b": 2}, …]), or one object per line.'
        )

    def per_line() -> Iterator[tuple[int, Any]]:
        number = 0
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            number += 1
            current[0] = number
            try:
                yield number, json.loads(line, object_pairs_hook=hook)
            except json.JSONDecodeError as exc:
                raise IngestError(f"Line {line_no} of the JSON Lines file is not valid JSON: {exc.msg}.", row=number) from None
    writer.write(_records_table(per_line()))


# ---------------------------------------------------------------------------
# Parquet
# ---------------------------------------------------------------------------
def _read_parquet(source: IO[bytes], writer: _Writer) -> None:
    try:
        parquet = pq.ParquetFile(source)
        names = parquet.schema_arrow.names
        _check_names(names, lambda i: f"field {i + 1} of the schema")
        for batch in parquet.iter_batches(batch_size=ROW_GROUP_ROWS):
            writer.write(batch)
    except IngestError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(f"The Parquet file cannot be read: {exc}"[:500]) from None


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------
def ingest(source: IO[bytes], sink: IO[bytes], *, filename: str = "", sheet: str | None = None) -> Ingested:
    """Read `source` (a seekable binary file), write it to `sink` as Parquet; return what was written."""
    fmt = sniff(source, filename)
    if sheet and fmt != "xlsx":
        raise IngestError(f"A sheet was named ({sheet!r}) but the file is {fmt.upper()}, not an xlsx workbook.")
    writer = _Writer(sink)
    chosen = ""
    try:
        if fmt == "csv":
            _read_csv(source, writer)
        elif fmt == "xlsx":
            chosen = _read_xlsx(source, writer, sheet)
        elif fmt == "json":
            _read_json(source, writer)
        else:
            _read_parquet(source, writer)
    finally:
        writer.close()
    if writer.rows == 0:
        raise IngestError("The table has a header but no rows.")
    return Ingested(source_format=fmt, rows=writer.rows, columns=[s.as_dict(writer.rows) for s in writer.stats],
                    sheet=chosen)
