"""The simulation run kind, registered with the run core when the app is ready."""
from __future__ import annotations

from runs.context import RunContext
from runs.kinds import RunKind, register
from runs.models import Run
from simulations.params import SimulationParamsForm
from simulations.selectors import simulation_import_problems, simulation_integrity
from simulations.services import simulation_execute


def execute_simulation(run: Run, ctx: RunContext) -> None:
    simulation_execute(run=run, ctx=ctx)


def validate_simulation(run: Run) -> list[tuple[str, bool, str]]:
    return simulation_integrity(run=run)


def validate_simulation_import(run: Run) -> list[str]:
    return simulation_import_problems(run=run)


SIMULATION = register(
    RunKind(
        name="simulation",
        label="Simulation",
        params_form=SimulationParamsForm,
        execute=execute_simulation,
        description=(
            "Draws a seeded bank balance sheet and computes credit RWA, LCR, NSFR, capital and leverage ratios. "
            "Identical parameters are served from the result cache unless you force a recompute."
        ),
        detail_template="simulations/run_detail_panel.html",
        seed_param="seed",
        validate=validate_simulation,
        validate_import=validate_simulation_import,
        # The table a plain "export as Parquet" gives: the portfolio itself.
        extra={"parquet_table": "positions"},
    )
)
