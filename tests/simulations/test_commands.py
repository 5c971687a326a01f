"""The simulate and compute_metrics commands."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from runs.models import Run, RunArtifact, RunLog, RunStatus, RunTrigger
from simulations.engine import EXPLAIN_COLUMNS, SimulationConfig, frame_to_parquet_bytes, generate_portfolio
from simulations.models import CachedResult, ParameterSet, SimulationChunk

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_env")]


def _call(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _stored() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Run, RunLog, RunArtifact, CachedResult, ParameterSet, SimulationChunk)
    }


# ---------------------------------------------------------------------------
# simulate
# ---------------------------------------------------------------------------
def test_simulate_in_process_prints_the_metrics_as_json():
    out, err = _call("simulate", "--positions", "2000", "--seed", "7", "--in-process", "--json")
    result = json.loads(out)
    run = Run.objects.get(run_id=result["run_id"])
    assert result["status"] == RunStatus.SUCCEEDED == run.status
    assert result["checksum"] == run.checksum and len(run.checksum) == 64
    assert result["metrics"]["n_positions"] == 2_000 and result["metrics"]["cache"]["hit"] is False
    assert {row["product"] for row in result["metrics"]["stats_by_product"]} >= {"cash", "corporate"}
    assert run.trigger == RunTrigger.MANUAL and run.owner is None and run.kind == "simulation"
    assert run.worker.startswith("simulate command on ")
    assert "100% " in err and "Generating 2,000 positions" in err


def test_simulate_in_process_second_time_is_a_cache_hit_unless_no_cache():
    first = json.loads(_call("simulate", "--positions", "2000", "--in-process", "--json")[0])
    hit = json.loads(_call("simulate", "--positions", "2000", "--in-process", "--json")[0])
    forced = json.loads(_call("simulate", "--positions", "2000", "--in-process", "--json", "--no-cache")[0])
    assert hit["metrics"]["cache"]["hit"] is True and forced["metrics"]["cache"]["hit"] is False
    assert first["checksum"] == hit["checksum"] == forced["checksum"]


def test_simulate_prints_a_human_summary():
    out, _ = _call("simulate", "--positions", "2000", "--in-process", "--derivatives", "--total-assets", "5e9")
    assert "succeeded" in out and "cache: miss" in out and "LCR" in out and "CET1 ratio" in out
    run = Run.objects.get()
    assert run.params["include_derivatives"] is True and run.params["total_assets_eur"] == 5_000_000_000


def test_simulate_queues_a_run_for_a_worker(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        out, _ = _call("simulate", "--positions", "2000", "--seed", "3", "--tag", "nightly")
    run = Run.objects.get()
    # Enqueued once committed (and the run lists' cached totals invalidated then).
    assert run.status == RunStatus.PENDING and len(callbacks) == 2
    assert out.startswith(f"{run.run_id} pending") and list(run.tags.values_list("name", flat=True)) == ["nightly"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("--positions", "10"), "n_positions"),
        (("--positions", "20000001"), "n_positions"),
        (("--positions", "2000", "--seed", "-1"), "seed"),
        (("--positions", "2000", "--total-assets", "10"), "total_assets_eur"),
        (("--positions", "many"), "invalid int value"),
        ((), "--positions"),
    ],
)
def test_simulate_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        _call("simulate", *args)
    assert not Run.objects.exists()


# ---------------------------------------------------------------------------
# compute_metrics
# ---------------------------------------------------------------------------
@pytest.fixture
def book() -> pd.DataFrame:
    return generate_portfolio(21, 1_500, SimulationConfig(include_derivatives=True))


@pytest.fixture
def csv_file(tmp_path: Path, book: pd.DataFrame) -> Path:
    path = tmp_path / "book.csv"
    book.to_csv(path, index=False)
    return path


@pytest.fixture
def parquet_file(tmp_path: Path, book: pd.DataFrame) -> Path:
    path = tmp_path / "book.parquet"
    path.write_bytes(frame_to_parquet_bytes(book))
    return path


def test_compute_metrics_on_a_csv_file(csv_file):
    before = _stored()
    out, _ = _call("compute_metrics", "--positions", str(csv_file), "--json")
    result = json.loads(out)
    assert result["positions"] == 1_500 and result["format"] == "csv"
    assert result["capital_stack"]["source"] == "capital instruments of the positions file"
    assert result["capital_stack"]["cet1"] == SimulationConfig().capital_stack().cet1
    assert {c["measure"] for c in result["checks"]} == {
        "CET1 ratio", "Tier 1 ratio", "Total capital ratio", "Leverage ratio", "LCR", "NSFR",
    }
    assert result["summary"]["n_positions"] == 1_500 and result["lcr"]["ratio"] > 0
    assert _stored() == before


def test_compute_metrics_gives_the_same_figures_for_csv_and_parquet(csv_file, parquet_file, book):
    from_csv = json.loads(_call("compute_metrics", "--positions", str(csv_file), "--json")[0])
    from_parquet = json.loads(_call("compute_metrics", "--positions", str(parquet_file), "--json")[0])
    assert from_parquet["format"] == "parquet"
    assert from_parquet["summary"] == pytest.approx(from_csv["summary"])
    assert from_parquet["summary"]["total_rwa"] == pytest.approx(from_csv["summary"]["total_rwa"], rel=1e-12)


def test_compute_metrics_with_a_capital_file_and_explain(parquet_file, tmp_path):
    capital = tmp_path / "capital.json"
    capital.write_text('{"cet1": 300000000, "at1": 50000000}')
    explain = tmp_path / "explain.parquet"
    out, err = _call("compute_metrics", "--positions", str(parquet_file), "--capital", str(capital),
                     "--explain", str(explain))
    assert "from the capital file" in out and "CET1 ratio" in out and "exposure class" in out
    table = pq.read_table(explain)
    assert table.num_rows == 1_500 and tuple(table.column_names) == EXPLAIN_COLUMNS
    assert f"written to {explain}" in err


def _refused(*args: str) -> str:
    before = _stored()
    with pytest.raises(CommandError) as refused:
        _call("compute_metrics", *args)
    assert _stored() == before  # nothing stored
    return str(refused.value)


def test_compute_metrics_refuses_a_file_with_a_missing_column(tmp_path, book):
    path = tmp_path / "no_notional.csv"
    book.drop(columns="notional").to_csv(path, index=False)
    message = _refused("--positions", str(path))
    assert "column 'notional'" in message and str(path) in message


def test_compute_metrics_refuses_a_bad_value_naming_its_row_and_column(tmp_path, book):
    path = tmp_path / "bad.csv"
    bad = book.copy()
    bad["product"] = bad["product"].astype(str)
    bad.loc[2, "product"] = "crypto"  # the third data row
    bad.to_csv(path, index=False)
    message = _refused("--positions", str(path))
    assert "row 3, column 'product'" in message and "crypto" in message


def test_compute_metrics_refuses_a_bad_parquet_value(tmp_path, book):
    path = tmp_path / "bad.parquet"
    bad = book.copy()
    bad["notional"] = bad["notional"].astype(float)
    bad.loc[9, "notional"] = -5.0
    path.write_bytes(frame_to_parquet_bytes(bad))
    assert "row 10, column 'notional'" in _refused("--positions", str(path))


@pytest.mark.parametrize(
    "content, message",
    [("{not json", "not valid JSON"), ('{"cet1": -1}', "capital field 'cet1'"), ('{"at1": 5}', "capital field 'cet1'")],
)
def test_compute_metrics_refuses_a_bad_capital_file(parquet_file, tmp_path, content, message):
    capital = tmp_path / "capital.json"
    capital.write_text(content)
    assert message in _refused("--positions", str(parquet_file), "--capital", str(capital))


@pytest.mark.parametrize("what", ["missing positions", "unreadable parquet", "explain folder"])
def test_compute_metrics_refuses_what_it_cannot_read_or_write(tmp_path, parquet_file, what):
    args: dict[str, Any] = {
        "missing positions": ("--positions", str(tmp_path / "nope.csv")),
        "unreadable parquet": ("--positions", str(_write(tmp_path / "x.parquet", b"PAR1 not really"))),
        "explain folder": ("--positions", str(parquet_file), "--explain", str(tmp_path / "no" / "out.parquet")),
    }
    message = _refused(*args[what])
    assert {"missing positions": "no such file", "unreadable parquet": "cannot read the Parquet file",
            "explain folder": "does not exist"}[what] in message


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------------------
# simulation_cache_evict
# ---------------------------------------------------------------------------
def test_cache_evict_forgets_entries_and_keeps_files_runs_use(launch, analyst, artifact_store):
    run = launch(analyst)
    launch(analyst, seed=8)
    key = run.metrics["cache"]["params_hash"]
    dry, _ = _call("simulation_cache_evict", "--params-hash", key[:10], "--dry-run")
    assert dry.startswith("8 cached file(s) would be evicted") and CachedResult.objects.count() == 16
    out, _ = _call("simulation_cache_evict", "--params-hash", key[:10])
    assert out.startswith("8 cached file(s) were evicted, 1 parameter set(s)")
    assert "and 0 stored file(s) no run uses were deleted" in out
    assert CachedResult.objects.count() == 8 and run.artifacts.count() == 8
    assert "8 cached file(s) were evicted" in _call("simulation_cache_evict", "--all")[0]
    assert "0 cached file(s)" in _call("simulation_cache_evict", "--older-than", "0")[0]


@pytest.mark.parametrize("args, message", [(("--params-hash", "abc"), "at least 8"), ((), "one of the arguments")])
def test_cache_evict_refuses_unclear_requests(args, message):
    with pytest.raises(CommandError, match=message):
        _call("simulation_cache_evict", *args)
