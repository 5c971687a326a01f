"""Pagination of run lists whose total is counted once per filter, not on every page.

Counting a filtered list of 100k runs reads every matching index entry; a person
paging through the same list does not need it recounted each time. The count is
cached for RUN_LIST_COUNT_SECONDS under a key made of the query's SQL (which
includes the caller's visible kinds and filters).
"""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CachedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        ttl = settings.RUN_LIST_COUNT_SECONDS
        query = getattr(self.object_list, "query", None)
        if not ttl or query is None:
            return super().count
        sql, params = query.sql_with_params()
        key = "runs:count:" + hashlib.sha256(f"{sql}|{params!r}".encode()).hexdigest()
        value = cache.get(key)
        if value is None:
            value = super().count
            cache.set(key, value, ttl)
        return value
