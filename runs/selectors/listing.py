"""Reads for whole lists: the CSV export of a filtered run list, a run's log as text."""
from __future__ import annotations

import csv
import json
from typing import Any, Iterator, Sequence

from django.db.models import F, QuerySet

from runs.models import Run, RunLog
from runs.textsafe import csv_row

CSV_COLUMNS = [
    "run_id", "id", "kind", "status", "trigger", "owner", "created_at", "started_at", "finished_at",
    "duration_seconds", "progress", "is_favourite", "tags", "parent", "seed", "params_hash", "checksum",
    "notes", "error_message", "code_version", "worker", "params", "metrics", "origin", "imported_at",
]


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _cell(value: Any) -> Any:
    """A metric or parameter value as a CSV cell: scalars as they are, tables as JSON."""
    if value is None:
        return ""
    if isinstance(value, (dict, list, bool)):
        return json.dumps(value, sort_keys=True)
    return value


def runs_csv_rows(queryset: QuerySet[Run], columns: Sequence[Any] = ()) -> Iterator[str]:
    """Stream the runs as CSV lines, header first, every column, in the queryset's order.

    `columns` (runs.query.columns.Column) add one column per chosen metric or parameter
    after the others, named `metrics.<key>` / `params.<key>`.

    Text cells go through runs.textsafe.csv_row: notes, tags or an imported worker name
    starting with "=", "+", "-", "@", a tab or a CR never become a formula in a spreadsheet.
    """
    writer = csv.writer(_Echo())
    yield writer.writerow(csv_row([*CSV_COLUMNS, *(c.name for c in columns)]))
    rows = (
        queryset.select_related("owner", "parent")
        .prefetch_related("tags")
        .defer(None)  # the list defers params/metrics/notes; the export wants them all
    )
    for run in rows.iterator(chunk_size=2000):
        yield writer.writerow(csv_row([
            run.run_id, str(run.pk), run.kind, run.status, run.trigger,
            run.owner.username if run.owner else "",
            _iso(run.created_at), _iso(run.started_at), _iso(run.finished_at),
            "" if run.duration_seconds is None else f"{run.duration_seconds:.3f}",
            # The caller's own star when the list came from run_list (favourites are per user).
            run.progress, "yes" if getattr(run, "is_my_favourite", run.is_favourite) else "no",
            ";".join(sorted(t.name for t in run.tags.all())),
            run.parent.run_id if run.parent else "",
            "" if run.seed is None else run.seed,
            run.params_hash, run.checksum, run.notes, run.error_message, run.code_version, run.worker,
            json.dumps(run.params, sort_keys=True), json.dumps(run.metrics, sort_keys=True),
            run.origin, _iso(run.imported_at),
            *(_cell(c.value(run)) for c in columns),
        ]))


# The list's newest-first order: the model's default (-created_at), or `ordering=-created_at`
# (or `-created`) as compile_order spells it, ties broken by the primary key.
_NEWEST_FIRST = ((F("created_at").desc(),), (F("created_at").desc(), F("pk").desc()))


def favourites_newest_first(queryset: QuerySet[Run]) -> QuerySet[Run]:
    """`queryset`, joined to the caller's favourites (RunFilter.filter_favourite), in its
    newest-first order read from the favourites' copy of the run's date.

    Each favourite holds its run's created_at (RunFavourite.run_created_at) and the index
    run_favourite_newest orders the user's stars by it, then by run: the page is the first
    rows of that range, each run fetched by its key, and the rest never read. Sorting by
    the run's own column instead makes the database fetch every starred run to sort them.
    The values are equal row by row, so the order is the same; any other sort stays."""
    query = queryset.query
    order = query.order_by or (Run._meta.ordering if query.default_ordering else ())
    as_expressions = tuple(
        (F(item[1:]).desc() if item.startswith("-") else F(item).asc()) if isinstance(item, str) else item
        for item in order
    )
    if as_expressions not in _NEWEST_FIRST:
        return queryset
    return queryset.order_by(F("favourites__run_created_at").desc(), F("favourites__run_id").desc())


def with_columns(queryset: QuerySet[Run], columns: Sequence[Any]) -> QuerySet[Run]:
    """The list's rows carrying the JSON its chosen metric and parameter columns read
    (run_list defers it): one query for the page, never one per run."""
    if not columns:
        return queryset
    return queryset.defer(None).defer("notes")


# What a run in a list shows, read as plain values (no model instances): building 100 runs,
# their owners and parents and a manager per run for the tags cost more than the query.
LIST_VALUES = (
    "id", "run_id", "kind", "status", "trigger", "params_hash", "seed", "checksum", "is_my_favourite", "is_favourite",
    "created_at", "started_at", "finished_at", "duration_seconds", "progress", "heartbeat_at",
    "error_message", "code_version", "worker", "cancel_requested", "origin", "import_format",
    "imported_at", "imported_from",
)


def run_list_values(queryset: QuerySet[Run], columns: Sequence[Any] = ()) -> QuerySet[Run]:
    """The list's rows as dicts of LIST_VALUES, `owner_username` and `parent_run_id`,
    plus the JSON its chosen metric and parameter columns read (only those spaces).

    `queryset` comes from run_list (it carries `is_my_favourite`), filtered and sorted;
    the rows keep its order. Tags come apart, for the page only: run_list_tag_names."""
    spaces = sorted({column.space for column in columns})
    return queryset.prefetch_related(None).values(
        *LIST_VALUES, *spaces, owner_username=F("owner__username"), parent_run_id=F("parent__run_id")
    )


def run_list_tag_names(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set each row's `tag_names` (sorted by name, as Tag orders them) in one query."""
    names: dict[Any, list[str]] = {row["id"]: [] for row in rows}
    if names:
        links = (
            Run.tags.through.objects.filter(run_id__in=list(names))
            .order_by("tag__name")
            .values_list("run_id", "tag__name")
        )
        for run_pk, name in links:
            names[run_pk].append(name)
    for row in rows:
        row["tag_names"] = names[row["id"]]
    return rows


class ListedTag:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return self.name


class ListedTags:
    """`run.tags.all` of a listed run: its tags, already read (no query)."""

    __slots__ = ("_tags",)

    def __init__(self, names: list[str]) -> None:
        self._tags = [ListedTag(name) for name in names]

    def all(self) -> list[ListedTag]:
        return list(self._tags)


class ListedOwner:
    __slots__ = ("username",)

    def __init__(self, username: str) -> None:
        self.username = username

    def __str__(self) -> str:
        return self.username


class ListedRun:
    """A run in the list page's table, from a run_list_values row (with its tag names):
    what the table reads of a Run (`owner.username`, `tags.all`, `is_imported`…), at a
    fraction of the cost of a model instance with its related managers."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.__dict__.update(row)
        self.pk = row["id"]
        self.owner = ListedOwner(row["owner_username"]) if row["owner_username"] is not None else None
        self.tags = ListedTags(row["tag_names"])

    @property
    def is_imported(self) -> bool:
        return Run.is_imported.fget(self)  # type: ignore[attr-defined]

    @property
    def is_data_only(self) -> bool:
        return Run.is_data_only.fget(self)  # type: ignore[attr-defined]

    def __str__(self) -> str:
        return self.run_id


def run_log_text(*, run: Run, level: str | None = None) -> Iterator[str]:
    """The run's log as plain text lines, oldest first."""
    logs = RunLog.objects.filter(run=run).order_by("id")
    if level:
        logs = logs.filter(level=level)
    yield f"# {run.run_id} ({run.kind}) — status {run.status}\n"
    for log in logs.iterator(chunk_size=5000):
        yield f"{log.created_at.isoformat()} {log.level:<7} {log.message}\n"
