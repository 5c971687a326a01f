"""Text a user typed or imported, written into spreadsheets and CSV files we produce, stays text.

A spreadsheet program evaluates a cell that starts with "=", "+", "-" or "@" (and, in
some programs, after a leading tab or carriage return) as a formula: a run's notes,
tags or an imported product name could then run `=HYPERLINK(…)`, `=WEBSERVICE(…)` or
DDE. Every CSV and workbook the product writes goes through this module:

- CSV has no types, so a risky text cell is prefixed with an apostrophe (the OWASP
  advice; spreadsheet programs show the text, and the apostrophe says why).
- In a workbook a cell has a type: risky or not, every text cell is written as a
  string with Excel's "quote prefix" flag, so the text is shown exactly as given and
  never evaluated; nothing the workbook holds is a formula.
"""
from __future__ import annotations

from typing import Any, Iterable

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


def csv_text(value: Any) -> Any:
    """A CSV cell: text that a spreadsheet would evaluate is prefixed with an apostrophe.

    Numbers, booleans and None are written as they are (a negative number is a number,
    not a formula); only text is guarded.
    """
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A whole CSV row through csv_text."""
    return [csv_text(value) for value in values]


def workbook_text_as_text(workbook: Any) -> Any:
    """Make every text cell of an openpyxl workbook a plain string, never a formula.

    openpyxl stores a str value starting with "=" as a formula; this turns every such
    cell (and every text cell that starts with another trigger) back into a string with
    the quote-prefix flag. Call it last, on the whole workbook, so no sheet is missed.
    Returns the workbook.
    """
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str) and (cell.data_type == "f" or is_formula_like(value)):
                    cell.data_type = "s"
                    cell.quotePrefix = True
    return workbook
