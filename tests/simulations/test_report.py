"""The Excel workbook, built from a simulation's aggregate documents."""
from __future__ import annotations

import io

import openpyxl

from simulations.engine import SimulationConfig, compute_metrics, generate_portfolio
from simulations.report import SHEETS, build_report
from simulations.results import aggregate_documents


def _workbook(**config) -> openpyxl.Workbook:
    cfg = SimulationConfig(**config)
    result = compute_metrics(generate_portfolio(2, 1_500, cfg), cfg.capital_stack())
    data = build_report(aggregate_documents(result), [("seed", 2), ("positions", 1_500)])
    return openpyxl.load_workbook(io.BytesIO(data))


def _values(sheet) -> list:
    return [cell.value for row in sheet.iter_rows() for cell in row if cell.value is not None]


def test_it_has_one_sheet_per_topic():
    assert _workbook().sheetnames == list(SHEETS) == [
        "Summary", "RWA by class", "Stats by product", "LCR", "NSFR", "Capital",
    ]


def test_the_summary_shows_the_parameters_and_each_ratio_against_its_minimum():
    values = _values(_workbook()["Summary"])
    assert "seed" in values and 1_500 in values
    for measure in ("CET1 ratio", "Tier 1 ratio", "Total capital ratio", "Leverage ratio", "LCR", "NSFR"):
        assert measure in values
    assert "pass" in values and "total RWA (EUR)" in values


def test_the_tables_hold_the_breakdowns():
    workbook = _workbook(include_derivatives=True)
    assert "residential_real_estate" in _values(workbook["RWA by class"])
    assert "derivative_asset" in _values(workbook["Stats by product"])
    assert "HQLA by level" in _values(workbook["LCR"]) and "Outflows" in _values(workbook["LCR"])
    assert "ASF by factor" in _values(workbook["NSFR"])
    assert "Leverage" in _values(workbook["Capital"])


def test_a_failing_ratio_reads_fail():
    # A thin capital stack fails the capital requirements.
    workbook = _workbook(cet1_share=0.01, at1_share=0.0, tier2_share=0.0)
    assert "FAIL" in _values(workbook["Summary"])
