"""The OpenAPI schema covers every API endpoint, so the fuzzer reaches all of them.

drf-spectacular leaves out an operation it cannot describe (with only an error on
the console); such an endpoint would never be fuzzed nor documented. Every API URL
pattern must appear in /api/schema/, generated without errors or warnings.
"""
from __future__ import annotations

import re

from drf_spectacular.drainage import GENERATOR_STATS, reset_generator_stats
from drf_spectacular.generators import SchemaGenerator

from tests.crawl.urlmap import all_patterns, build_path

NOT_IN_SCHEMA = {"api-schema", "api-docs", "api-root"}  # the schema itself, its docs page, the browsable index


def _generate() -> tuple[dict, list[str]]:
    """The schema as served, and drf-spectacular's errors and warnings (with the view they name)."""
    reset_generator_stats()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    problems = sorted({*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache})
    reset_generator_stats()
    return schema, [problem[:300] for problem in problems]


def _shape(path: str) -> str:
    """A path with its parameters blanked: /api/runs/{}/ (the schema may rename pk to id)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_the_schema_generates_without_errors_or_warnings():
    _, problems = _generate()
    assert not problems, "drf-spectacular could not describe some views (extend_schema them):\n" + "\n".join(problems)


def test_every_api_endpoint_is_in_the_schema():
    schema, _ = _generate()
    documented = {_shape(path) for path in schema["paths"]}
    missing = []
    for pattern in all_patterns():
        if not pattern.is_api or pattern.key in NOT_IN_SCHEMA:
            continue
        if getattr(pattern.callback, "initkwargs", {}).get("schema", True) is None:
            continue  # a second spelling of a documented route, left out of the schema on purpose
        path = build_path(pattern, lambda name, converter: "{" + name + "}")
        if _shape(path) not in documented:
            missing.append(f"{pattern.key} ({path})")
    assert not missing, "API endpoints missing from /api/schema/:\n" + "\n".join(missing)
