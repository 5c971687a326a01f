"""Allocation precedence: the first matching rule by priority wins, across fields and tag keys."""
from __future__ import annotations

import pyarrow as pa

from finops_admin.allocation import Rule, allocate, tag_values

UNALLOCATED = 99


def _table(rows: list[dict]) -> pa.Table:
    columns = ["provider", "billing_account", "sub_account", "tags"]
    return pa.table({c: pa.array([r.get(c, "") for r in rows], pa.string()) for c in columns})


def test_first_rule_by_priority_wins_and_unmatched_rows_go_to_unallocated():
    table = _table([
        {"provider": "AWS", "sub_account": "s1", "tags": '{"app": "a", "team": "x"}'},  # all three match
        {"provider": "AWS", "sub_account": "s1"},  # provider and sub-account
        {"provider": "AWS"},  # provider only
        {"provider": "GCP", "billing_account": "b9"},  # nothing
        {"provider": "GCP", "tags": '{"team": "x"}'},  # second tag key
    ])
    rules = [  # already in priority order
        Rule("tag", "a", 1, tag_key="app"),
        Rule("sub_account", "s1", 2),
        Rule("tag", "x", 3, tag_key="team"),
        Rule("provider", "AWS", 4),
    ]
    assert allocate(table, rules, unallocated_id=UNALLOCATED).to_pylist() == [1, 2, 4, UNALLOCATED, 3]


def test_within_one_field_the_first_rule_for_a_value_wins():
    table = _table([{"provider": "AWS"}])
    rules = [Rule("provider", "AWS", 7), Rule("provider", "AWS", 8)]
    assert allocate(table, rules, unallocated_id=UNALLOCATED).to_pylist() == [7]


def test_no_rules_everything_unallocated():
    assert allocate(_table([{"provider": "AWS"}] * 3), [], unallocated_id=UNALLOCATED).to_pylist() == [99] * 3


def test_tag_values_read_the_json_object():
    tags = pa.array(['{"app": "a1", "env": "dev"}', '{"env":"prod","app":"b \\"2\\""}', "", '{"application": "c"}'])
    assert tag_values(tags, "app").to_pylist() == ["a1", 'b \\"2\\"', "", ""]
    assert tag_values(tags, "env").to_pylist() == ["dev", "prod", "", ""]
