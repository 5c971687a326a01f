"""FinOps fixtures: a source folder of generated FOCUS files and its catalogue, loaded."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from accounts.roles import Role
from finops_admin.generate import generate
from finops_admin.services.catalogue import catalogue_load

PERIODS = ["2026-10", "2026-11"]


@pytest.fixture
def finops_dirs(settings: Any, tmp_path: Path) -> Path:
    """Point the batch at a folder of this test's own (sources under it, spool under var)."""
    root = tmp_path / "finops"
    source = root / "sources"
    source.mkdir(parents=True)
    settings.FINOPS_SOURCE_DIR = source
    settings.FINOPS_SOURCE_ROOTS = [root]
    settings.VAR_DIR = tmp_path / "var"
    return source


@pytest.fixture
def sources(finops_dirs: Path, db: Any) -> Path:
    """Three months (2026-09 to 2026-11) of small FOCUS CSVs for the four domains, catalogue loaded."""
    generate(out=finops_dirs, months=3, applications=24, rows_per_month=400, seed=7, last_month=date(2026, 11, 1))
    catalogue_load(path=finops_dirs / "catalogue.csv")
    return finops_dirs


@pytest.fixture
def finops_admin_user(make_user):
    return make_user(Role.FINOPS_ADMIN)
