"""The Excel report of a simulation: summary, RWA, stats by product, LCR, NSFR, capital.

Built with openpyxl from the aggregate documents a simulation stores, so it
needs neither the positions nor Django. The workbook's bytes are not
deterministic (the format records when it was written); it is cached under the
checksum of the result bytes it was built from (simulations.services.reporting)
instead of being part of a run's checksum.

Every text cell is written as text (runs.textsafe): the documents of an imported
run are untrusted, and a product name such as `=HYPERLINK(…)` must stay a name.
"""
from __future__ import annotations

import io
from typing import Any, Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from runs.textsafe import workbook_text_as_text
from simulations.results import checks

SHEETS = ("Summary", "RWA by class", "Stats by product", "LCR", "NSFR", "Capital")

EUR = '#,##0.00'
COUNT = '#,##0'
PERCENT = '0.00%'
_BOLD = Font(bold=True)
_HEADER = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="2F4B7C")
_PASS = Font(color="1E7B34", bold=True)
_FAIL = Font(color="B3261E", bold=True)


def _title(sheet: Worksheet, text: str) -> None:
    sheet.append([text])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True, size=14)
    sheet.append([])


def _section(sheet: Worksheet, text: str) -> None:
    if sheet.max_row > 2:
        sheet.append([])
    sheet.append([text])
    sheet.cell(row=sheet.max_row, column=1).font = _BOLD


def _setting(value: Any) -> Any:
    """A parameter's value as a setting: a switch reads "included"/"excluded", never pass/FAIL."""
    if isinstance(value, bool):
        return "included" if value else "excluded"
    return value


def _table(
    sheet: Worksheet, header: Sequence[str], rows: Iterable[Sequence[Any]], formats: Sequence[str | None]
) -> None:
    """A header row and rows; a boolean in a row is a verdict (pass/FAIL). Settings go through _setting."""
    sheet.append(list(header))
    for column in range(1, len(header) + 1):
        cell = sheet.cell(row=sheet.max_row, column=column)
        cell.font, cell.fill = _HEADER, _HEADER_FILL
    for row in rows:
        sheet.append(list(row))
        for column, fmt in enumerate(formats, start=1):
            cell = sheet.cell(row=sheet.max_row, column=column)
            if fmt and isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                cell.number_format = fmt
            if isinstance(cell.value, bool):
                cell.value = "pass" if cell.value else "FAIL"
                cell.font = _PASS if cell.value == "pass" else _FAIL


def _widths(sheet: Worksheet) -> None:
    for column_cells in sheet.columns:
        longest = max((len(str(c.value)) for c in column_cells if c.value is not None), default=8)
        sheet.column_dimensions[get_column_letter(column_cells[0].column)].width = min(max(longest + 2, 10), 80)


def _by_category(title: str, by_category: dict[str, dict[str, float]], columns: tuple[str, ...]) -> tuple:
    return (title, *[c.replace("_", " ") for c in columns]), [
        (name.replace("_", " "), *[values.get(c) for c in columns]) for name, values in by_category.items()
    ]


def _summary(sheet: Worksheet, documents: dict[str, Any], parameters: list[tuple[str, Any]]) -> None:
    summary = documents["summary.json"]
    _title(sheet, "Simulation report")
    _section(sheet, "Parameters")
    _table(sheet, ("parameter", "value"), [(label, _setting(value)) for label, value in parameters], (None, None))
    _section(sheet, "Regulatory ratios")
    rows = [
        (r["measure"], r["value"], r["minimum"], r["with_buffers"], r["pass_minimum"], r["pass_buffers"])
        for r in checks(documents["capital.json"], documents["lcr.json"], documents["nsfr.json"])
    ]
    _table(sheet, ("measure", "value", "minimum", "with buffers", "minimum met", "buffers met"), rows,
           (None, PERCENT, PERCENT, PERCENT, None, None))
    _section(sheet, "Book")
    figures = [
        ("positions", summary["n_positions"], COUNT),
        ("assets (positions)", summary["n_asset"], COUNT),
        ("off-balance items", summary["n_off_balance"], COUNT),
        ("liabilities (positions)", summary["n_liability"], COUNT),
        ("defaulted positions", summary["n_defaulted"], COUNT),
        ("total assets (EUR)", summary["total_assets"], EUR),
        ("total off-balance (EUR)", summary["total_off_balance"], EUR),
        ("total liabilities (EUR)", summary["total_liabilities"], EUR),
        ("total EAD (EUR)", summary["total_ead"], EUR),
        ("total RWA (EUR)", summary["total_rwa"], EUR),
        ("RWA density", summary.get("rwa_density"), PERCENT),
        ("HQLA (EUR)", summary["hqla"], EUR),
        ("net cash outflows (EUR)", summary["net_outflows"], EUR),
        ("available stable funding (EUR)", summary["asf"], EUR),
        ("required stable funding (EUR)", summary["rsf"], EUR),
    ]
    sheet.append(["figure", "value"])
    for column in (1, 2):
        cell = sheet.cell(row=sheet.max_row, column=column)
        cell.font, cell.fill = _HEADER, _HEADER_FILL
    for label, value, fmt in figures:
        sheet.append([label, value])
        sheet.cell(row=sheet.max_row, column=2).number_format = fmt


def build_report(documents: dict[str, Any], parameters: list[tuple[str, Any]]) -> bytes:
    """The workbook of a simulation's aggregate documents (by file name), as xlsx bytes."""
    workbook = Workbook()
    summary_sheet = workbook.active
    summary_sheet.title = SHEETS[0]
    _summary(summary_sheet, documents, parameters)

    sheet = workbook.create_sheet(SHEETS[1])
    _title(sheet, "Credit RWA by exposure class (d424 standardised approach)")
    _table(
        sheet, ("exposure class", "positions", "EAD (EUR)", "RWA (EUR)", "average risk weight"),
        [(r["exposure_class"], r["count"], r["ead"], r["rwa"], r.get("risk_weight"))
         for r in documents["rwa_by_class.json"]],
        (None, COUNT, EUR, EUR, PERCENT),
    )

    sheet = workbook.create_sheet(SHEETS[2])
    _title(sheet, "Stats by product")
    _table(
        sheet,
        ("product", "side", "positions", "notional (EUR)", "specific provisions (EUR)", "EAD (EUR)", "RWA (EUR)"),
        [(r["product"], r["side"], r["count"], r["notional"], r["specific_provision"], r["ead"], r["rwa"])
         for r in documents["stats_by_product.json"]],
        (None, None, COUNT, EUR, EUR, EUR, EUR),
    )

    _lcr(workbook.create_sheet(SHEETS[3]), documents["lcr.json"])
    _nsfr(workbook.create_sheet(SHEETS[4]), documents["nsfr.json"])
    _capital(workbook.create_sheet(SHEETS[5]), documents["capital.json"])
    for sheet in workbook.worksheets:
        _widths(sheet)
        sheet.freeze_panes = "A3"
    workbook_text_as_text(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _lcr(sheet: Worksheet, lcr: dict[str, Any]) -> None:
    _title(sheet, "Liquidity coverage ratio (BCBS238)")
    _table(sheet, ("figure", "value"), [
        ("HQLA after haircuts and caps (EUR)", lcr["hqla"]["total"]),
        ("total outflows (EUR)", lcr["outflows"]["total"]),
        ("inflows recognised (EUR)", lcr["inflows"]["recognised"]),
        ("net cash outflows (EUR)", lcr["net_outflows"]),
    ], (None, EUR))
    _table(sheet, ("ratio", "minimum", "met"), [(lcr["ratio"], lcr["minimum"], lcr["pass"])], (PERCENT, PERCENT, None))
    _section(sheet, "HQLA by level")
    header, rows = _by_category("level", lcr["hqla"]["levels"], ("before_haircut", "after_haircut"))
    _table(sheet, header, rows, (None, EUR, EUR))
    sheet.append(["cap adjustment for Level 2B (15%)", lcr["hqla"]["adj15"]])
    sheet.append(["cap adjustment for Level 2 (40%)", lcr["hqla"]["adj40"]])
    _section(sheet, "Outflows")
    header, rows = _by_category("category", lcr["outflows"]["by_category"], ("amount", "weighted"))
    _table(sheet, header, rows, (None, EUR, EUR))
    _section(sheet, "Inflows")
    header, rows = _by_category("category", lcr["inflows"]["by_category"], ("amount", "weighted"))
    _table(sheet, header, rows, (None, EUR, EUR))
    sheet.append(["inflow cap (75% of outflows)", lcr["inflows"]["cap"]])
    _section(sheet, "Rules applied")
    _table(sheet, ("rule", "kind", "factor", "positions", "amount (EUR)", "weighted (EUR)"),
           [(r["rule"], r["kind"], r["factor"], r["count"], r["amount"], r["weighted"]) for r in lcr["rules"]],
           (None, None, PERCENT, COUNT, EUR, EUR))


def _nsfr(sheet: Worksheet, nsfr: dict[str, Any]) -> None:
    _title(sheet, "Net stable funding ratio (d295)")
    _table(sheet, ("figure", "value"), [
        ("available stable funding (EUR)", nsfr["asf"]["total"]),
        ("required stable funding, on balance (EUR)", nsfr["rsf"]["on_balance"]),
        ("required stable funding, off balance (EUR)", nsfr["rsf"]["off_balance"]),
        ("required stable funding, derivatives (EUR)", nsfr["rsf"]["derivatives"]),
        ("required stable funding (EUR)", nsfr["rsf"]["total"]),
    ], (None, EUR))
    _table(sheet, ("ratio", "minimum", "met"), [(nsfr["ratio"], nsfr["minimum"], nsfr["pass"])],
           (PERCENT, PERCENT, None))
    for title, by_factor in (
        ("ASF by factor", nsfr["asf"]["by_factor"]),
        ("RSF by factor (on balance)", nsfr["rsf"]["by_factor"]),
        ("RSF by factor (off balance)", nsfr["rsf"]["off_balance_by_factor"]),
    ):
        _section(sheet, title)
        header, rows = _by_category("factor", by_factor, ("amount", "weighted"))
        _table(sheet, header, rows, (None, EUR, EUR))
    _section(sheet, "Rules applied")
    _table(sheet, ("rule", "side", "ASF factor", "RSF factor", "positions", "amount (EUR)"),
           [(r["rule"], r["side"], r["asf_factor"], r["rsf_factor"], r["count"], r["amount"]) for r in nsfr["rules"]],
           (None, None, PERCENT, PERCENT, COUNT, EUR))


def _capital(sheet: Worksheet, capital: dict[str, Any]) -> None:
    _title(sheet, "Capital and leverage (RBC20, RBC30, LEV)")
    stack = [(k.upper() if k != "tier2" else "Tier 2", v) for k, v in capital["capital"].items()]
    _table(sheet, ("capital", "EUR"), stack, (None, EUR))
    sheet.append(["credit RWA (EUR)", capital["rwa"]])
    sheet.cell(row=sheet.max_row, column=2).number_format = EUR
    _section(sheet, "Ratios against requirements")
    rows = [
        (name, capital["ratios"][name], req["minimum"], req["with_buffers"],
         capital["pass"][f"{name}_minimum"], capital["pass"][f"{name}_with_buffers"],
         capital["shortfall_with_buffers"][name])
        for name, req in capital["requirements"].items()
    ]
    _table(sheet, ("ratio", "value", "minimum", "with buffers", "minimum met", "buffers met", "shortfall (EUR)"),
           rows, (None, PERCENT, PERCENT, PERCENT, None, None, EUR))
    _section(sheet, "Buffers")
    _table(sheet, ("buffer", "rate"), [("conservation", capital["buffers"]["conservation"]),
                                       ("countercyclical", capital["buffers"]["countercyclical"])], (None, PERCENT))
    leverage = capital["leverage"]
    _section(sheet, "Leverage")
    exposure = [(k.replace("_", " "), v) for k, v in leverage["exposure"].items() if k != "ccf_floor"]
    _table(sheet, ("exposure", "EUR"), exposure, (None, EUR))
    _table(sheet, ("leverage ratio", "minimum", "met"), [(leverage["ratio"], leverage["minimum"], leverage["pass"])],
           (PERCENT, PERCENT, None))
