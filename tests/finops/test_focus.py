"""Reading FOCUS files: valid rows normalised, every bad input named by file, row and column."""
from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from finops_admin.focus import FocusFile, Problems, read_focus

HEADER = ("BilledCost,EffectiveCost,ListCost,BillingCurrency,ChargePeriodStart,ProviderName,ServiceCategory,"
          "ServiceName,BillingAccountId,SubAccountId,RegionId,ConsumedQuantity,ConsumedUnit,Tags,SomethingElse\n")
ROW = '12.5,10.25,15,EUR,2026-10-03T00:00:00Z,AWS,Compute,EC2,ba-1,sub-1,eu-west-3,3,Hours,"{""app"": ""a1""}",x\n'
CURRENCIES = {"EUR", "USD"}
GiB = 1 << 30


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _read(path: Path, **kw):
    kw.setdefault("period", "2026-10")
    kw.setdefault("currencies", CURRENCIES)
    kw.setdefault("max_bytes", GiB)
    return read_focus(path, **kw)


def _where(problems: Problems) -> list[tuple]:
    return [(p.file, p.row, p.column) for p in problems.first]


def test_a_valid_file_is_normalised_extra_columns_ignored(tmp_path):
    table, problems = _read(_write(tmp_path / "f_2026-10.csv", HEADER + ROW * 3))
    assert not problems and table.num_rows == 3
    first = table.slice(0, 1).to_pylist()[0]
    assert first["period"] == "2026-10-01" and first["billed_cost"] == "12.5" and first["provider"] == "AWS"
    assert first["tags"] == '{"app": "a1"}' and first["source_row"] == 1
    assert "SomethingElse" not in table.column_names
    assert table["source_row"].to_pylist() == [1, 2, 3]


def test_focus_1_3_service_provider_name_and_no_optional_columns(tmp_path):
    text = ("BilledCost,EffectiveCost,ListCost,BillingCurrency,ChargePeriodStart,ServiceProviderName,"
            "ServiceCategory,ServiceName,BillingAccountId\n1,1,,usd,2026-10-01,Azure,Storage,Blob,ba\n")
    table, problems = _read(_write(tmp_path / "f_2026-10.csv", text))
    assert not problems, problems.first
    row = table.to_pylist()[0]
    assert row["provider"] == "Azure" and row["billing_currency"] == "USD"
    assert row["list_cost"] is None and row["sub_account"] == "" and row["consumed_quantity"] is None


def test_a_missing_required_column_is_named(tmp_path):
    text = HEADER.replace("BilledCost,", "") + ROW.split(",", 1)[1]
    table, problems = _read(_write(tmp_path / "f_2026-10.csv", text))
    assert table is None
    assert _where(problems) == [("f_2026-10.csv", None, "BilledCost")]
    assert "required FOCUS column missing" in problems.first[0].reason


def test_a_non_numeric_cost_names_row_and_column(tmp_path):
    bad = ROW.replace("10.25", "ten")
    table, problems = _read(_write(tmp_path / "f_2026-10.csv", HEADER + ROW + bad + ROW))
    assert _where(problems) == [("f_2026-10.csv", 2, "EffectiveCost")]
    assert "not a number: 'ten'" in problems.first[0].reason
    assert problems.rows_rejected == 1 and table.num_rows == 2


def test_an_unknown_currency_names_row_and_column(tmp_path):
    table, problems = _read(_write(tmp_path / "f_2026-10.csv", HEADER + ROW + ROW.replace("EUR", "XYZ")))
    assert _where(problems) == [("f_2026-10.csv", 2, "BillingCurrency")]
    assert "unknown currency 'XYZ'" in problems.first[0].reason


def test_a_row_outside_the_files_period_is_refused(tmp_path):
    other = ROW.replace("2026-10-03", "2026-09-30")
    table, problems = _read(_write(tmp_path / "f_2026-10.csv", HEADER + other + ROW))
    assert _where(problems) == [("f_2026-10.csv", 1, "ChargePeriodStart")]
    assert "outside the file's period 2026-10" in problems.first[0].reason


def test_not_a_date_is_refused(tmp_path):
    table, problems = _read(_write(tmp_path / "f_2026-10.csv", HEADER + ROW.replace("2026-10-03T00:00:00Z", "soon")))
    assert _where(problems) == [("f_2026-10.csv", 1, "ChargePeriodStart")]


@pytest.mark.parametrize("text", ["", HEADER], ids=["zero-bytes", "header-only"])
def test_an_empty_file_is_refused(tmp_path, text):
    table, problems = _read(_write(tmp_path / "f_2026-10.csv", text))
    assert table is None and problems.count == 1 and "empty file" in problems.first[0].reason


def test_a_gzip_that_is_not_one_is_refused(tmp_path):
    table, problems = _read(_write(tmp_path / "f_2026-10.csv.gz", HEADER + ROW))
    assert table is None and "not a gzip file" in problems.first[0].reason


def test_a_truncated_gzip_is_refused(tmp_path):
    data = gzip.compress((HEADER + ROW * 5000).encode())
    path = tmp_path / "f_2026-10.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    table, problems = _read(path)
    assert problems.count == 1 and "unreadable" in problems.first[0].reason


def test_a_real_gzip_is_read(tmp_path):
    path = tmp_path / "f_2026-10.csv.gz"
    path.write_bytes(gzip.compress((HEADER + ROW * 4).encode()))
    table, problems = _read(path)
    assert not problems and table.num_rows == 4


def test_a_2_gb_file_is_refused_without_being_read(tmp_path):
    path = tmp_path / "huge_2026-10.csv"
    with open(path, "wb") as handle:  # sparse: 2 GB on paper, nothing on disk
        handle.truncate(2 * 10**9)
    started = time.perf_counter()
    table, problems = _read(path, max_bytes=GiB)
    assert time.perf_counter() - started < 1.0
    assert table is None and "over the limit of 1.0 GiB" in problems.first[0].reason
    os.remove(path)


def test_parquet_is_read_in_bounded_batches(tmp_path):
    csv_path = _write(tmp_path / "f_2026-10.csv", HEADER + ROW * 2500)
    table = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(column_types={"Tags": pa.string()}))
    path = tmp_path / "f_2026-10.parquet"
    pq.write_table(table, path)
    reader = FocusFile(path, period="2026-10", currencies=CURRENCIES, problems=Problems(), max_bytes=GiB,
                       batch_rows=1000)
    batches = list(reader.batches())
    assert [b.num_rows for b in batches] == [1000, 1000, 500]
    assert batches[0].to_pylist()[0]["billed_cost"] == "12.5"
    assert batches[2]["source_row"].to_pylist()[-1] == 2500


def test_errors_beyond_the_kept_ones_are_counted(tmp_path):
    problems = Problems(keep=3)
    text = HEADER + ROW.replace("12.5", "x") * 10
    read_focus(_write(tmp_path / "f_2026-10.csv", text), period="2026-10", currencies=CURRENCIES, max_bytes=GiB,
               problems=problems)
    assert problems.count == 10 and len(problems.first) == 3 and problems.rows_rejected == 10
