"""The caches the product keeps, in one registry: what each holds, and clearing it.

Apps register their caches (`register_cache`) in their AppConfig.ready, as run
kinds register with the run core: the Django cache and the key families the code
keeps in it are registered here; simulations registers its result and report
caches. Every clear goes through the services at the bottom, which audit it.

The Django cache and the Celery broker may share one Redis database (REDIS_URL
serves both): clearing the Django cache therefore deletes only the keys Django
wrote (its KEY_PREFIX:version: prefix), never FLUSHDB, which would drop the
queued tasks.
"""
from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from django.core.cache import caches as django_caches
from django.core.cache.backends.locmem import LocMemCache

from accounts import services


@dataclass
class CacheStats:
    entries: int | None = None
    size_bytes: int | None = None
    hits: int | None = None
    misses: int | None = None
    expired: int | None = None
    ttl: str = ""
    last_hit: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class ManagedCache:
    """One cache as the console sees it. Subclasses say what they can tell and clear."""

    name = ""
    label = ""
    description = ""
    admin_url_name = ""  # the admin changelist, where the cache has a model

    def stats(self) -> CacheStats:
        raise NotImplementedError

    def clear(self) -> int:
        """Remove every entry; the number removed."""
        raise NotImplementedError

    def clear_expired(self) -> int:
        """Remove the entries past their lifetime; the number removed."""
        return 0

    def as_dict(self) -> dict[str, Any]:
        try:
            stats = self.stats().__dict__
            error = ""
        except Exception as exc:  # a cache that cannot answer is listed with why
            stats, error = CacheStats().__dict__, f"{type(exc).__name__}: {exc}"[:300]
        return {"name": self.name, "label": self.label, "description": self.description, "error": error, **stats}


_registry: dict[str, ManagedCache] = {}


def register_cache(managed: ManagedCache) -> None:
    _registry[managed.name] = managed


def registered_caches() -> list[ManagedCache]:
    return list(_registry.values())


def _narrowest_first() -> list[ManagedCache]:
    # The whole Django cache overlaps its key families: it goes last, so each family reports what it removed.
    return sorted(_registry.values(), key=lambda managed: getattr(managed, "key_prefix", None) == "")


def get_cache(name: str) -> ManagedCache:
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"unknown cache {name!r}; known: {', '.join(sorted(_registry))}") from None


# ---------------------------------------------------------------------------
# The Django cache (Redis or local memory) and the key families kept in it
# ---------------------------------------------------------------------------
def _backend() -> Any:
    # The backend object itself (django.core.cache.cache is a proxy: isinstance would not see through it).
    return django_caches["default"]


def _raw_prefix(key_prefix: str = "") -> str:
    """The stored form of keys starting with `key_prefix` (the backend's KEY_PREFIX and version added)."""
    return _backend().make_key(key_prefix)


def _is_locmem() -> bool:
    return isinstance(_backend(), LocMemCache)


def _redis() -> Any:
    return _backend()._cache.get_client(write=True)


def _redis_keys(pattern: str) -> Iterator[bytes]:
    yield from _redis().scan_iter(match=pattern.replace("[", "\\[") + "*", count=1000)


class DjangoCacheFamily(ManagedCache):
    """Keys of the Django cache starting with a prefix ("" for every key Django wrote)."""

    def __init__(self, name: str, label: str, key_prefix: str, description: str, ttl: str = "") -> None:
        self.name, self.label, self.key_prefix, self.description, self.ttl = name, label, key_prefix, description, ttl

    def stats(self) -> CacheStats:
        prefix = _raw_prefix(self.key_prefix)
        backend = type(_backend()).__name__
        if _is_locmem():
            now = time.time()
            with _backend()._lock:
                items = [(k, v) for k, v in _backend()._cache.items() if k.startswith(prefix)]
                expiry = {k: _backend()._expire_info.get(k) for k, _ in items}
            expired = sum(1 for k, _ in items if expiry[k] is not None and expiry[k] <= now)
            size = sum(len(v) if isinstance(v, (bytes, bytearray)) else len(pickle.dumps(v)) for _, v in items)
            return CacheStats(entries=len(items), size_bytes=size, expired=expired, ttl=self.ttl,
                              detail={"backend": backend, "scope": "this process only (local memory)"})
        client = _redis()
        keys = list(_redis_keys(prefix))
        size = 0
        for start in range(0, min(len(keys), 10_000), 500):
            pipe = client.pipeline()
            for key in keys[start:start + 500]:
                pipe.memory_usage(key)
            size += sum(v or 0 for v in pipe.execute())
        stats = client.info("stats")
        return CacheStats(
            entries=len(keys), size_bytes=size, expired=0, ttl=self.ttl,
            # Redis counts hits and misses for the whole server, not per key family.
            hits=int(stats.get("keyspace_hits", 0)) if not self.key_prefix else None,
            misses=int(stats.get("keyspace_misses", 0)) if not self.key_prefix else None,
            detail={"backend": backend, "db_size": int(client.dbsize()),
                    "expired_keys_removed_by_redis": int(stats.get("expired_keys", 0)),
                    "size_sampled": len(keys) > 10_000},
        )

    def clear(self) -> int:
        prefix = _raw_prefix(self.key_prefix)
        if _is_locmem():
            with _backend()._lock:
                keys = [k for k in list(_backend()._cache) if k.startswith(prefix)]
                for key in keys:
                    _backend()._delete(key)
            return len(keys)
        client = _redis()
        removed = 0
        batch: list[bytes] = []
        for key in _redis_keys(prefix):
            batch.append(key)
            if len(batch) >= 500:
                removed += client.delete(*batch)
                batch = []
        if batch:
            removed += client.delete(*batch)
        return removed

    def clear_expired(self) -> int:
        if not _is_locmem():
            return 0  # Redis removes expired keys itself
        prefix = _raw_prefix(self.key_prefix)
        now = time.time()
        with _backend()._lock:
            keys = [k for k in list(_backend()._cache) if k.startswith(prefix)
                    and _backend()._expire_info.get(k) is not None and _backend()._expire_info[k] <= now]
            for key in keys:
                _backend()._delete(key)
        return len(keys)


register_cache(DjangoCacheFamily(
    "django", "Django cache", "", "Every key the product keeps in the Django cache (the families below included).",
))
register_cache(DjangoCacheFamily(
    "run-list-counts", "Run list counts", "runs:count:",
    "Counts of run list queries, kept RUN_LIST_COUNT_SECONDS; cleared, lists count again.", "RUN_LIST_COUNT_SECONDS",
))
register_cache(DjangoCacheFamily(
    "api-key-usage", "API key usage counters", "api-key-usage:",
    "Requests per key and day. Clearing loses the usage history shown on the API keys page.",
    "API_KEY_USAGE_DAYS + 1 days",
))
register_cache(DjangoCacheFamily(
    "api-key-failures", "API key failure counters", "api-key-failures:",
    "Wrong keys per address; clearing lifts the lock-out of an address.", "API_KEY_FAILURE_WINDOW",
))
register_cache(DjangoCacheFamily(
    "throttles", "API throttles", "throttle_",
    "DRF request histories per user and address; clearing resets the rate limits.", "the rate's period",
))
register_cache(DjangoCacheFamily(
    "health", "Health heartbeats", "health:",
    "Last beat tick, control pass and workers seen; they are written again at the next pass.", "7 days",
))


# ---------------------------------------------------------------------------
# Services: every clear is audited
# ---------------------------------------------------------------------------
def cache_clear(*, actor: Any, name: str) -> int:
    managed = get_cache(name)
    removed = managed.clear()
    services.audit_record(actor=actor, action="cache.clear", target=name, detail={"removed": removed})
    return removed


def caches_clear_all(*, actor: Any) -> dict[str, int]:
    done = {managed.name: managed.clear() for managed in _narrowest_first()}
    services.audit_record(actor=actor, action="cache.clear_all", target="*", detail={"removed": done})
    return done


def caches_clear_expired(*, actor: Any) -> dict[str, int]:
    done = {managed.name: managed.clear_expired() for managed in _narrowest_first()}
    services.audit_record(actor=actor, action="cache.clear_expired", target="*", detail={"removed": done})
    return done


def cache_evict_by(*, actor: Any, name: str, older_than_days: int | None = None,
                   max_total_bytes: int | None = None) -> int:
    """Evict by age or total size, for caches that can (the simulation caches)."""
    managed = get_cache(name)
    if not hasattr(managed, "evict"):
        raise ValueError(f"{name} cannot evict by age or size; clear it instead")
    if older_than_days is None and max_total_bytes is None:
        raise ValueError("say older_than_days or max_total_bytes")
    if (older_than_days is not None and older_than_days < 0) or (max_total_bytes is not None and max_total_bytes < 0):
        raise ValueError("age and size must be 0 or more")
    removed = managed.evict(older_than_days=older_than_days, max_total_bytes=max_total_bytes)
    services.audit_record(actor=actor, action="cache.evict", target=name, detail={
        "removed": removed, "older_than_days": older_than_days, "max_total_bytes": max_total_bytes})
    return removed
