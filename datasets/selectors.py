"""Reads of datasets: lists, versions, the runs that used one, previews and exports of a filtered view."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from django.conf import settings
from django.core.files.storage import storages
from django.db.models import Q, QuerySet

from datasets.query import OPERATORS, DatasetQuery, Filter, Page, QueryError, View, csv_chunks, parquet_chunks, xlsx_bytes
from runs.models import Run
from simulations.training.models import Dataset, DatasetFormat

MAX_FILTERS = 10
EXPORT_FORMATS = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet"}


def dataset_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[Dataset]:
    from datasets.filters import DatasetFilterSet

    queryset = Dataset.objects.select_related("created_by").order_by("-created_at", "-id")
    return DatasetFilterSet(filters or {}, queryset=queryset).qs


def dataset_versions(*, dataset: Dataset) -> QuerySet[Dataset]:
    return Dataset.objects.filter(name=dataset.name).select_related("created_by").order_by("-version")


def dataset_runs(*, dataset: Dataset) -> QuerySet[Run]:
    """Runs launched on this version: training runs by `dataset`, book metrics by `positions_dataset`."""
    return Run.objects.filter(
        Q(kind="training", params__dataset=dataset.pk) | Q(kind="positions_book", params__positions_dataset=dataset.pk)
    ).order_by("-created_at")


def dataset_runs_visible(*, user: Any, dataset: Dataset) -> QuerySet[Run]:
    return dataset_runs(dataset=dataset) & Run.objects.visible_to(user)


# ---------------------------------------------------------------------------
# The file behind a dataset, where DuckDB can open it
# ---------------------------------------------------------------------------
def dataset_local_path(*, dataset: Dataset) -> str:
    """A path on this machine holding the dataset's bytes.

    The file store gives its own path; another backend (S3) is copied once into
    VAR_DIR/dataset-cache under the checksum, which names the content.
    """
    storage = storages["artifacts"]
    try:
        return storage.path(dataset.path)
    except NotImplementedError:
        pass
    folder = os.path.join(str(settings.VAR_DIR), "dataset-cache")
    os.makedirs(folder, exist_ok=True)
    local = os.path.join(folder, f"{dataset.sha256}.{dataset.format}")
    if not os.path.exists(local):
        partial = f"{local}.{os.getpid()}.part"
        with storage.open(dataset.path, "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        os.replace(partial, local)
    return local


def dataset_index_path(*, dataset: Dataset) -> str:
    """Where this version's preview index lives on this machine (named by checksum and DuckDB version)."""
    import duckdb

    folder = os.path.join(str(settings.VAR_DIR), "dataset-cache")
    return os.path.join(folder, f"{dataset.sha256}.duckdb-{duckdb.__version__}")


def _query(dataset: Dataset) -> DatasetQuery:
    fmt = "parquet" if dataset.format == DatasetFormat.PARQUET else "csv"
    index = dataset_index_path(dataset=dataset)
    return DatasetQuery(dataset_local_path(dataset=dataset), dataset.columns, fmt,
                        index=index if fmt == "parquet" and os.path.exists(index) else None)


# ---------------------------------------------------------------------------
# The view asked for in a query string (page and API share it)
# ---------------------------------------------------------------------------
def _ints(value: Any, name: str, default: int, low: int, high: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise QueryError(f"{name} must be a whole number, not {str(value)[:40]!r}.") from None
    if not low <= number <= high:
        raise QueryError(f"{name} must be between {low:,} and {high:,}.")
    return number


def view_from_query(query: Any) -> View:
    """Filters (`col`, `op`, `val`, repeated in step), `sort` (`-col` descending), `start` (first row,
    1 = the first), `limit` (rows per page); a QueryError says what is wrong."""
    getlist = query.getlist if hasattr(query, "getlist") else (lambda k: [query[k]] if k in query else [])
    cols, ops, vals = getlist("col"), getlist("op"), getlist("val")
    if len(cols) > MAX_FILTERS:
        raise QueryError(f"At most {MAX_FILTERS} filters at once.")
    filters = []
    for i, column in enumerate(cols):
        if not column:
            continue
        op = ops[i] if i < len(ops) and ops[i] else "eq"
        if op not in OPERATORS:
            raise QueryError(f"Filter {i + 1}: unknown operator {op!r} (one of {', '.join(OPERATORS)}).")
        filters.append(Filter(column=column, op=op, value=vals[i] if i < len(vals) else ""))
    sort = (query.get("sort") or "").strip()
    descending = sort.startswith("-")
    limit_max = int(settings.DATASET_PREVIEW_MAX_ROWS)
    start = _ints(query.get("start"), "start", 1, 1, 10**12)
    limit = _ints(query.get("limit"), "limit", 50, 1, limit_max)
    return View(filters=tuple(filters), sort=sort.lstrip("-"), descending=descending, start=start - 1, limit=limit)


def _count_key(dataset: Dataset, view: View) -> str:
    import hashlib

    spec = repr([(f.column, f.op, f.value) for f in view.filters])
    return "datasets:count:" + hashlib.sha256(f"{dataset.sha256}|{spec}".encode()).hexdigest()


def dataset_preview(*, dataset: Dataset, view: View) -> Page:
    """A page of the view. The count of matching rows is kept in the cache: the bytes behind a
    checksum never change, so paging through the same filters counts once."""
    from django.core.cache import cache

    key = _count_key(dataset, view)
    try:
        total = cache.get(key)
    except Exception:  # the cache is down: count instead of failing
        total = None
    with _query(dataset) as query:
        page = query.page(view, total=total)
    if total is None:
        try:
            cache.set(key, page.total, 24 * 3600)
        except Exception:
            pass
    return page


@dataclass
class Export:
    chunks: Iterator[bytes]
    filename: str


def dataset_export(*, dataset: Dataset, view: View, fmt: str) -> Export:
    """The filtered, sorted view (every row, not a page) as CSV, xlsx or Parquet, produced as it streams."""
    if fmt not in EXPORT_FORMATS:
        raise QueryError(f"Unknown export format {fmt!r}: csv, xlsx or parquet.")
    query = _query(dataset)
    names = [c["name"] for c in dataset.columns]
    if fmt == "xlsx":
        rows = query.count(view)
        limit = int(settings.DATASET_EXCEL_MAX_ROWS)
        if rows > limit:
            query.close()
            raise QueryError(f"The view holds {rows:,} rows; an Excel export takes at most {limit:,}. "
                             "Narrow the filters, or export as CSV or Parquet.")
    # Raises now (bad filter), not in the middle of a response.
    query._select(view, numbered=False)

    def chunks() -> Iterator[bytes]:
        try:
            batches = query.batches(view)
            if fmt == "csv":
                yield from csv_chunks(batches, names)
            elif fmt == "parquet":
                yield from parquet_chunks(batches, names)
            else:
                yield from xlsx_bytes(batches, names)
        finally:
            query.close()

    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in dataset.name)[:80] or "dataset"
    return Export(chunks=chunks(), filename=f"{safe}_v{dataset.version}{EXPORT_FORMATS[fmt]}")
