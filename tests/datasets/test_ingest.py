"""Reading uploads into Parquet: formats told by content, statistics, and every refusal named."""
from __future__ import annotations

import io
import pickle

import pyarrow.parquet as pq
import pytest

from datasets.ingest import IngestError, ingest
from tests.datasets.conftest import CSV, JSON_RECORDS, one_sheet, parquet_bytes, two_sheets, with_formula, workbook


def _ingest(data: bytes, **kw):
    sink = io.BytesIO()
    result = ingest(io.BytesIO(data), sink, **kw)
    return result, pq.read_table(io.BytesIO(sink.getvalue()))


def _refused(data: bytes, **kw) -> IngestError:
    with pytest.raises(IngestError) as caught:
        _ingest(data, **kw)
    return caught.value


def test_it_reads_csv_with_types_and_statistics():
    result, table = _ingest(CSV)
    assert result.source_format == "csv" and result.rows == 5 == table.num_rows
    cols = {c["name"]: c for c in result.columns}
    assert cols["amount"]["type"] == "double" and cols["amount"]["nulls"] == 1
    assert cols["amount"]["min"] == -3.25 and cols["amount"]["max"] == 10.5
    assert cols["amount"]["mean"] == pytest.approx((10.5 - 3.25 + 7 + 2) / 4)
    assert cols["region"]["top"][0] == {"value": "north", "count": 2}
    assert cols["flag"]["type"] == "bool"


def test_it_widens_a_column_whose_later_values_do_not_fit_the_first_block():
    data = b"a,b\n" + b"1,2\n" * 300_000 + b"1.5,3\n" + b"x,4\n"
    result, table = _ingest(data)
    assert table.schema.field("a").type == "string" and result.rows == 300_002


def test_it_reads_xlsx_json_records_json_lines_and_parquet():
    assert _ingest(workbook(one_sheet))[0].source_format == "xlsx"
    assert _ingest(JSON_RECORDS)[0].rows == 2
    assert _ingest(b'{"a": 1}\n{"a": 2, "b": 3}\n')[0].rows == 2
    result, table = _ingest(parquet_bytes(_ingest(CSV)[1]))
    assert result.source_format == "parquet" and table.num_rows == 5


def test_it_refuses_a_pickle_renamed_csv():
    error = _refused(pickle.dumps({"a": [1, 2]}), filename="data.csv")
    assert "pickle" in error.message and "data.csv" in error.message


def test_it_names_the_line_of_a_ragged_row():
    error = _refused(b"a,b\n1,2\n3,4\n5,6,7\n")
    assert "Line 4" in error.message and "3 fields" in error.message and error.row == 3


def test_it_names_the_line_of_bad_encoding():
    error = _refused(b"a,b\n1,caf\xe9\n")
    assert "Line 2" in error.message and "not UTF-8" in error.message and error.row == 1


def test_it_names_a_duplicate_column():
    error = _refused(b"a,b,a\n1,2,3\n")
    assert "'a' appears twice" in error.message and error.column == "a"


def test_it_refuses_json_that_is_not_records():
    assert "not records" in _refused(b'{"a": [1, 2], "b": [3, 4]}').message
    assert "Record 2" in _refused(b'[{"a": 1}, 5]').message
    assert "nested" in _refused(b'[{"a": {"b": 1}}]').message
    assert "twice" in _refused(b'[{"a": 1, "a": 2}]').message


def test_it_refuses_formulas_naming_the_cell():
    error = _refused(workbook(with_formula))
    assert "C4" in error.message and "formula" in error.message and error.column == "score" and error.row == 3


def test_it_asks_which_sheet_of_several():
    assert "2 sheets (Data, Notes)" in _refused(workbook(two_sheets)).message
    assert _ingest(workbook(two_sheets), sheet="Data")[0].sheet == "Data"
    assert "no sheet 'Nope'" in _refused(workbook(two_sheets), sheet="Nope").message


def test_it_refuses_empty_and_header_only_files():
    assert "empty" in _refused(b"").message
    assert "no rows" in _refused(b"a,b\n").message
