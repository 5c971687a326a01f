"""Large books are drawn and weighed block by block: no process holds the whole book,
and the figures are those of the whole book weighed in memory.

Blocks are 2**20 rows in production; here they are a few hundred rows (the
engine's BLOCK_ROWS patched), so a 2,000-position run streams through
several blocks in a fraction of a second.
"""
from __future__ import annotations

import json
import math
import time
from typing import Any

import pandas as pd
import pytest

from runs.context import CANCEL_POLL_SECONDS
from runs.models import Run, RunStatus
from simulations import conf, params
from simulations.engine import SimulationConfig, compute_metrics, generate_portfolio
from simulations.engine import metrics as engine_metrics
from simulations.engine.metrics import metrics_from_sums, sum_blocks, weigh_block
from simulations.models import CachedResult
from simulations.results import aggregate_documents, part_ranges, simulation_checksum
from simulations.services import execution

CONFIG = SimulationConfig(include_derivatives=True)


# ---------------------------------------------------------------------------
# Engine: slices of the book, block sums
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("cuts", [(0, 1, 17, 2_500, 4_999, 5_000), (0, 700, 1_400, 2_100, 5_000)])
def test_any_slice_of_the_book_is_drawn_as_the_whole_book_has_it(cuts):
    whole = generate_portfolio(3, 5_000, CONFIG)
    for first, stop in zip(cuts, cuts[1:]):
        piece = generate_portfolio(3, 5_000, CONFIG, rows=(first, stop))
        pd.testing.assert_frame_equal(piece, whole.iloc[first:stop].reset_index(drop=True), check_exact=True)


def test_a_slice_outside_the_book_is_refused():
    with pytest.raises(ValueError, match="rows must be a non-empty range"):
        generate_portfolio(3, 1_000, CONFIG, rows=(900, 1_001))
    with pytest.raises(ValueError, match="rows must be a non-empty range"):
        generate_portfolio(3, 1_000, CONFIG, rows=(500, 500))


def _streamed(seed: int, n: int, block_rows: int) -> dict[str, Any]:
    """The aggregate documents of a book drawn and weighed one block at a time."""
    blocks = []
    for first, stop in part_ranges(n, block_rows):
        _, sums = weigh_block(generate_portfolio(seed, n, CONFIG, rows=(first, stop)))
        blocks.append(sums)
    return aggregate_documents(metrics_from_sums(sum_blocks(blocks), CONFIG.capital_stack()))


def test_a_book_streamed_in_blocks_has_exactly_the_figures_computed_in_memory():
    whole = generate_portfolio(5, 5_000, CONFIG)
    in_memory = aggregate_documents(compute_metrics(whole, CONFIG.capital_stack(), block_rows=700))
    streamed = _streamed(5, 5_000, 700)
    assert json.dumps(streamed, sort_keys=True) == json.dumps(in_memory, sort_keys=True)


def test_one_block_is_the_book_weighed_whole():
    whole = generate_portfolio(5, 5_000, CONFIG)
    assert json.dumps(_streamed(5, 5_000, 5_000), sort_keys=True) == json.dumps(
        aggregate_documents(compute_metrics(whole, CONFIG.capital_stack(), block_rows=10**9)), sort_keys=True
    )


def _assert_to_the_cent(blocked: Any, whole: Any, where: str = "") -> None:
    if isinstance(whole, dict):
        assert blocked.keys() == whole.keys(), where
        for key in whole:
            _assert_to_the_cent(blocked[key], whole[key], f"{where}.{key}")
    elif isinstance(whole, list):
        assert len(blocked) == len(whole), where
        for i, (b, w) in enumerate(zip(blocked, whole)):
            _assert_to_the_cent(b, w, f"{where}[{i}]")
    elif isinstance(whole, float) and not isinstance(whole, bool):
        # Amounts agree to the cent; ratios and weights to 12 significant digits.
        assert math.isclose(blocked, whole, rel_tol=1e-12, abs_tol=0.01), f"{where}: {blocked} != {whole}"
    else:
        assert blocked == whole, where


def test_block_sums_give_the_figures_of_the_unblocked_book_to_the_cent():
    whole = generate_portfolio(9, 6_000, CONFIG)
    unblocked = aggregate_documents(compute_metrics(whole, CONFIG.capital_stack(), block_rows=10**9))
    blocked = aggregate_documents(compute_metrics(whole, CONFIG.capital_stack(), block_rows=333))
    _assert_to_the_cent(blocked, unblocked)
    assert blocked["summary.json"]["n_positions"] == 6_000
    assert blocked["lcr.json"]["rules"] == [
        {**rule, "amount": pytest.approx(rule["amount"], abs=0.01), "weighted": pytest.approx(rule["weighted"], abs=0.01)}
        for rule in unblocked["lcr.json"]["rules"]
    ]


def test_a_block_size_below_one_is_refused():
    with pytest.raises(ValueError, match="block_rows must be positive"):
        compute_metrics(generate_portfolio(1, 200, CONFIG), CONFIG.capital_stack(), block_rows=0)


# ---------------------------------------------------------------------------
# Runs: streaming through blocks, chunks, cancel
# ---------------------------------------------------------------------------
@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch, sim_env: Any) -> None:
    monkeypatch.setattr(conf, "PART_ROWS", 500)
    monkeypatch.setattr(engine_metrics, "BLOCK_ROWS", 700)  # blocks and parts do not line up


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every slice of a book the simulation service draws."""
    slices: list[tuple[int, int]] = []

    def drawing(seed: int, n: int, config: SimulationConfig, *, rows: Any = None, **kwargs: Any) -> pd.DataFrame:
        slices.append(rows if rows is not None else (0, n))
        return generate_portfolio(seed, n, config, rows=rows, **kwargs)

    monkeypatch.setattr(execution, "generate_portfolio", drawing)
    return slices


def test_a_run_streams_its_book_and_records_the_in_memory_checksum(small_blocks, drawn, launch, analyst, settings):
    settings.SIMULATION_CHUNK_SIZE = 10**9
    run = launch(analyst, seed=7, use_cache=False)
    assert run.status == RunStatus.SUCCEEDED
    # 2,000 rows drawn as blocks of 700 (and the part that runs past a block's end alone).
    assert max(stop - first for first, stop in drawn) <= 700
    assert (0, 2_000) not in drawn
    assert simulation_checksum(seed=7, n_positions=2_000, config={}, part_rows=500) == run.checksum
    assert run.metrics["parts"] == 4 and run.metrics["chunks"] == 0


def test_streamed_and_chunked_runs_have_one_checksum_and_the_whole_book_figures(
    small_blocks, drawn, launch, analyst, settings
):
    settings.SIMULATION_CHUNK_SIZE = 10**9
    streamed = launch(analyst, seed=4, use_cache=False)
    settings.SIMULATION_CHUNK_SIZE = 500
    chunked = launch(analyst, seed=4, use_cache=False)
    assert streamed.status == chunked.status == RunStatus.SUCCEEDED
    assert chunked.metrics["chunks"] == 4
    assert streamed.checksum == chunked.checksum
    assert max(stop - first for first, stop in drawn) <= 700
    whole = compute_metrics(generate_portfolio(4, 2_000, params.spec_from_params({"seed": 4, "n_positions": 2_000}).config),
                            SimulationConfig().capital_stack(), block_rows=10**9)
    for key in ("total_rwa", "total_ead", "total_assets", "hqla", "net_outflows", "asf", "rsf"):
        assert math.isclose(streamed.metrics[key], whole.summary[key], abs_tol=0.01), key


def test_a_cancel_lands_between_blocks(small_blocks, launch, analyst, settings, monkeypatch):
    settings.SIMULATION_CHUNK_SIZE = 10**9
    weighed: list[int] = []

    def weigh_then_cancel(positions: pd.DataFrame, settings: Any = None) -> Any:
        weighed.append(len(positions))
        if len(weighed) == 1:
            Run.objects.filter(status=RunStatus.RUNNING).update(cancel_requested=True)
            time.sleep(CANCEL_POLL_SECONDS)  # the run looks for a cancel at most this often
        return weigh_block(positions, settings)

    monkeypatch.setattr(execution, "weigh_block", weigh_then_cancel)
    run = launch(analyst, seed=12, use_cache=False)
    assert run.status == RunStatus.CANCELLED
    assert len(weighed) == 1  # stopped before the second block was drawn
    assert not CachedResult.objects.exists()
    assert not run.artifacts.exists()


def test_the_form_takes_ten_million_positions_and_refuses_more_than_the_maximum():
    def errors(n: int) -> list[str]:
        return params.SimulationParamsForm(data={"seed": 1, "n_positions": n}).errors.get("n_positions", [])

    assert conf.MAX_POSITIONS >= 10_000_000
    assert errors(10_000_000) == []
    assert errors(conf.MAX_POSITIONS) == []
    assert errors(conf.MAX_POSITIONS + 1) == [f"Ensure this value is less than or equal to {conf.MAX_POSITIONS}."]
