"""The new lines and settings through the command, the compute page and the API alike, with hand-computed figures."""
from __future__ import annotations

import gzip
import io
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

pytestmark = pytest.mark.django_db

# A book of the new lines, figures worked out by hand:
#   RWA: M1 loan-splitting with a pari passu lien, 48,125 × 20% + 21,875 × 75% = 26,031.25 (d424 para 65);
#        E1 speculative unlisted equity 100 × 400% = 400; C1 cash in collection 1,000 × 20% = 200;
#        R1 RMBS at the 50% setting on its carrying amount 1,000 = 500; cash 0;
#        T1 transactor card line 1,000 × CCF 10% × 45% = 45 (d424 paras 84, 56).          Total 27,176.25.
#   HQLA: cash 10,000 (L1) + R1 at market value 800 × 75% = 600 (L2B, under both caps) = 10,600.
#   Outflows: O1 other liability due in 20 days, 500 × 100% (BCBS238 para 141); D1 term deposit
#        withdrawable without penalty, insured, 1,000 × 5% = 50 (paras 82–84).             LCR 10,600 / 550.
#   ASF: CET1 50,000 × 100%; O1 0%; D1 stable retail < 1y 1,000 × 95%.                     50,950.
#   RSF: M1 ≥ 1y with RW 37.19% > 35%, 70,000 × 85% = 59,500; E1 100; C1 500; R1 500.     60,600.
BOOK = (
    "position_id,product,notional,property_value,pari_passu_liens,residual_maturity_days,hqla_level,rating,"
    "market_value,equity_listing,counterparty_type,ccf_class,retail_segment,insured,penalty_free_withdrawal\n"
    "M1,rre_general,70000,100000,10000,,,,,,,,,,\n"
    "E1,equity,100,,,,,,,speculative_unlisted,,,,,\n"
    "C1,cash_in_collection,1000,,,,,,,,,,,,\n"
    "R1,rmbs,1000,,,,L2B_RMBS,AA,800,,,,,,\n"
    "O1,other_liability,500,,,20,,,,,,,,,\n"
    "H1,cash,10000,,,,,,,,,,,,\n"
    "K1,capital_cet1,50000,,,,,,,,,,,,\n"
    "T1,off_balance,1000,,,,,,,,individual,unconditionally_cancellable,transactor,,\n"
    "D1,retail_term_deposit,1000,,,100,,,,,,,,true,true\n"
).encode()
SETTINGS = {"real_estate_approach": "loan_splitting", "as_of_date": "2026-01-31", "rmbs_risk_weight": 0.5}
RAGGED = b"position_id,product,notional\nA,cash,100\nB,cash,100,oops\n"


def _expect(result: dict) -> None:
    summary = result["summary"]
    assert summary["total_rwa"] == pytest.approx(27_176.25)
    assert summary["hqla"] == pytest.approx(10_600.0)
    assert summary["net_outflows"] == pytest.approx(550.0)
    assert summary["asf"] == pytest.approx(50_950.0)
    assert summary["rsf"] == pytest.approx(60_600.0)
    assert result["settings"]["real_estate_approach"] == "loan_splitting"
    assert result["settings"]["as_of_date"] == "2026-01-31"
    assert result["lcr"]["hqla"]["amount_basis"]["market_value_holdings"] == 1


def _upload(data: bytes, name: str = "book.csv") -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def _command(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("compute_metrics", *args, stdout=out, stderr=err)
    return out.getvalue()


# -- the same book, the same figures, on every surface ---------------------------------------------


def test_the_command_takes_a_settings_file(tmp_path: Path):
    (tmp_path / "book.csv").write_bytes(BOOK)
    (tmp_path / "settings.json").write_text(json.dumps(SETTINGS))
    out = _command("--positions", str(tmp_path / "book.csv"), "--regulatory-settings",
                   str(tmp_path / "settings.json"), "--json")
    _expect(json.loads(out))
    text = _command("--positions", str(tmp_path / "book.csv"), "--regulatory-settings", str(tmp_path / "settings.json"))
    assert "real_estate_approach=loan_splitting" in text and "HQLA counted at:" in text


def test_the_command_refuses_a_bad_settings_file(tmp_path: Path):
    (tmp_path / "book.csv").write_bytes(BOOK)
    (tmp_path / "settings.json").write_text('{"real_estate_approach": "split"}')
    with pytest.raises(CommandError, match="real_estate_approach must be one of"):
        _command("--positions", str(tmp_path / "book.csv"), "--regulatory-settings", str(tmp_path / "settings.json"))
    (tmp_path / "settings.json").write_text("{}")
    with pytest.raises(CommandError, match="set as_of_date"):  # days need the as-of date
        _command("--positions", str(tmp_path / "book.csv"), "--regulatory-settings", str(tmp_path / "settings.json"))


def test_the_api_takes_settings_as_json(client_for, viewer):
    response = client_for(viewer).post(
        "/api/simulations/compute/", {"positions": _upload(BOOK), "settings": json.dumps(SETTINGS)}
    )
    assert response.status_code == 200, response.content
    _expect(response.json())
    bad = client_for(viewer).post(
        "/api/simulations/compute/", {"positions": _upload(BOOK), "settings": '{"rmbs_risk_weight": 0.1}'}
    )
    assert bad.status_code == 400 and bad.json()["field"] == "settings"
    assert "rmbs_risk_weight" in bad.json()["detail"]


def test_the_page_takes_settings_as_form_fields(client_for, viewer):
    page = client_for(viewer).post("/simulations/compute/", {"positions": _upload(BOOK), **SETTINGS})
    assert page.status_code == 200
    content = page.content.decode()
    assert "27,176 EUR" in content  # whole euros on the page
    assert "loan_splitting" in content and "2026-01-31" in content
    assert "HQLA counted at" in content
    refused = client_for(viewer).post("/simulations/compute/", {"positions": _upload(BOOK), "rmbs_risk_weight": "0.1"})
    assert refused.status_code == 400


# -- reading books --------------------------------------------------------------------------------


def test_a_ragged_row_is_refused_naming_it_on_every_surface(client_for, viewer, tmp_path: Path):
    (tmp_path / "ragged.csv").write_bytes(RAGGED)
    with pytest.raises(CommandError, match="row 2: has 4 fields; the header has 3"):
        _command("--positions", str(tmp_path / "ragged.csv"))
    api = client_for(viewer).post("/api/simulations/compute/", {"positions": _upload(RAGGED)})
    assert api.status_code == 400 and api.json()["row"] == 2 and "has 4 fields" in api.json()["detail"]
    page = client_for(viewer).post("/simulations/compute/", {"positions": _upload(RAGGED)})
    assert page.status_code == 400 and "has 4 fields; the header has 3" in page.content.decode()
    short = b"position_id,product,notional\nA,cash,100\nB,cash\n"
    api = client_for(viewer).post("/api/simulations/compute/", {"positions": _upload(short)})
    assert api.status_code == 400 and api.json()["row"] == 2 and "has 2 fields" in api.json()["detail"]


def test_a_gzip_csv_is_read_on_every_surface_alike(client_for, viewer, tmp_path: Path):
    packed = gzip.compress(BOOK)
    (tmp_path / "book.csv.gz").write_bytes(packed)
    (tmp_path / "packed.bin").write_bytes(packed)  # told by content, not by name
    (tmp_path / "settings.json").write_text(json.dumps(SETTINGS))
    for name in ("book.csv.gz", "packed.bin"):
        _expect(json.loads(_command("--positions", str(tmp_path / name), "--regulatory-settings",
                                    str(tmp_path / "settings.json"), "--json")))
    api = client_for(viewer).post(
        "/api/simulations/compute/", {"positions": _upload(packed, "book.csv.gz"), "settings": json.dumps(SETTINGS)}
    )
    assert api.status_code == 200
    _expect(api.json())
    page = client_for(viewer).post("/simulations/compute/", {"positions": _upload(packed, "book.csv.gz"), **SETTINGS})
    assert page.status_code == 200 and "27,176 EUR" in page.content.decode()


def test_a_claimed_gigabyte_is_refused_with_413_before_the_body_is_read(client_for, viewer):
    client = client_for(viewer)
    for path in ("/api/simulations/compute/", "/simulations/compute/"):
        response = client.generic("POST", path, b"", content_type="multipart/form-data; boundary=x",
                                  CONTENT_LENGTH=str(1 << 30))
        assert response.status_code == 413
        assert "1,073,741,824 bytes" in response.content.decode()


def test_messages_show_plain_numbers_on_the_api(client_for, viewer):
    bad = b"position_id,product,notional\nA,corporate,-250\n"
    response = client_for(viewer).post("/api/simulations/compute/", {"positions": _upload(bad)})
    assert response.status_code == 400
    assert "negative amount -250.0" in response.json()["detail"] and "np." not in response.json()["detail"]


def test_an_ineligible_hqla_holding_is_not_counted_and_the_api_says_why(client_for, viewer):
    book = b"position_id,product,notional,rating,hqla_level\nR1,rmbs,1000,AA-,L2B_RMBS\nH1,cash,100,,\n"
    result = client_for(viewer).post("/api/simulations/compute/", {"positions": _upload(book)}).json()
    assert result["summary"]["hqla"] == pytest.approx(100.0)
    assert any("BCBS238 para 54(a)" in r["rule"] and "AA or better" in r["rule"] for r in result["lcr"]["rules"])


# -- a run keeps its settings in its parameters, its hash and its report ---------------------------------


@pytest.mark.usefixtures("sim_env")
def test_a_run_records_its_settings_and_its_report_lists_them(launch, analyst, client_for):
    whole = launch(analyst)
    split = launch(analyst, real_estate_approach="loan_splitting")
    assert split.params["real_estate_approach"] == "loan_splitting"
    assert whole.params["real_estate_approach"] == "whole_loan"
    assert split.metrics["cache"]["params_hash"] != whole.metrics["cache"]["params_hash"]
    assert split.checksum != whole.checksum
    report = client_for(analyst).get(f"/api/simulations/runs/{split.run_id}/report/")
    assert report.status_code == 200
    sheet = load_workbook(io.BytesIO(report.content))["Summary"]
    cells = {(row[0].value, row[1].value) for row in sheet.iter_rows(min_col=1, max_col=2)}
    assert ("setting: real estate approach", "loan_splitting") in cells
    assert ("setting: rmbs risk weight", 1) in cells or ("setting: rmbs risk weight", 1.0) in cells
