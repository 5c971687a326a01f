"""Pagination of run lists: cheap to count, never wrong about the next page.

Counting a filtered list of 100k runs reads every matching index entry; a person
paging through the same list does not need it recounted each time. So:

- whether there is a next page comes from fetching one row more than the page
  shows, never from a count;
- the total is counted once per filter set and reused for RUN_LIST_COUNT_SECONDS,
  under a key that holds a generation number bumped whenever a run is created
  or deleted (so whoever just created runs sees them counted), and is marked
  approximate while it comes from the cache;
- what a page sees corrects the total: the last page knows it exactly, and a
  page with a row after it proves at least that many;
- the cache is an optimisation: when it fails (Redis down), the list counts and
  answers as if nothing were cached;
- on PostgreSQL, a list the planner expects to hold more than RUN_LIST_EXACT_COUNT_MAX
  runs is not counted at all: its total is the planner's estimate (EXPLAIN, a
  millisecond), marked as an estimate, and corrected by what the pages see.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import DatabaseError, connections, transaction
from django.utils.functional import cached_property

logger = logging.getLogger(__name__)

GENERATION_KEY = "runs:count:generation"


# ---------------------------------------------------------------------------
# The cache, with its failures treated as a miss
# ---------------------------------------------------------------------------

def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception as exc:  # any backend error (connection refused, timeout…): a miss
        logger.warning("Run list count cache unavailable (%s): counting instead", exc)
        return None


def _cache_set(key: str, value: Any, ttl: int) -> None:
    try:
        cache.set(key, value, ttl)
    except Exception as exc:
        logger.warning("Run list count cache unavailable (%s): not stored", exc)


def run_count_generation() -> int:
    """The current generation of run list counts (0 when the cache cannot say)."""
    value = _cache_get(GENERATION_KEY)
    return value if isinstance(value, int) else 0


def run_counts_invalidate() -> None:
    """Make every cached run list total stale: runs were created or deleted.

    Bumped at once (this request and its own reads see it) and again after the
    transaction commits, so a count of the old rows that another request cached
    in between is not reused."""

    def bump() -> None:
        try:
            if not cache.add(GENERATION_KEY, 1, None):
                cache.incr(GENERATION_KEY)
        except ValueError:  # the key expired between add and incr
            _cache_set(GENERATION_KEY, 1, 0)
        except Exception as exc:
            logger.warning("Run list count cache unavailable (%s): totals not invalidated", exc)

    bump()
    transaction.on_commit(bump)


def run_counts_invalidate_on_create(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """post_save receiver on Run (connected in RunsConfig.ready)."""
    if created and not raw:
        run_counts_invalidate()


# ---------------------------------------------------------------------------
# The paginator
# ---------------------------------------------------------------------------

# Pages beyond this hold no rows whatever the table; their offset would overflow SQL's integers.
MAX_PAGE_NUMBER = 10**9


class RunPage(Page):
    """A page that knows whether another follows from the extra row it fetched."""

    def __init__(self, object_list: Any, number: int, paginator: "CachedCountPaginator", has_next: bool) -> None:
        super().__init__(object_list, number, paginator)
        self._has_next = has_next

    def has_next(self) -> bool:
        return self._has_next

    def next_page_number(self) -> int:
        if not self._has_next:
            raise EmptyPage("That page contains no results")
        return self.number + 1


class CachedCountPaginator(Paginator):
    """Pages a run queryset; see the module docstring for how it counts.

    `count_is_approximate` is True when the total came from the cache and no page
    proved it exact. `rows`, when given, is the same list read another way (the API
    reads values(), not model instances): pages come from it, totals from object_list."""

    def __init__(self, *args: Any, rows: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = self.object_list if rows is None else rows
        self._from_cache = False
        self._estimated = False
        self._exact: int | None = None
        self._at_least = 0

    @property
    def count_is_approximate(self) -> bool:
        self.count  # noqa: B018  (decides where the total comes from)
        return self._from_cache or self._estimated

    @property
    def count_is_estimate(self) -> bool:
        """True when the total is the planner's estimate, not a count."""
        self.count  # noqa: B018
        return self._estimated

    # A page is fetched with one row more than it shows; its number is not checked
    # against a total that may be older than the rows.
    def page(self, number: Any) -> RunPage:
        number = self._page_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.rows[bottom:bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        has_next = len(rows) > self.per_page
        rows = rows[: self.per_page]
        if has_next:
            self._at_least = max(self._at_least, bottom + len(rows) + 1)
        else:
            self._exact = bottom + len(rows)
        self.__dict__.pop("count", None)  # what the page saw corrects the total
        self.__dict__.pop("num_pages", None)
        return RunPage(rows, number, self, has_next)

    def get_page(self, number: Any) -> RunPage:
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            try:
                return self.page(max(self.num_pages, 1))
            except EmptyPage:  # the reused total was higher than the rows now are
                return self.page(1)

    @staticmethod
    def _page_number(number: Any) -> int:
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        if number > MAX_PAGE_NUMBER:  # past any table, and an offset no database accepts
            raise EmptyPage("That page contains no results")
        return number

    @cached_property
    def count(self) -> int:
        self._from_cache = self._estimated = False
        if self._exact is not None:
            return self._exact
        estimate = self._estimate()
        if estimate is not None:
            self._estimated = True
            return max(estimate, self._at_least)
        return max(self._counted(), self._at_least)

    def _estimate(self) -> int | None:
        """The planner's row estimate when it is above RUN_LIST_EXACT_COUNT_MAX (PostgreSQL), else None."""
        limit = settings.RUN_LIST_EXACT_COUNT_MAX
        queryset = self.object_list
        if not limit or not hasattr(queryset, "query") or connections[queryset.db].vendor != "postgresql":
            return None
        try:
            # The rows it would return, not what they hold: no joins or columns to plan.
            plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
            rows = int(plan[0]["Plan"]["Plan Rows"])
        except EmptyResultSet:
            return 0
        except (DatabaseError, ValueError, KeyError, IndexError, TypeError) as exc:
            logger.warning("Run list estimate unavailable (%s): counting instead", exc)
            return None
        return rows if rows > limit else None

    def _counted(self) -> int:
        ttl = settings.RUN_LIST_COUNT_SECONDS
        query = getattr(self.object_list, "query", None)
        if not ttl or query is None:
            return super().count
        try:
            sql, params = query.sql_with_params()
        except EmptyResultSet:  # a filter that can match nothing (a role that sees no kind)
            return 0
        digest = hashlib.sha256(f"{sql}|{params!r}".encode()).hexdigest()
        key = f"runs:count:{run_count_generation()}:{digest}"
        value = _cache_get(key)
        if isinstance(value, int):
            self._from_cache = True
            return value
        value = super().count
        _cache_set(key, value, ttl)
        return value


# ---------------------------------------------------------------------------
# Keyset pages: deep pages at the cost of the first
# ---------------------------------------------------------------------------
# An OFFSET page reads and throws away every row before it. A cursor names the last
# row seen by its sort keys; the next page starts right after it, through the same
# index, however deep. Its rule for missing values is "last", whichever the direction.

class CursorError(ValueError):
    """A cursor that this list did not give out (or for another sort)."""


def _encode_value(value: Any) -> Any:
    from datetime import datetime
    from uuid import UUID

    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, UUID):
        return {"u": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    from datetime import datetime
    from uuid import UUID

    if isinstance(value, dict):
        if "t" in value:
            return datetime.fromisoformat(value["t"])
        if "u" in value:
            return UUID(value["u"])
        raise CursorError("bad value")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise CursorError("bad value")


def encode_cursor(keys: list[str], values: list[Any]) -> str:
    import base64

    raw = json.dumps({"k": keys, "v": [_encode_value(v) for v in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, keys: list[str]) -> list[Any]:
    import base64
    import binascii

    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("k") != keys or not isinstance(data.get("v"), list):
            raise CursorError("This cursor belongs to another sort or list.")
        return [_decode_value(v) for v in data["v"]]
    except CursorError:
        raise
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError):
        raise CursorError("This cursor is not one this list gave out.") from None


def _after(order_by: list[Any], aliases: list[str], values: list[Any]) -> Any:
    """Rows strictly after `values` in this order (missing values last; columns that
    cannot be NULL never hold a missing value)."""
    from django.db.models import Q

    condition = Q(pk__in=[])
    equal = Q()
    for expression, alias, value in zip(order_by, aliases, values):
        lookup = "lt" if expression.descending else "gt"
        if value is None:
            beyond = Q(pk__in=[])  # nothing sorts after a missing value in its key
            same = Q(**{f"{alias}__isnull": True})
        else:
            beyond = Q(**{f"{alias}__{lookup}": value}) | Q(**{f"{alias}__isnull": True})
            same = Q(**{alias: value})
        condition |= equal & beyond
        equal &= same
    # The OR above is no range an index can start from: PostgreSQL walks the index from
    # the top and filters, one entry per row before the cursor (12,475 at page 500). When
    # the first key cannot be missing (a NOT NULL column: no rule for missing values),
    # every row after the cursor has it at or beyond the cursor's value; saying so
    # changes no row and lets the index start at the cursor.
    first = order_by[0] if order_by else None
    if first is not None and values[0] is not None and not first.nulls_last and not first.nulls_first:
        condition &= Q(**{f"{aliases[0]}__{'lte' if first.descending else 'gte'}": values[0]})
    return condition


@dataclass
class KeysetPage:
    rows: list[Any]
    next_cursor: str | None


def keyset_page(queryset: Any, ordering: list[str], cursor: str | None, size: int) -> KeysetPage:
    """One page of `queryset` in `ordering` (sort keys as `ordering=` takes them), after `cursor`.

    Raises CursorError for a cursor this list did not give out, QueryError for a bad sort."""
    from django.db.models import F, OrderBy

    from runs.query import compile_order

    compiled = compile_order(ordering or ["-created"], nulls_last=True)
    aliases = [f"_key{i}" for i in range(len(compiled.order_by))]
    queryset = queryset.alias(**compiled.annotations).annotate(
        **{alias: expression.expression for alias, expression in zip(aliases, compiled.order_by)}
    )
    keys = compiled.keys or ["-created"]
    if cursor:
        values = decode_cursor(cursor, keys)
        if len(values) != len(aliases):
            raise CursorError("This cursor belongs to another sort or list.")
        queryset = queryset.filter(_after(compiled.order_by, aliases, values))
    ordered = [
        OrderBy(F(alias), descending=e.descending, nulls_first=e.nulls_first, nulls_last=e.nulls_last)
        for alias, e in zip(aliases, compiled.order_by)
    ]
    rows = list(queryset.order_by(*ordered)[: size + 1])
    if len(rows) <= size:
        return KeysetPage(rows, None)
    rows = rows[:size]
    last = rows[-1]
    values = [last[alias] if isinstance(last, dict) else getattr(last, alias) for alias in aliases]  # dicts: values()
    return KeysetPage(rows, encode_cursor(keys, values))


# The run list page pages by number (OFFSET) and continues by cursor: its "Next" names
# the page's last run by its sort keys, so however deep a person pages, each page costs
# what the first does. A cursor continues an OFFSET page exactly when both put the
# rows in one order, which a nullable column can break (see keyset_continues_offset).

def keyset_continues_offset(ordering: list[str]) -> bool:
    """Whether a cursor continues this sort's numbered pages row for row.

    True unless the sort names a nullable column: numbered pages leave its missing
    values where the database's index puts them (first or last, by vendor and
    direction), a cursor always last. Metrics and parameters are missing-last either way.
    Raises QueryError for a bad sort."""
    from runs.query import compile_order

    items = ordering or ["-created"]
    return compile_order(items).order_by == compile_order(items, nulls_last=True).order_by


def keyset_cursor_after(queryset: Any, ordering: list[str], pk: Any) -> str | None:
    """The cursor keyset_page gives out for the run `pk` in `queryset` sorted by `ordering`:
    read from that one row (by primary key), so it names it exactly as a cursor page's
    last row would be named. None when the run is no longer in the list."""
    from runs.query import compile_order

    compiled = compile_order(ordering or ["-created"], nulls_last=True)
    aliases = [f"_key{i}" for i in range(len(compiled.order_by))]
    values = (
        queryset.alias(**compiled.annotations)
        .annotate(**{alias: expression.expression for alias, expression in zip(aliases, compiled.order_by)})
        .filter(pk=pk)
        .order_by()
        .values_list(*aliases)
        .first()
    )
    if values is None:
        return None
    return encode_cursor(compiled.keys or ["-created"], list(values))
