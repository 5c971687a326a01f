"""Wording a new user reads on simulation runs: chunk logs and the order of what is logged."""
from __future__ import annotations

import pytest

from runs.models import RunStatus
from simulations import conf

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_env")]


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "PART_ROWS", 500)


def test_a_chunked_run_says_its_chunk_size_in_positions_and_logs_ratios_after_the_chunks(launch, analyst, settings):
    settings.SIMULATION_CHUNK_SIZE = 500
    run = launch(analyst, use_cache=False)
    assert run.status == RunStatus.SUCCEEDED
    messages = list(run.logs.order_by("id").values_list("message", flat=True))
    split = next(m for m in messages if m.startswith("Split into"))
    assert split.startswith("Split into 4 chunks of up to 500 positions (1 part of 500)")
    done = next(i for i, m in enumerate(messages) if m.startswith("Chunks computed by "))
    ratio = next(i for i, m in enumerate(messages) if "meets its minimum" in m or "below" in m)
    assert ratio > done


def test_the_nsfr_factor_tables_are_in_numeric_order(launch, analyst, client_for):
    run = launch(analyst)
    page = client_for(analyst).get(f"/runs/{run.run_id}/").content.decode()
    section = page[page.index("Required stable funding by factor"):]
    section = section[: section.index("</table>")]
    import re

    factors = [float(f) for f in re.findall(r"<tr><td>([0-9.]+)%</td>", section)]
    assert len(factors) >= 3 and factors == sorted(factors)


def test_the_positions_format_is_a_page_with_an_example_file_that_computes(client_for, analyst):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(analyst)
    compute = client.get("/simulations/compute/").content.decode()
    assert 'href="/simulations/positions-format/"' in compute and 'href="/simulations/positions-format/example.csv"' in compute
    doc = client.get("/simulations/positions-format/")
    assert doc.status_code == 200
    body = doc.content.decode()
    assert '<h2 id="columns">Columns</h2>' in body and "<table>" in body and "<code>position_id</code>" in body
    example = client.get("/simulations/positions-format/example.csv")
    assert example.status_code == 200 and example["Content-Type"].startswith("text/csv")
    data = example.content
    assert data.startswith(b"position_id,product,notional")
    upload = SimpleUploadedFile("example-positions.csv", data, content_type="text/csv")
    result = client.post("/simulations/compute/", {"positions": upload, "action": "show"})
    assert result.status_code == 200
    assert "Results for example-positions.csv" in result.content.decode()


def test_the_positions_format_page_needs_a_login(client):
    assert client.get("/simulations/positions-format/").status_code == 302


def test_a_file_with_several_bad_rows_reports_the_first_row():
    import io

    from simulations.engine import PositionsFormatError
    from simulations.user_files import compute_book

    csv = (
        "position_id,product,notional,rating\n"
        "P1,cash,100,NR\n"
        "P2,corporate,200,ZZZ\n"      # row 2: bad rating (a column checked after notional)
        "P3,corporate,-5,BBB\n"       # row 3: bad notional
        "P4,corporate,x,NR\n"
    ).encode()
    with pytest.raises(PositionsFormatError) as caught:
        compute_book(io.BytesIO(csv), filename="book.csv")
    assert caught.value.row == 2 and caught.value.column == "rating"
