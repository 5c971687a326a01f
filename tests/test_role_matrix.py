"""The role matrix, generated: every URL pattern × every method it answers × every role.

The expected answers are written once, in tests/role_matrix_table.py (from the
README's matrix and accounts/roles.py). A URL pattern, or a method of it, with no
entry there fails `test_every_url_pattern_has_an_entry`: a new endpoint cannot
ship without saying who may use it.
"""
from __future__ import annotations

from collections import defaultdict

import pytest

from tests.crawl.fixtures import clients, in_world, world, world_artifacts  # noqa: F401  (fixtures)
from tests.crawl.requests import HTML, JSON, describe_failure, send
from tests.crawl.urlmap import Pattern, all_patterns
from tests.crawl.world import ROLES, paths_with_values, variant_label, variants
from tests.role_matrix_table import EXPECTED, EXPECTED_VARIANTS, HTML_ONLY, expected

PATTERNS = all_patterns()
BY_KEY: dict[str, list[Pattern]] = defaultdict(list)
for _p in PATTERNS:
    BY_KEY[_p.key].append(_p)

# Cases whose fix is not on main yet: {(case label, method): the defect}. strict=True: once fixed, remove it.
KNOWN: dict[tuple[str, str], str] = {}


def test_every_url_pattern_has_an_entry():
    missing = []
    for pattern in PATTERNS:
        entry = EXPECTED.get(pattern.key)
        if entry is None:
            missing.append(f"{pattern.key!r} (route {pattern.route!r}, methods {pattern.methods()})")
            continue
        for method in pattern.methods():
            if method not in entry:
                missing.append(f"{pattern.key!r}: method {method}")
    assert not missing, (
        "URL patterns without an entry in the role matrix: add them to tests/role_matrix_table.py "
        "(who may call them, with which answer):\n  " + "\n  ".join(missing)
    )


def test_the_table_names_only_existing_patterns():
    labels = {variant_label(key, v) for key in BY_KEY for v in variants(BY_KEY[key])}
    stale = sorted(set(EXPECTED) - set(BY_KEY)) + sorted(set(EXPECTED_VARIANTS) - labels)
    assert not stale, f"entries of tests/role_matrix_table.py with no URL pattern any more: {stale}"


def test_every_entry_gives_every_role_an_answer():
    gaps = [
        f"{key} {method}: {sorted(set(ROLES) - set(rule))}"
        for key, entry in EXPECTED.items() for method, rule in entry.items() if set(rule) != set(ROLES)
    ]
    assert not gaps, gaps


CASES = [
    pytest.param(key, variant, method, id=f"{label} {method}",
                 marks=[pytest.mark.xfail(strict=True, reason=KNOWN[(label, method)])] if (label, method) in KNOWN else [])
    for key in sorted(BY_KEY) if key in EXPECTED
    for variant in variants(BY_KEY[key])
    for label in [variant_label(key, variant)]
    for method in sorted(expected(key, label))
]


@pytest.mark.parametrize(("key", "variant", "method"), CASES)
def test_role_matrix(key, variant, method, in_world, clients):
    rule = expected(key, variant_label(key, variant))[method]
    accept = HTML if key in HTML_ONLY or not any(p.is_api for p in BY_KEY[key]) else JSON
    wrong = []
    for pattern in BY_KEY[key]:
        if method not in pattern.methods():
            continue
        candidates = paths_with_values(in_world, pattern, every_value=bool(variant))
        path = next(p for p, values in candidates if all(values.get(k) == v for k, v in variant.items()))
        for role in ROLES:
            response = send(clients[role], method, path, accept=accept)
            if response.status_code not in rule[role]:
                wrong.append(
                    f"{role:>16}: {method} {path} -> {response.status_code}, matrix allows {sorted(rule[role])} "
                    f"{describe_failure(response)}"
                )
    assert not wrong, "answers that disagree with the role matrix:\n" + "\n".join(wrong)
