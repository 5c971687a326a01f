"""Per-column statistics gathered batch by batch while a table is written (pure: no Django).

Numbers get min, max and mean; text and booleans their most frequent values;
dates their range. Every column also carries the keys training reads
(`dtype`, `numeric`, `nulls`, `n_distinct`, `values`, `non_finite`), so one
schema serves the dataset page and the training launch form.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# Distinct values listed in full (enough to tell a one-class target or a small category).
DISTINCT_CAP = 50
# Distinct values counted exactly for the top values; past this the column is "many values".
TRACK_CAP = 10_000
TOP_VALUES = 10


def _plain(value: Any) -> Any:
    """A JSON-ready scalar (dates and times as ISO text)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class ColumnStats:
    """Statistics of one column, updated with each batch."""

    def __init__(self, name: str, type_: pa.DataType) -> None:
        self.name = name
        self.type = type_
        self.numeric = (pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_decimal(type_))
        self.temporal = pa.types.is_temporal(type_)
        self.nulls = 0
        self.non_finite = 0
        self.minimum: Any = None
        self.maximum: Any = None
        self.total = 0.0
        self.counted = 0
        self.counts: Counter | None = Counter()

    def update(self, column: pa.ChunkedArray) -> None:
        self.nulls += column.null_count
        if self.numeric or self.temporal:
            values = column
            if pa.types.is_floating(self.type):
                finite = pc.is_finite(column)
                self.non_finite += int(pc.sum(pc.invert(finite)).as_py() or 0)
                values = pc.filter(column, finite)
            bounds = pc.min_max(values).as_py()
            if bounds["min"] is not None:
                self.minimum = bounds["min"] if self.minimum is None else min(self.minimum, bounds["min"])
                self.maximum = bounds["max"] if self.maximum is None else max(self.maximum, bounds["max"])
            if self.numeric:
                self.total += float(pc.sum(values, min_count=0).as_py() or 0)
                self.counted += len(values) - values.null_count
        if self.counts is not None:
            counts = pc.value_counts(column.drop_null() if hasattr(column, "drop_null") else pc.drop_null(column))
            for item in counts.to_pylist():
                self.counts[item["values"]] += item["counts"]
            # Numbers need only tell "few values" from "many"; text keeps counting for its top values.
            limit = DISTINCT_CAP if (self.numeric or self.temporal) else TRACK_CAP
            if len(self.counts) > limit:
                self.counts = None

    def as_dict(self, rows: int) -> dict[str, Any]:
        dtype = _pandas_dtype(self.type)
        entry: dict[str, Any] = {
            "name": self.name,
            "type": str(self.type),
            "dtype": dtype,
            "numeric": self.numeric,
            "nulls": self.nulls,
            "n_distinct": len(self.counts) if self.counts is not None else DISTINCT_CAP + 1,
        }
        if self.counts is None:
            entry["distinct_over"] = DISTINCT_CAP if (self.numeric or self.temporal) else TRACK_CAP
        if self.numeric:
            entry["non_finite"] = self.non_finite
        if self.numeric or self.temporal:
            entry["min"] = _plain(self.minimum)
            entry["max"] = _plain(self.maximum)
        if self.numeric and self.counted:
            entry["mean"] = _plain(self.total / self.counted)
        if self.counts is not None and len(self.counts) <= DISTINCT_CAP:
            entry["values"] = sorted((_plain(v) for v in self.counts), key=str)
        if self.counts is not None and not self.numeric:
            entry["top"] = [{"value": _plain(v), "count": n} for v, n in self.counts.most_common(TOP_VALUES)]
        return entry


def _pandas_dtype(type_: pa.DataType) -> str:
    import numpy as np

    try:
        return np.dtype(type_.to_pandas_dtype()).name
    except (NotImplementedError, TypeError):
        return str(type_)
