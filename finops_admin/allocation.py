"""Allocating FOCUS rows to applications: first matching rule by priority, vectorised.

No Django here. Rules are grouped by what they look at (provider, billing
account, sub-account, one tag key); each group is one vectorised look-up of the
rows' values in that group's values, giving for each row the best (lowest)
rule position the group offers; the best position over all groups wins. Cost:
one pass per group over the rows, whatever the number of rules. Rows no rule
matches go to the domain's Unallocated application.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FIELD_COLUMNS = {"provider": "provider", "billing_account": "billing_account", "sub_account": "sub_account"}


@dataclass(frozen=True)
class Rule:
    """One active rule, already restricted to the block's domain, in priority order."""

    field: str  # provider | billing_account | sub_account | tag
    value: str
    application_id: int
    tag_key: str = ""


def tag_values(tags: pa.Array, key: str) -> pa.Array:
    """The value of `key` in each row's FOCUS Tags (a JSON object), '' where absent.

    A regular expression over the JSON text (vectorised) instead of parsing each row:
    it reads string values of top-level keys, which is what tags are.
    """
    pattern = r'"' + re.escape(key).replace('"', r'\"') + r'"\s*:\s*"(?P<v>(?:[^"\\]|\\.)*)"'
    extracted = pc.extract_regex(tags, pattern)
    values = pc.struct_field(extracted, [0])
    return pc.fill_null(values, "")


def allocate(table: pa.Table, rules: list[Rule], *, unallocated_id: int) -> pa.Array:
    """The application id of each row of `table` (int64), first matching rule by priority."""
    n = table.num_rows
    best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    groups: dict[tuple[str, str], list[tuple[int, Rule]]] = {}
    for position, rule in enumerate(rules):
        groups.setdefault((rule.field, rule.tag_key if rule.field == "tag" else ""), []).append((position, rule))
    for (field, tag_key), members in groups.items():
        if field == "tag":
            column = tag_values(table["tags"], tag_key)
        else:
            column = table[FIELD_COLUMNS[field]]
        # Within a group the first rule for a value wins: keep each value's lowest position.
        first: dict[str, int] = {}
        for position, rule in members:
            first.setdefault(rule.value, position)
        values = pa.array(list(first), pa.string())
        positions = np.array(list(first.values()), dtype=np.int64)
        index = pc.index_in(column, value_set=values)
        hit = index.is_valid().to_numpy(zero_copy_only=False)
        if not hit.any():
            continue
        idx = pc.fill_null(index, 0).to_numpy(zero_copy_only=False)
        candidate = np.where(hit, positions[idx], best)
        np.minimum(best, candidate, out=best)
    app_of_position = np.array([r.application_id for r in rules] + [unallocated_id], dtype=np.int64)
    chosen = np.where(best == np.iinfo(np.int64).max, len(rules), best)
    return pa.array(app_of_position[chosen], pa.int64())
