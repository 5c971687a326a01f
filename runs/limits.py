"""Bounds on lists of run ids that one request may name, and how such lists are echoed."""
from __future__ import annotations

from typing import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError

SHOWN_IN_MESSAGES = 10


def bulk_max_ids() -> int:
    return int(settings.RUN_BULK_MAX_IDS)


def check_run_id_count(run_ids: Iterable[str]) -> list[str]:
    """The ids, or a ValidationError naming the limit (RUN_BULK_MAX_IDS) when there are more."""
    ids = list(run_ids)
    limit = bulk_max_ids()
    if len(ids) > limit:
        raise ValidationError(
            f"At most {limit} run ids at a time (got {len(ids)}); split the list.", code="too_many_runs"
        )
    return ids


def summarise_ids(run_ids: Iterable[str], shown: int = SHOWN_IN_MESSAGES) -> str:
    """A short list for a message: the first few ids and how many more, never the whole list."""
    ids = list(run_ids)
    if len(ids) <= shown:
        return ", ".join(ids)
    return f"{', '.join(ids[:shown])} and {len(ids) - shown} more"
