"""The Excel workbook, built from a simulation's aggregate documents."""
from __future__ import annotations

import io

import openpyxl
import pytest

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


def _summary_parameters(workbook) -> dict:
    rows = list(workbook["Summary"].iter_rows(values_only=True))
    table: dict = {}
    inside = False
    for row in rows:
        if row[0] == "parameter":
            inside = True
            continue
        if inside:
            if row[0] is None:
                break
            table[row[0]] = row[1]
    return table


def test_the_summary_shows_switches_as_settings_not_as_verdicts():
    cfg = SimulationConfig()
    result = compute_metrics(generate_portfolio(2, 1_500, cfg), cfg.capital_stack())
    parameters = [("seed", 2), ("off-balance items", True), ("derivatives", False)]
    workbook = openpyxl.load_workbook(io.BytesIO(build_report(aggregate_documents(result), parameters)))
    table = _summary_parameters(workbook)
    assert table["off-balance items"] == "included" and table["derivatives"] == "excluded"
    assert table["seed"] == 2


def test_the_report_of_a_run_shows_its_switches_as_settings(launch, analyst, client_for):
    run = launch(analyst, include_off_balance=True, include_derivatives=False)
    response = client_for(analyst).get(f"/simulations/runs/{run.run_id}/report.xlsx")
    table = _summary_parameters(openpyxl.load_workbook(io.BytesIO(response.content)))
    assert table["off-balance items"] == "included" and table["derivatives"] == "excluded"


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain"])
def test_text_in_the_documents_is_written_as_text_never_as_a_formula(text):
    cfg = SimulationConfig()
    documents = aggregate_documents(compute_metrics(generate_portfolio(2, 1_500, cfg), cfg.capital_stack()))
    for row in documents["stats_by_product.json"]:
        row["product"] = text
    for row in documents["rwa_by_class.json"]:
        row["exposure_class"] = text
    data = build_report(documents, [("seed", text)])
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    cells = [c for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    shown = text.replace("\r", "\n")  # XML keeps no bare carriage return: it reads back as a line feed
    texts = [c for c in cells if c.value == shown]
    assert len(texts) > 2 and all(c.data_type == "s" for c in texts)
    # The raw sheet XML holds no formula element at all.
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as xlsx:
        assert not any(b"<f>" in xlsx.read(n) or b"<f " in xlsx.read(n) for n in xlsx.namelist() if n.startswith("xl/worksheets/"))
