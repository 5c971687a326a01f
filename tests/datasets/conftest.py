"""Fixtures of the dataset tests: files of every accepted format, and bad ones, made here."""
from __future__ import annotations

import io
import json
from typing import Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from datasets.services import dataset_upload

CSV = b"id,region,amount,flag\n1,north,10.5,true\n2,south,-3.25,false\n3,north,7,true\n4,east,,false\n5,=cmd,2,true\n"


def workbook(fill: Callable[[Any], None]) -> bytes:
    wb = Workbook()
    fill(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def one_sheet(wb: Any) -> None:
    ws = wb.active
    ws.title = "Data"
    ws.append(["id", "name", "score"])
    ws.append([1, "a", 0.5])
    ws.append([2, "b", 1.5])


def with_formula(wb: Any) -> None:
    one_sheet(wb)
    wb.active.append([3, "c", "=C2+C3"])


def two_sheets(wb: Any) -> None:
    one_sheet(wb)
    wb.create_sheet("Notes").append(["note"])


def parquet_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


@pytest.fixture
def upload(analyst: Any) -> Callable[..., Any]:
    """Upload bytes through the service as the analyst (or `user=`)."""

    def _upload(data: bytes, name: str = "sales", filename: str = "sales.csv", user: Any = None, **kw: Any) -> Any:
        return dataset_upload(user=user or analyst, file=io.BytesIO(data), name=name, filename=filename, **kw)

    return _upload


def uploaded(data: bytes, filename: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(filename, data, content_type="application/octet-stream")


JSON_RECORDS = json.dumps([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]).encode()
