"""The audit trail's hash chain: each entry's hash covers its content and the previous entry's hash."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone as dt_timezone
from typing import Any, Iterable

from django.core.serializers.json import DjangoJSONEncoder


def canonical_detail(detail: dict | None) -> dict:
    """The detail as it will read back from the database (JSON round trip), so the hash is stable."""
    return json.loads(json.dumps(detail or {}, cls=DjangoJSONEncoder))


def entry_digest(*, created_at: datetime, actor_name: str, action: str, target: str, detail: dict,
                 surface: str, address: str | None, prev_hash: str) -> str:
    moment = created_at.astimezone(dt_timezone.utc).isoformat(timespec="microseconds")
    content = json.dumps(
        [moment, actor_name, action, target, detail, surface, address or "", prev_hash],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(content.encode()).hexdigest()


def digest_of(event: Any) -> str:
    return entry_digest(
        created_at=event.created_at, actor_name=event.actor_name, action=event.action, target=event.target,
        detail=event.detail, surface=event.surface, address=event.address, prev_hash=event.prev_hash,
    )


def first_broken(events: Iterable[Any]) -> tuple[Any, str] | None:
    """Walk entries in chain order (by id); the first whose link or content does not hold, and why."""
    previous = ""
    for event in events:
        if event.prev_hash != previous:
            return event, "its link to the previous entry does not match (an entry was removed or reordered)"
        if digest_of(event) != event.entry_hash:
            return event, "its content does not match its hash (the entry was changed)"
        previous = event.entry_hash
    return None
