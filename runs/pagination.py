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
  answers as if nothing were cached.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import transaction
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
    proved it exact."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._from_cache = False
        self._exact: int | None = None
        self._at_least = 0

    @property
    def count_is_approximate(self) -> bool:
        self.count  # noqa: B018  (decides where the total comes from)
        return self._from_cache

    # A page is fetched with one row more than it shows; its number is not checked
    # against a total that may be older than the rows.
    def page(self, number: Any) -> RunPage:
        number = self._page_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom:bottom + self.per_page + 1])
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
        self._from_cache = False
        if self._exact is not None:
            return self._exact
        return max(self._counted(), self._at_least)

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
