"""The API contract, fuzzed: every operation of the OpenAPI schema, as an admin API client.

The schema is the one `/api/schema/` serves (same generator, same settings); the
requests go through the WSGI application in this process, so they run on the
test database (PostgreSQL in CI's service leg) inside the test's transaction.
Bounded (MAX_EXAMPLES per operation) and reproducible (derandomized: a fixed seed).

Checks: no server error; every response's status code is documented; every
response body matches its documented schema (errors included).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

pytestmark = [pytest.mark.services]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Operations whose fix is not on main yet: {"METHOD /path mode": reason}; strict, so remove once fixed.
KNOWN: dict[str, str] = {}


def _served_schema() -> dict[str, Any]:
    """What GET /api/schema/ answers (drf-spectacular's generator, public as served)."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _wsgi_app() -> Any:
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


schema = schemathesis.openapi.from_dict(_served_schema())
schema.app = _wsgi_app()
OPERATIONS = [result.ok() for result in schema.get_all_operations()]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@contextmanager
def _same_connection() -> Iterator[None]:
    """Keep the test's database connection across WSGI requests, as Django's test client does
    (request signals would otherwise close a connection that is inside the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(db: Any, make_user: Any) -> str:
    """A real admin and a real API key (the fuzzer authenticates like any API client)."""
    if connection.vendor != "postgresql" and os.environ.get("RUNSIGHT_FUZZ_ON_SQLITE") != "1":
        pytest.skip("runs in the service leg on PostgreSQL (RUNSIGHT_FUZZ_ON_SQLITE=1 to run it here)")
    from accounts.roles import Role
    from accounts.services import api_key_create
    from runs.services import run_create

    admin = make_user(Role.ADMIN, username="fuzz-admin", is_staff=True)
    run_create(kind="demo", params={"steps": 1, "step_seconds": 0, "seed": 1}, owner=admin, tags=["fuzz"])
    return api_key_create(owner=admin, name="schemathesis")[1]


def _cases() -> list[Any]:
    out = []
    for operation in OPERATIONS:
        for mode in MODES:
            label = f"{operation.label} {mode.value}"
            marks = [pytest.mark.xfail(strict=True, reason=KNOWN[label])] if label in KNOWN else []
            out.append(pytest.param(operation, mode, id=label, marks=marks))
    return out


@pytest.mark.parametrize(("operation", "mode"), _cases())
def test_api_contract(operation: Any, mode: GenerationMode, api_key: str) -> None:
    headers = {"Authorization": f"Api-Key {api_key}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
        suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    with _same_connection():
        try:
            fuzz()
        except Unsatisfiable:
            # Nothing about this operation can be made invalid (no parameter or body with a
            # constraint to break): there is no negative case to send.
            assert mode is GenerationMode.NEGATIVE, "no valid request could be generated"
