"""Shared helpers for the engine tests: small hand-built positions frames."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def frame() -> Callable[..., pd.DataFrame]:
    """Build a positions frame from row dicts; position ids are T1, T2, …

    Columns a row does not mention are left empty, so the defaults of the
    format apply.
    """

    def build(*rows: dict) -> pd.DataFrame:
        return pd.DataFrame([{"position_id": f"T{i}", **row} for i, row in enumerate(rows, start=1)])

    return build
