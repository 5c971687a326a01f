"""The chaos suite runs only when asked for (`pytest tests/chaos -m chaos`).

It starts its own PostgreSQL cluster, Redis server, web server and workers (see
harness.py), once for the session, and stops all of them at the end, also when
a scenario fails or the run is interrupted.
"""
from __future__ import annotations

import atexit
import signal
from typing import Iterator

import pytest

from tests.chaos.harness import Stack, new_stack

CHAOS_DIR = __file__.rsplit("/", 1)[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave chaos scenarios out of every run that does not select the marker."""
    if "chaos" in (config.getoption("markexpr") or ""):
        return
    chaos = [item for item in items if str(item.fspath).startswith(CHAOS_DIR)]
    if chaos:
        config.hook.pytest_deselected(items=chaos)
        items[:] = [item for item in items if item not in chaos]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    s = new_stack()
    atexit.register(s.teardown)  # also on an interrupted session
    # A CI time limit sends SIGTERM: unwind through the fixture's cleanup instead of dying with
    # a PostgreSQL cluster, Redis and workers left running.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        s.setup()
        yield s
    finally:
        s.teardown()
        print(f"\nchaos logs kept in {s.logs}")


@pytest.fixture
def chaos(stack: Stack) -> Iterator[Stack]:
    """The stack, whole at the start of each scenario, with nothing left running from the last one."""
    stack.ensure_workers()
    leftover = stack.active_run_ids()
    if leftover:
        stack.wait_final(leftover, timeout=60)
    yield stack
