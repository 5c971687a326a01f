"""The cost aggregates: refreshing them, and the one query module that reads them.

On PostgreSQL they are materialized views refreshed CONCURRENTLY (readers keep
reading the previous contents meanwhile); on SQLite, tables of the same names
rebuilt in one transaction. Readers use the unmanaged models either way.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from finops_admin.aggregate_sql import AGGREGATES, select_sql
from finops_admin.models import ApplicationRanking, CostByApplicationMonth, CostByDomainMonth, CostByFamilyMonth

VIEW_NAMES = [name for name, *_ in AGGREGATES]


@dataclass(frozen=True)
class Refreshed:
    view: str
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    rows: int


def aggregates_refresh(*, on_each: Callable[[Refreshed], None] | None = None) -> list[Refreshed]:
    """Refresh every aggregate in dependency order; `on_each` records each one as it ends."""
    done: list[Refreshed] = []
    vendor = connection.vendor
    if vendor == "postgresql":
        for name in VIEW_NAMES:
            started, t0 = timezone.now(), time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {name}")
                cursor.execute(f"SELECT COUNT(*) FROM {name}")
                rows = cursor.fetchone()[0]
            item = Refreshed(name, started, timezone.now(), round(time.perf_counter() - t0, 4), rows)
            done.append(item)
            if on_each:
                on_each(item)
        return done
    # SQLite: every table rebuilt in one transaction; readers see the old contents or the new.
    with transaction.atomic():
        for name in VIEW_NAMES:
            started, t0 = timezone.now(), time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {name}")
                cursor.execute(f"INSERT INTO {name} {select_sql(name, vendor)}")
                cursor.execute(f"SELECT COUNT(*) FROM {name}")
                rows = cursor.fetchone()[0]
            done.append(Refreshed(name, started, timezone.now(), round(time.perf_counter() - t0, 4), rows))
    if on_each:
        for item in done:
            on_each(item)
    return done


# ---------------------------------------------------------------------------
# Reads (the cost views use these)
# ---------------------------------------------------------------------------
def _between(qs: QuerySet, start: date | None, end: date | None) -> QuerySet:
    if start:
        qs = qs.filter(period__gte=start)
    if end:
        qs = qs.filter(period__lte=end)
    return qs


def cost_by_domain(*, start: date | None = None, end: date | None = None) -> QuerySet:
    return _between(CostByDomainMonth.objects.select_related("domain"), start, end).order_by("period", "domain__position")


def cost_by_family(*, domain_id: int | None = None, start: date | None = None, end: date | None = None) -> QuerySet:
    qs = _between(CostByFamilyMonth.objects.select_related("domain", "family"), start, end)
    if domain_id is not None:
        qs = qs.filter(domain_id=domain_id)
    return qs.order_by("period", "domain__position", "family__name")


def cost_by_application(
    *, domain_id: int | None = None, family_id: int | None = None, start: date | None = None, end: date | None = None
) -> QuerySet:
    qs = _between(CostByApplicationMonth.objects.select_related("application"), start, end)
    if domain_id is not None:
        qs = qs.filter(domain_id=domain_id)
    if family_id is not None:
        qs = qs.filter(family_id=family_id)
    return qs.order_by("period", "application__code")


def top_applications_by_cost(*, period: date, limit: int = 10) -> QuerySet:
    return (ApplicationRanking.objects.select_related("application")
            .filter(period=period, cost_rank__lte=limit).order_by("cost_rank"))


def top_applications_by_change(*, period: date, limit: int = 10) -> QuerySet:
    """The largest month-over-month increases of `period` (change_rank 1 first)."""
    return (ApplicationRanking.objects.select_related("application")
            .filter(period=period, change_rank__lte=limit).order_by("change_rank"))
