"""Filtered, sorted views of a stored dataset, read with DuckDB straight from its Parquet file.

Pure: no Django. Filters become a WHERE clause with bound values (column names
are checked against the dataset's columns and quoted), so DuckDB pushes them
down to the Parquet row groups; a sorted page is a top-N (ORDER BY … LIMIT),
never a sort of the whole table; exports stream Arrow batches. Measured against
pyarrow.dataset in bench/bench_datasets.py and docs/datasets.md.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import threading
from dataclasses import dataclass
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from runs.textsafe import csv_text, is_formula_like

ROW_NUMBER = "row"
# The row number column of a preview index (a dataset column of that name keeps the Parquet path).
INDEX_ROW = "__runsight_row__"
EXPORT_BATCH_ROWS = 65_536
DUCKDB_THREADS = 2
DUCKDB_MEMORY = "1GB"


class QueryError(ValueError):
    """A filter or sort that does not fit the dataset, said in words a person understands."""


# operator -> (label, needs a value)
OPERATORS: dict[str, tuple[str, bool]] = {
    "eq": ("=", True),
    "ne": ("≠", True),
    "lt": ("<", True),
    "le": ("≤", True),
    "gt": (">", True),
    "ge": ("≥", True),
    "contains": ("contains", True),
    "startswith": ("starts with", True),
    "isnull": ("is empty", False),
    "notnull": ("is not empty", False),
}
_SQL_COMPARISON = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


@dataclass(frozen=True)
class Filter:
    column: str
    op: str
    value: str = ""


@dataclass(frozen=True)
class View:
    """What to show: filters (all must hold), a sort, and a window of the result."""

    filters: tuple[Filter, ...] = ()
    sort: str = ""
    descending: bool = False
    start: int = 0
    limit: int = 50


@dataclass
class Page:
    columns: list[str]
    rows: list[list[Any]]
    row_numbers: list[int | None]
    total: int
    start: int


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _typed_value(value: str, type_name: str, column: str, position: int) -> Any:
    """The filter's text as the column's type, or a QueryError saying why not."""
    where = f"Filter {position} ({column!r})"
    text = value.strip()
    if type_name.startswith(("int", "uint")):
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                raise QueryError(f"{where}: {value!r} is not a number; the column holds whole numbers.") from None
    if type_name in ("double", "halffloat") or type_name.startswith(("float", "decimal")):
        try:
            return float(text)
        except ValueError:
            raise QueryError(f"{where}: {value!r} is not a number; the column holds numbers.") from None
    if type_name == "bool":
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise QueryError(f"{where}: {value!r} is not true or false.")
    if type_name.startswith(("timestamp", "date")):
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise QueryError(f"{where}: {value!r} is not a date (write it as 2026-01-31 or 2026-01-31T12:00).") from None
        return parsed.date() if type_name.startswith("date") and not type_name.startswith("datetime") else parsed
    return value


def _where(view: View, types: dict[str, str]) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for position, f in enumerate(view.filters, start=1):
        if f.column not in types:
            raise QueryError(f"Filter {position}: the dataset has no column {f.column!r}.")
        if f.op not in OPERATORS:
            raise QueryError(f"Filter {position}: unknown operator {f.op!r} (one of {', '.join(OPERATORS)}).")
        col = _quote(f.column)
        if f.op == "isnull":
            clauses.append(f"{col} IS NULL")
            continue
        if f.op == "notnull":
            clauses.append(f"{col} IS NOT NULL")
            continue
        if f.value == "":
            raise QueryError(f"Filter {position} ({f.column!r} {OPERATORS[f.op][0]}) needs a value.")
        if f.op == "contains":
            params.append(f.value.lower())
            clauses.append(f"contains(lower(CAST({col} AS VARCHAR)), ${len(params)})")
        elif f.op == "startswith":
            params.append(f.value)
            clauses.append(f"starts_with(CAST({col} AS VARCHAR), ${len(params)})")
        else:
            params.append(_typed_value(f.value, types[f.column], f.column, position))
            clauses.append(f"{col} {_SQL_COMPARISON[f.op]} ${len(params)}")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


_local = threading.local()


def _connection() -> Any:
    """This thread's DuckDB database, opened once: opening one costs more than a small query, and
    it keeps the Parquet footers it has read (object cache) for the next page of the same file."""
    import duckdb

    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(config={"threads": DUCKDB_THREADS, "memory_limit": DUCKDB_MEMORY,
                                     "enable_object_cache": True})
        _local.con = con
    return con


class DatasetQuery:
    """Views of one Parquet (or, for early datasets, CSV) file."""

    def __init__(self, path: str, columns: list[dict[str, Any]], fmt: str = "parquet", index: str | None = None) -> None:
        self.path = path
        self.names = [c["name"] for c in columns]
        self.types = {c["name"]: str(c.get("type") or c.get("dtype") or "") for c in columns}
        self.fmt = fmt
        self.con = _connection().cursor()
        # The file's row numbers name rows as the uploader knows them (CSV files have none to give).
        self.numbered = fmt == "parquet" and "file_row_number" not in self.names
        # A preview index (see build_index) answers the same queries faster; the Parquet file stays the truth.
        self.index_alias = ""
        if index and INDEX_ROW not in self.names:
            self.index_alias = "ix_" + hashlib.sha256(index.encode()).hexdigest()[:20]
            self.con.execute(f"ATTACH IF NOT EXISTS {_literal(index)} AS {self.index_alias} (READ_ONLY)")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "DatasetQuery":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _source(self) -> str:
        if self.index_alias:
            return f"{self.index_alias}.t"
        if self.fmt == "parquet":
            extra = ", file_row_number=true" if self.numbered else ""
            return f"read_parquet({_literal(self.path)}{extra})"
        return f"read_csv_auto({_literal(self.path)})"

    def _select(self, view: View, *, numbered: bool) -> tuple[str, list[Any]]:
        where, params = _where(view, self.types)
        columns = ", ".join(_quote(n) for n in self.names)
        if numbered and self.index_alias:
            columns += f", {INDEX_ROW} AS __row__"
        elif numbered and self.numbered:
            columns += ", file_row_number + 1 AS __row__"
        order = ""
        if view.sort:
            if view.sort not in self.types:
                raise QueryError(f"Sort: the dataset has no column {view.sort!r}.")
            direction = "DESC" if view.descending else "ASC"
            # The file's order breaks ties, so a page is the same every time it is asked for.
            tiebreak = f", {INDEX_ROW}" if self.index_alias else (", file_row_number" if self.numbered else "")
            order = f" ORDER BY {_quote(view.sort)} {direction} NULLS LAST{tiebreak}"
        return f"SELECT {columns} FROM {self._source()}{where}{order}", params

    def _run(self, sql: str, params: list[Any]) -> Any:
        """The statement's relation; an error of the engine (a value it cannot compare) is a QueryError."""
        import duckdb

        try:
            return self.con.sql(sql, params=params)
        except duckdb.Error as exc:
            raise QueryError(f"The view cannot be computed: {str(exc).splitlines()[0][:300]}") from None

    def count(self, view: View) -> int:
        where, params = _where(view, self.types)
        import duckdb

        try:
            return int(self._run(f"SELECT count(*) FROM {self._source()}{where}", params).fetchall()[0][0])
        except duckdb.Error as exc:
            raise QueryError(f"The view cannot be computed: {str(exc).splitlines()[0][:300]}") from None

    def page(self, view: View, total: int | None = None) -> Page:
        """A page of the view; `total` (the rows matching its filters) is counted unless given."""
        sql, params = self._select(view, numbered=True)
        import duckdb

        try:
            table = self._run(f"{sql} LIMIT {int(view.limit)} OFFSET {int(view.start)}", params).to_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(f"The view cannot be computed: {str(exc).splitlines()[0][:300]}") from None
        numbers: list[int | None] = [None] * table.num_rows
        if "__row__" in table.column_names:
            numbers = table.column("__row__").to_pylist()
            table = table.drop_columns(["__row__"])
        rows = [list(r.values()) for r in table.to_pylist()]
        if total is None:
            total = self.count(view)
        return Page(columns=self.names, rows=rows, row_numbers=numbers, total=total, start=view.start)

    def batches(self, view: View, batch_rows: int = EXPORT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Every row of the filtered, sorted view, as Arrow batches."""
        sql, params = self._select(view, numbered=False)
        reader = self._run(sql, params).to_arrow_reader(batch_rows)
        yield from reader


def build_index(parquet_path: str, target: str) -> None:
    """Copy a Parquet file into a DuckDB database file (table `t`, plus each row's number in the file).

    DuckDB's own storage fetches the rows of a sorted page by row id instead of
    scanning every column again, which makes a filtered, sorted page about three
    times faster than on the Parquet file (docs/datasets.md). Written to a
    temporary name and renamed into place, so a reader never opens half a file.
    """
    import duckdb

    partial = f"{target}.{os.getpid()}.{threading.get_ident()}.part"
    if os.path.exists(partial):
        os.remove(partial)
    con = duckdb.connect(partial)
    try:
        con.execute(f"CREATE TABLE t AS SELECT *, file_row_number + 1 AS {INDEX_ROW} "
                    f"FROM read_parquet({_literal(parquet_path)}, file_row_number=true)")
    finally:
        con.close()
    os.replace(partial, target)
    wal = f"{partial}.wal"
    if os.path.exists(wal):
        os.remove(wal)


# ---------------------------------------------------------------------------
# Writers: each yields the bytes of one file as it is produced
# ---------------------------------------------------------------------------
class _Drain(io.RawIOBase):
    """A write-only file whose bytes are taken away as they arrive (a streamed response's body)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _text_safe(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Text cells a spreadsheet would evaluate get an apostrophe (runs.textsafe), column by column."""
    arrays = []
    for array in batch.columns:
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            risky = pc.match_substring_regex(array, r"^[=+\-@\t\r]")
            array = pc.if_else(risky, pc.binary_join_element_wise(pa.scalar("'"), array, ""), array)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def csv_chunks(batches: Iterator[pa.RecordBatch], names: list[str]) -> Iterator[bytes]:
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([csv_text(n) for n in names])
    yield header.getvalue().encode("utf-8")
    options = pa_csv.WriteOptions(include_header=False)
    for batch in batches:
        sink = io.BytesIO()
        pa_csv.write_csv(_text_safe(batch), sink, options)
        yield sink.getvalue()


def parquet_chunks(batches: Iterator[pa.RecordBatch], schema_names: list[str]) -> Iterator[bytes]:
    drain = _Drain()
    writer: pq.ParquetWriter | None = None
    for batch in batches:
        if writer is None:
            writer = pq.ParquetWriter(drain, batch.schema, compression="snappy")
        writer.write_batch(batch)
        chunk = drain.take()
        if chunk:
            yield chunk
    if writer is None:  # no row matched: an empty file with the columns, all text
        writer = pq.ParquetWriter(drain, pa.schema([(n, pa.string()) for n in schema_names]))
    writer.close()
    yield drain.take()


def xlsx_bytes(batches: Iterator[pa.RecordBatch], names: list[str], sheet_title: str = "data") -> Iterator[bytes]:
    """A workbook of the view (built in a temporary file, then sent in chunks); text stays text."""
    import tempfile

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31] or "data")

    def cell(value: Any) -> Any:
        if isinstance(value, str):
            c = WriteOnlyCell(sheet, value=value)
            c.data_type = "s"  # never a formula, whatever the text starts with
            if is_formula_like(value):
                c.quotePrefix = True
            return c
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.replace(tzinfo=None)
        return value

    sheet.append([cell(n) for n in names])
    for batch in batches:
        for row in batch.to_pylist():
            sheet.append([cell(v) for v in row.values()])
    with tempfile.TemporaryFile() as fh:
        workbook.save(fh)
        fh.seek(0)
        while block := fh.read(1024 * 1024):
            yield block
