"""The FinOps cost views' tables as files: CSV, or an Excel workbook of one sheet.

A table is what a page shows (its rows are already computed and bounded: by the
catalogue's applications, the top-N choices or the history's month limit), so a
file is built whole. User text (application, family and domain names) never
becomes a formula: CSV through runs.textsafe.csv_row, the workbook through
workbook_text_as_text (typed cells: text stays text, amounts are numbers).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from runs.textsafe import csv_row, workbook_text_as_text

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Table:
    """A table of a page: its export holds exactly the rows the page shows (every row, for a paged list)."""

    name: str
    header: list[str]
    rows: list[list[Any]]


def _cell(value: Any) -> Any:
    if isinstance(value, date):
        return f"{value:%Y-%m}" if value.day == 1 else value.isoformat()
    return value


def csv_bytes(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_row(table.header))
    for row in table.rows:
        writer.writerow(csv_row(_cell(v) for v in row))
    return out.getvalue().encode("utf-8")


def xlsx_bytes(table: Table, *, currency: str) -> bytes:
    """One sheet: a bold header, amounts as numbers shown with the currency, percentages as numbers."""
    book = Workbook()
    sheet = book.active
    sheet.title = table.name[:31]
    sheet.append(table.header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    money = f'#,##0.00 "{currency}";-#,##0.00 "{currency}"'
    pct_columns = {i for i, name in enumerate(table.header) if name.endswith("_pct")}
    # Cells addressed by their row and column (sheet.max_row would rescan the sheet at every row).
    for r, row in enumerate(table.rows, 2):
        for i, value in enumerate(row):
            value = _cell(value)
            if i in pct_columns and isinstance(value, str):
                value = float(value) if value else None  # written by the page as "12.34"
            cell = sheet.cell(row=r, column=i + 1, value=None if value == "" else value)
            if isinstance(value, Decimal):
                cell.number_format = money
            elif isinstance(value, float) and i in pct_columns:
                cell.number_format = "0.00"
    for i, name in enumerate(table.header, 1):
        sheet.column_dimensions[get_column_letter(i)].width = max(12, min(40, len(str(name)) + 4))
    sheet.freeze_panes = "A2"
    workbook_text_as_text(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_response(table: Table, *, fmt: str, stem: str, currency: str) -> HttpResponse:
    """The table as a download named `<stem>.<fmt>`."""
    if fmt == "xlsx":
        response = HttpResponse(xlsx_bytes(table, currency=currency), content_type=XLSX_TYPE)
    elif fmt == "csv":
        response = HttpResponse(csv_bytes(table), content_type="text/csv; charset=utf-8")
    else:
        raise ValueError(f"format is one of {', '.join(FORMATS)}.")
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response
