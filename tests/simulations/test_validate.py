"""The simulation's checks in the run's validation panel."""
from __future__ import annotations

import pytest

from runs.models import Run
from runs.selectors.validation import run_validation
from simulations.selectors import simulation_integrity

pytestmark = pytest.mark.usefixtures("sim_env")


def test_a_good_run_passes_every_check(launch, analyst):
    run = launch(analyst)
    checks = simulation_integrity(run=run)
    assert [label for label, _, _ in checks] == [
        "Result files complete", "Positions rows match n_positions", "Explain rows match n_positions",
        "No null or NaN in required columns", "Cache entries of its parameters computed here",
    ]
    assert all(ok for _, ok, _ in checks), checks
    # And the run core's panel (which includes them) finds no NaN or null in the metrics.
    assert all(check.ok for check in run_validation(run)), run_validation(run)


def test_a_count_that_disagrees_fails(launch, analyst):
    run = launch(analyst)
    Run.objects.filter(pk=run.pk).update(metrics={**run.metrics, "n_positions": 1_999})
    run.refresh_from_db()
    failed = {label: detail for label, ok, detail in simulation_integrity(run=run) if not ok}
    assert set(failed) == {"Positions rows match n_positions", "Explain rows match n_positions"}
    assert "2,000 rows" in failed["Positions rows match n_positions"]


def test_a_missing_file_fails(launch, analyst):
    run = launch(analyst)
    run.artifacts.filter(name="explain.parquet").delete()
    failed = {label: detail for label, ok, detail in simulation_integrity(run=run) if not ok}
    assert "explain.parquet" in failed["Result files complete"]
