"""compute_metrics: the explain table, the aggregates and JSON-ready dicts."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import pytest

from simulations.engine import (
    EXPLAIN_COLUMNS,
    CapitalStack,
    SimulationConfig,
    compute_metrics,
    compute_rwa,
    generate_portfolio,
)

CONFIG = SimulationConfig(include_derivatives=True)


@pytest.fixture(scope="module")
def result():
    return compute_metrics(generate_portfolio(4, 4000, CONFIG), CONFIG.capital_stack())


def assert_plain_json(value: Any, path: str = "") -> None:
    """Only str, int, float, bool, None, and lists/dicts of them; no NaN."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), f"{path}: key {key!r}"
            assert_plain_json(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            assert_plain_json(item, f"{path}[{i}]")
    else:
        assert value is None or type(value) in (str, int, float, bool), f"{path}: {type(value).__name__}"
        if type(value) is float:
            assert math.isfinite(value), path


def test_every_dict_is_plain_json(result):
    for name in ("summary", "lcr", "nsfr", "capital"):
        value = getattr(result, name)
        assert_plain_json(value, name)
        json.dumps(value, allow_nan=False)


def test_the_explain_table_has_one_row_per_position(result):
    assert tuple(result.explain.columns) == EXPLAIN_COLUMNS
    assert len(result.explain) == result.summary["n_positions"] == 4000
    for column in ("rule", "lcr_rule", "nsfr_rule", "product", "exposure_class"):
        assert isinstance(result.explain[column].dtype, pd.CategoricalDtype), column


def test_the_rule_column_has_a_few_dozen_labels(result):
    assert 20 <= len(result.explain["rule"].cat.categories) <= 150


def test_the_aggregates_add_up_to_the_total_rwa(result):
    total = result.summary["total_rwa"]
    assert result.stats_by_product["rwa"].sum() == pytest.approx(total)
    assert result.rwa_by_class["rwa"].sum() == pytest.approx(total)
    assert result.explain["rwa"].sum() == pytest.approx(total)
    assert result.capital["rwa"] == pytest.approx(total)


def test_stats_by_product_count_every_position(result):
    assert result.stats_by_product["count"].sum() == 4000
    assert list(result.stats_by_product.columns) == [
        "product", "side", "count", "notional", "specific_provision", "ead", "rwa",
    ]


def test_the_summary_carries_the_ratios_and_flags(result):
    summary = result.summary
    assert summary["lcr"] == result.lcr["ratio"]
    assert summary["nsfr"] == result.nsfr["ratio"]
    assert summary["cet1_ratio"] == result.capital["ratios"]["cet1"]
    assert summary["all_pass"] == all(
        summary[k] for k in ("capital_buffers_pass", "leverage_pass", "lcr_pass", "nsfr_pass")
    )


def test_explain_agrees_with_compute_rwa(frame):
    positions = frame(
        {"product": "corporate", "notional": 100.0, "rating": "BBB"},
        {"product": "rre_general", "notional": 200.0, "ltv": 0.5},
    )
    explain = compute_metrics(positions, CapitalStack(cet1=10.0)).explain
    rwa = compute_rwa(positions)
    assert explain["rwa"].tolist() == rwa["rwa"].tolist() == [75.0, 40.0]
    assert explain["rule"].tolist() == rwa["rule"].tolist()


def test_it_needs_a_capital_stack(frame):
    with pytest.raises(ValueError, match="CapitalStack"):
        compute_metrics(frame({"product": "cash", "notional": 1.0}), {"cet1": 1.0})  # type: ignore[arg-type]
