"""The generator: determinism, coverage of the exposure classes, balance."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from simulations.engine import (
    PRODUCT_CODES,
    SimulationConfig,
    frame_to_parquet_bytes,
    generate_portfolio,
    validate_positions,
)

WITH_EVERYTHING = SimulationConfig(include_derivatives=True, include_off_balance=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_same_seed_gives_the_same_frame_and_bytes():
    first = generate_portfolio(7, 3000, WITH_EVERYTHING)
    second = generate_portfolio(7, 3000, WITH_EVERYTHING)
    pd.testing.assert_frame_equal(first, second)
    assert frame_to_parquet_bytes(first) == frame_to_parquet_bytes(second)


def test_a_different_seed_gives_different_bytes():
    first = frame_to_parquet_bytes(generate_portfolio(7, 3000, WITH_EVERYTHING))
    second = frame_to_parquet_bytes(generate_portfolio(8, 3000, WITH_EVERYTHING))
    assert first != second


def test_another_process_generates_the_same_bytes(repo_root):
    script = textwrap.dedent(
        """
        import hashlib, sys
        sys.path.insert(0, sys.argv[1])
        from simulations.engine import SimulationConfig, frame_to_parquet_bytes, generate_portfolio
        config = SimulationConfig(include_derivatives=True, include_off_balance=True)
        frame = generate_portfolio(11, 5000, config)
        print(hashlib.sha256(frame_to_parquet_bytes(frame)).hexdigest())
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(repo_root)], capture_output=True, text=True, check=True, timeout=120
    )
    expected = sha256(frame_to_parquet_bytes(generate_portfolio(11, 5000, WITH_EVERYTHING)))
    assert completed.stdout.strip() == expected


def test_the_engine_imports_no_django_and_no_other_app(repo_root):
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import simulations.engine
        forbidden = ("django", "rest_framework", "celery", "accounts", "runs", "finops_admin", "config")
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
        print(",".join(loaded))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(repo_root)], capture_output=True, text=True, check=True, timeout=120
    )
    assert completed.stdout.strip() == ""


# Lines a book can state that the simulated bank does not hold.
NOT_DRAWN = {"cash_in_collection", "rmbs", "other_liability"}


def test_every_product_appears_when_everything_is_included():
    frame = generate_portfolio(3, 5000, WITH_EVERYTHING)
    assert set(frame["product"].astype(str)) == set(PRODUCT_CODES) - NOT_DRAWN


def test_off_balance_and_derivatives_can_be_left_out():
    config = SimulationConfig(include_off_balance=False, include_derivatives=False)
    products = set(generate_portfolio(3, 2000, config)["product"].astype(str))
    assert not products & {"off_balance", "derivative_asset", "derivative_liability"}


def test_the_generated_frame_is_already_canonical():
    frame = generate_portfolio(5, 4000, WITH_EVERYTHING)
    pd.testing.assert_frame_equal(validate_positions(frame), frame)


def test_the_balance_sheet_balances_to_the_configured_size():
    config = SimulationConfig(total_assets_eur=5e9, include_derivatives=True)
    frame = generate_portfolio(9, 10_000, config)
    side = frame["product"].map(
        lambda p: "asset" if p in ASSET_PRODUCTS else "funding" if p in FUNDING_PRODUCTS else "other"
    )
    assets = frame.loc[side == "asset", "notional"].sum()
    funding = frame.loc[side == "funding", "notional"].sum()
    tolerance = 0.01 * len(frame)
    assert assets == pytest.approx(5e9, abs=tolerance)
    assert funding == pytest.approx(5e9, abs=tolerance)
    capital = config.capital_stack()
    capital_rows = frame.set_index("product", drop=False).loc[["capital_cet1", "capital_at1", "capital_tier2"]]
    assert capital_rows["notional"].tolist() == [capital.cet1, capital.at1, capital.tier2]


def test_amounts_are_in_cents_and_ids_are_stable():
    frame = generate_portfolio(1, 1000)
    notional = frame["notional"].to_numpy()
    assert np.array_equal(notional, np.round(notional, 2))
    assert frame["position_id"].iloc[0] == "P00000001"
    assert frame["position_id"].is_unique


def test_real_estate_rows_have_an_ltv_and_unrated_banks_a_grade():
    frame = generate_portfolio(2, 5000, WITH_EVERYTHING)
    real_estate = frame["product"].isin(["rre_general", "rre_income", "cre_general", "cre_income"])
    assert frame.loc[real_estate, "ltv"].notna().all()
    unrated_banks = (frame["product"] == "bank") & (frame["rating"] == "NR")
    assert frame.loc[unrated_banks, "scra_grade"].notna().all()


@pytest.mark.parametrize(("seed", "n"), [(-1, 100), (1.5, 100), (1, 0), (1, 10)])
def test_bad_arguments_are_refused(seed, n):
    with pytest.raises(ValueError):
        generate_portfolio(seed, n)


ASSET_PRODUCTS = {
    "cash", "central_bank_reserves", "sovereign", "pse", "mdb", "mdb_qualifying", "bank", "covered_bond",
    "corporate", "sme_corporate", "retail_regulatory", "retail_transactor", "retail_other", "rre_general",
    "rre_income", "cre_general", "cre_income", "defaulted_loan", "equity", "subordinated_debt", "other_assets",
    "derivative_asset",
}
FUNDING_PRODUCTS = {
    "retail_deposit_stable", "retail_deposit_less_stable", "retail_term_deposit", "operational_deposit",
    "corporate_deposit", "fi_funding", "secured_funding", "long_term_debt", "derivative_liability",
    "capital_cet1", "capital_at1", "capital_tier2",
}


def test_between_blocks_is_called_per_block_and_leaves_the_draws_unchanged():
    calls: list[int] = []
    with_hook = generate_portfolio(7, 3_000, between_blocks=lambda: calls.append(1))
    assert len(calls) > 10  # one call per product block
    pd.testing.assert_frame_equal(with_hook, generate_portfolio(7, 3_000))


def test_raising_between_blocks_stops_the_draw():
    class Stop(Exception):
        pass

    seen: list[int] = []

    def stop_after_two() -> None:
        seen.append(1)
        if len(seen) == 2:
            raise Stop()

    with pytest.raises(Stop):
        generate_portfolio(7, 3_000, between_blocks=stop_after_two)
    assert len(seen) == 2
