"""Reading FOCUS 1.x cost exports (CSV, gzip CSV, Parquet) in bounded batches.

No Django here: the batch service hands in the limits and the accepted
currencies, and gets back normalised Arrow tables of valid rows plus every
problem found, each as (file, row, column, reason). Rows are numbered from 1,
the header not counted, the same way for CSV and Parquet.

Required columns are those the FOCUS specification marks Mandatory among the
ones we store (BilledCost, EffectiveCost, ListCost, BillingCurrency,
ChargePeriodStart, ProviderName — or ServiceProviderName since FOCUS 1.3 —,
ServiceCategory, ServiceName, BillingAccountId). SubAccountId, RegionId,
ConsumedQuantity, ConsumedUnit and Tags are Conditional in the specification:
read when present, empty otherwise. Any other column is ignored.
"""
from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

# FOCUS column → our column name.
REQUIRED = {
    "BilledCost": "billed_cost",
    "EffectiveCost": "effective_cost",
    "ListCost": "list_cost",
    "BillingCurrency": "billing_currency",
    "ChargePeriodStart": "charge_period_start",
    "ProviderName": "provider",
    "ServiceCategory": "service_category",
    "ServiceName": "service_name",
    "BillingAccountId": "billing_account",
}
OPTIONAL = {
    "SubAccountId": "sub_account",
    "RegionId": "region",
    "ConsumedQuantity": "consumed_quantity",
    "ConsumedUnit": "consumed_unit",
    "Tags": "tags",
}
# FOCUS 1.3 renamed ProviderName to ServiceProviderName (ProviderName deprecated).
ALIASES = {"ServiceProviderName": "ProviderName"}
MONEY_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost")
# Text limits of the readings table; longer values are refused, never truncated.
TEXT_LIMITS = {
    "ProviderName": 100, "ServiceCategory": 100, "ServiceName": 200, "BillingAccountId": 200,
    "SubAccountId": 200, "RegionId": 100, "ConsumedUnit": 100,
}
# Money is stored as numeric(20, 6): at most 14 digits before the point.
MAX_ABS_MONEY = 1e14
MAX_ABS_QUANTITY = 1e22
NUMBER_RE = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"
DATE_RE = r"^\d{4}-(0[1-9]|1[0-2])-\d{2}"
PERIOD_IN_NAME = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
EXTENSIONS = (".csv", ".csv.gz", ".parquet")
DEFAULT_BATCH_ROWS = 131_072

# Columns of a normalised batch, in the order the loader writes them.
OUTPUT_COLUMNS = (
    "period", "provider", "service_category", "service_name", "billing_account", "sub_account", "region",
    "billed_cost", "effective_cost", "list_cost", "billing_currency", "consumed_quantity", "consumed_unit",
    "tags", "source_row",
)


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    reason: str

    def as_dict(self) -> dict:
        return {"file": self.file, "row": self.row, "column": self.column, "reason": self.reason}

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f" column {self.column}"
        return f"{where}: {self.reason}"


@dataclass
class Problems:
    """Every problem is counted; only the first `keep` are kept with their details."""

    keep: int = 50
    count: int = 0
    rows_rejected: int = 0
    first: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.first) < self.keep:
            self.first.append(problem)

    def __bool__(self) -> bool:
        return self.count > 0


def file_period(path: Path) -> str | None:
    """The month a source file holds, from its name (…2026-10….csv), as YYYY-MM."""
    match = PERIOD_IN_NAME.search(path.name)
    return f"{match.group(1)}-{match.group(2)}" if match else None


def is_source_file(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(EXTENSIONS)


def source_files(folder: Path, periods: list[str]) -> dict[str, list[Path]]:
    """The files of `folder` for each asked period (a period may have none)."""
    found: dict[str, list[Path]] = {p: [] for p in periods}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if is_source_file(path):
                period = file_period(path)
                if period in found:
                    found[period].append(path)
    return found


def _human(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}" if unit != "bytes" else f"{size} bytes"
        size /= 1024
    return str(size)


class FocusFile:
    """One FOCUS file, read in batches of valid, normalised rows.

    Problems go to `problems`; rows with a problem are not yielded. The caller
    decides what a problem means (the batch refuses the whole block).
    """

    def __init__(
        self,
        path: Path,
        *,
        period: str,
        currencies: set[str],
        problems: Problems,
        max_bytes: int,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        name: str | None = None,
    ) -> None:
        self.path = path
        self.name = name or path.name
        self.period = period
        self.currencies = pa.array(sorted(currencies), pa.string())
        self.problems = problems
        self.max_bytes = max_bytes
        self.batch_rows = batch_rows
        self.rows_read = 0

    # -- problems -------------------------------------------------------------
    def _problem(self, row: int | None, column: str | None, reason: str) -> None:
        self.problems.add(Problem(self.name, row, column, reason))

    # -- opening --------------------------------------------------------------
    def batches(self) -> Iterator[pa.Table]:
        try:
            size = self.path.stat().st_size
        except OSError as exc:
            self._problem(None, None, f"cannot be read: {exc.strerror or exc}")
            return
        if size > self.max_bytes:
            # Refused from its size alone: nothing of it is read.
            self._problem(None, None, f"file is {_human(size)}, over the limit of {_human(self.max_bytes)}")
            return
        if size == 0:
            self._problem(None, None, "empty file")
            return
        lower = self.path.name.lower()
        try:
            if lower.endswith(".parquet"):
                yield from self._parquet()
            else:
                yield from self._csv(gzipped=lower.endswith(".gz"))
        except (pa.ArrowInvalid, OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
            self._problem(self.rows_read + 1 if self.rows_read else None, None, f"unreadable: {str(exc)[:200]}")

    def _columns(self, names: list[str]) -> dict[str, str] | None:
        """Map the file's column names to FOCUS names we read; report missing required ones."""
        present = {}
        for name in names:
            focus = ALIASES.get(name, name)
            if (focus in REQUIRED or focus in OPTIONAL) and focus not in present.values():
                present[name] = focus
        missing = [c for c in REQUIRED if c not in present.values()]
        for column in missing:
            label = "ProviderName (or ServiceProviderName)" if column == "ProviderName" else column
            self._problem(None, label, "required FOCUS column missing")
        return None if missing else present

    def _csv(self, *, gzipped: bool) -> Iterator[pa.Table]:
        if gzipped:
            with open(self.path, "rb") as raw:
                if raw.read(2) != b"\x1f\x8b":
                    self._problem(None, None, "not a gzip file (named .gz but not gzip-compressed)")
                    return
        opener = (lambda: gzip.open(self.path, "rt", encoding="utf-8-sig", newline="")) if gzipped else (
            lambda: open(self.path, "r", encoding="utf-8-sig", newline=""))
        with opener() as handle:
            header = next(csv.reader(handle), None)
        if not header:
            self._problem(None, None, "empty file")
            return
        header = [h.strip() for h in header]
        mapping = self._columns(header)
        if mapping is None:
            return
        stream = pa.input_stream(str(self.path), compression="gzip" if gzipped else None)
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=8 << 20, column_names=header, skip_rows=1,
                                           encoding="utf8"),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(mapping), column_types={c: pa.string() for c in mapping},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
        # The UTF-8 BOM, if any, sits in the first header name; header names were stripped of it above.
        any_rows = False
        for record_batch in reader:
            table = pa.Table.from_batches([record_batch])
            if table.num_rows == 0:
                continue
            any_rows = True
            yield from self._normalise(table, mapping)
        if not any_rows:
            self._problem(None, None, "empty file (a header and no rows)")

    def _parquet(self) -> Iterator[pa.Table]:
        with open(self.path, "rb") as raw:
            head = raw.read(4)
        if head != b"PAR1":
            self._problem(None, None, "not a Parquet file")
            return
        parquet = pq.ParquetFile(self.path)
        mapping = self._columns(parquet.schema_arrow.names)
        if mapping is None:
            return
        if parquet.metadata.num_rows == 0:
            self._problem(None, None, "empty file (no rows)")
            return
        for record_batch in parquet.iter_batches(batch_size=self.batch_rows, columns=list(mapping)):
            table = pa.Table.from_batches([record_batch])
            columns = {}
            for name in table.column_names:
                col = table[name]
                if pa.types.is_map(col.type) or pa.types.is_struct(col.type):
                    # Tags as a map/struct: back to the JSON object text FOCUS CSV carries.
                    import json

                    col = pa.array([None if v is None else json.dumps(dict(v) if isinstance(v, list) else v)
                                    for v in col.to_pylist()], pa.string())
                elif pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
                    col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S")
                elif not pa.types.is_string(col.type):
                    col = pc.cast(col, pa.string())
                columns[name] = pc.fill_null(col, "")
            yield from self._normalise(pa.table(columns), mapping)

    # -- validation -----------------------------------------------------------
    def _normalise(self, table: pa.Table, mapping: dict[str, str]) -> Iterator[pa.Table]:
        """Check one batch column by column (vectorised); yield its valid rows, normalised."""
        n = table.num_rows
        first_row = self.rows_read + 1
        self.rows_read += n
        rows = pa.array(range(first_row, first_row + n), pa.int64())
        cols = {focus: pc.utf8_trim_whitespace(table[name]) for name, focus in mapping.items()}
        bad = pa.array([False] * n)

        def refuse(mask: pa.Array, column: str, reason: str | None, values: pa.Array | None = None) -> None:
            nonlocal bad
            mask = pc.fill_null(mask, True)
            if not pc.any(mask).as_py():
                return
            bad = pc.or_(bad, mask)
            indices = pc.indices_nonzero(mask)
            budget = max(self.problems.keep - len(self.problems.first), 0)
            for i in indices.to_pylist()[:budget]:
                text = reason
                if values is not None:
                    text = reason.format(value=str(values[i].as_py())[:40])
                self._problem(first_row + i, column, text)
            self.problems.count += len(indices) - min(budget, len(indices))

        for column in MONEY_COLUMNS:
            values = cols[column]
            empty = pc.equal(values, "")
            if column == "ListCost":
                ok = pc.or_(empty, pc.match_substring_regex(values, NUMBER_RE))
            else:
                refuse(empty, column, "empty cost")
                ok = pc.or_(empty, pc.match_substring_regex(values, NUMBER_RE))
            refuse(pc.invert(ok), column, "not a number: {value!r}", values)
            numeric = pc.cast(pc.if_else(pc.and_(ok, pc.invert(empty)), values, "0"), pa.float64(), safe=False)
            refuse(pc.greater_equal(pc.abs(numeric), MAX_ABS_MONEY), column, "amount out of range: {value}", values)
        if "ConsumedQuantity" in cols:
            values = cols["ConsumedQuantity"]
            empty = pc.equal(values, "")
            ok = pc.or_(empty, pc.match_substring_regex(values, NUMBER_RE))
            refuse(pc.invert(ok), "ConsumedQuantity", "not a number: {value!r}", values)
            numeric = pc.cast(pc.if_else(pc.and_(ok, pc.invert(empty)), values, "0"), pa.float64(), safe=False)
            refuse(pc.greater_equal(pc.abs(numeric), MAX_ABS_QUANTITY), "ConsumedQuantity",
                   "quantity out of range: {value}", values)
        currency = pc.utf8_upper(cols["BillingCurrency"])
        refuse(pc.invert(pc.is_in(currency, value_set=self.currencies)), "BillingCurrency",
               "unknown currency {value!r}", cols["BillingCurrency"])
        start = cols["ChargePeriodStart"]
        dated = pc.match_substring_regex(start, DATE_RE)
        refuse(pc.invert(dated), "ChargePeriodStart", "not a date: {value!r}", start)
        period = pc.utf8_slice_codeunits(start, 0, 7)
        refuse(pc.and_(dated, pc.not_equal(period, self.period)), "ChargePeriodStart",
               f"{{value}} is outside the file's period {self.period}", start)
        provider_empty = pc.equal(cols["ProviderName"], "")
        refuse(provider_empty, "ProviderName", "empty provider")
        for column, limit in TEXT_LIMITS.items():
            if column in cols:
                refuse(pc.greater(pc.utf8_length(cols[column]), limit), column, f"longer than {limit} characters")
        if "Tags" in cols:
            tags = cols["Tags"]
            is_object = pc.or_(pc.equal(tags, ""), pc.match_substring_regex(tags, r"^\{.*\}$"))
            refuse(pc.invert(is_object), "Tags", "not a JSON object: {value!r}", tags)

        keep = pc.invert(bad)
        rejected = n - pc.sum(keep.cast(pa.int64())).as_py() if n else 0
        self.problems.rows_rejected += rejected
        if rejected == n:
            return

        def opt(column: str) -> pa.Array:
            return cols[column] if column in cols else pa.array([""] * n, pa.string())

        def nullable(values: pa.Array) -> pa.Array:
            return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)

        out = pa.table({
            "period": pc.binary_join_element_wise(period, "-01", ""),
            "provider": cols["ProviderName"],
            "service_category": cols["ServiceCategory"],
            "service_name": cols["ServiceName"],
            "billing_account": cols["BillingAccountId"],
            "sub_account": opt("SubAccountId"),
            "region": opt("RegionId"),
            "billed_cost": cols["BilledCost"],
            "effective_cost": cols["EffectiveCost"],
            "list_cost": nullable(cols["ListCost"]),
            "billing_currency": currency,
            "consumed_quantity": nullable(opt("ConsumedQuantity")),
            "consumed_unit": opt("ConsumedUnit"),
            "tags": opt("Tags"),
            "source_row": rows,
        })
        yield out.filter(keep) if rejected else out


def read_focus(path: Path, **kwargs) -> tuple[pa.Table | None, Problems]:
    """Read a whole (small) file at once: for tests and previews."""
    problems = kwargs.pop("problems", None)
    if problems is None:
        problems = Problems()
    reader = FocusFile(path, problems=problems, **kwargs)
    tables = list(reader.batches())
    return (pa.concat_tables(tables) if tables else None), problems
