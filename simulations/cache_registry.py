"""The simulation result cache and the report cache, as the console's cache registry sees them.

Clearing goes through simulations.services.cache_evict, which keeps every file a
run (or another entry) still uses: a clear never takes bytes from a run.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from accounts.console.caches import CacheStats, ManagedCache
from simulations.models import CachedResult


def _unused_since(days: int) -> Q:
    cutoff = timezone.now() - timedelta(days=days)
    return (Q(last_hit_at__lt=cutoff) | Q(last_hit_at__isnull=True)) & Q(created_at__lt=cutoff)


class ResultCache(ManagedCache):
    admin_url_name = "admin:simulations_cachedresult_changelist"

    def __init__(self, name: str, label: str, description: str, *, reports: bool) -> None:
        self.name, self.label, self.description, self.reports = name, label, description, reports

    def entries(self) -> QuerySet[CachedResult]:
        kind = Q(kind=CachedResult.Kind.REPORT)
        return CachedResult.objects.filter(kind if self.reports else ~kind)

    def stats(self) -> CacheStats:
        days = settings.SIMULATION_CACHE_MAX_AGE_DAYS
        totals = self.entries().aggregate(
            entries=Count("pk"), size=Sum("size_bytes"), hits=Sum("hit_count"), last_hit=Max("last_hit_at"),
            expired=Count("pk", filter=_unused_since(days)),
        )
        return CacheStats(
            entries=totals["entries"], size_bytes=totals["size"] or 0, hits=totals["hits"] or 0,
            expired=totals["expired"], ttl=f"{days} days unused (SIMULATION_CACHE_MAX_AGE_DAYS)",
            last_hit=totals["last_hit"].isoformat() if totals["last_hit"] else None,
        )

    def clear(self) -> int:
        from simulations.services import cache_evict

        return cache_evict(entries=self.entries()).entries

    def clear_expired(self) -> int:
        from simulations.services import cache_evict

        return cache_evict(entries=self.entries().filter(_unused_since(settings.SIMULATION_CACHE_MAX_AGE_DAYS))).entries

    def evict(self, *, older_than_days: int | None = None, max_total_bytes: int | None = None) -> int:
        """Evict entries unused for `older_than_days`, then the least recently used until the total fits."""
        from simulations.services import cache_evict

        removed = 0
        if older_than_days is not None:
            removed += cache_evict(entries=self.entries().filter(_unused_since(older_than_days))).entries
        if max_total_bytes is not None:
            total, doomed = 0, []
            rows = self.entries().order_by("-last_hit_at", "-created_at").values_list("pk", "size_bytes")
            for pk, size in rows.iterator():
                total += size
                if total > max_total_bytes:
                    doomed.append(pk)
            if doomed:
                removed += cache_evict(entries=CachedResult.objects.filter(pk__in=doomed)).entries
        return removed

    def list_entries(self, limit: int = 200) -> list[dict[str, Any]]:
        rows = self.entries().select_related("parameter_set").order_by("-last_hit_at", "-created_at")[:limit]
        return [{
            "id": row.pk, "params_hash": row.parameter_set.params_hash, "name": row.name, "kind": row.kind,
            "size_bytes": row.size_bytes, "hit_count": row.hit_count, "created_at": row.created_at.isoformat(),
            "last_hit_at": row.last_hit_at.isoformat() if row.last_hit_at else None,
        } for row in rows]


RESULTS = ResultCache("simulation-results", "Simulation results",
                      "Result files reused by identical launches (kept while a run uses their bytes).", reports=False)
REPORTS = ResultCache("simulation-reports", "Simulation reports",
                      "Excel reports built from result bytes, served to runs with the same checksum.", reports=True)
