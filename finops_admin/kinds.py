"""The FinOps batch run kind, registered with the run core when the app is ready."""
from __future__ import annotations

from finops_admin.forms import FinopsBatchParamsForm
from runs.context import RunContext
from runs.kinds import RunKind, register
from runs.models import Run


def execute_finops_batch(run: Run, ctx: RunContext) -> None:
    from finops_admin.services.batch import batch_execute

    batch_execute(run=run, ctx=ctx)


FINOPS_BATCH = register(
    RunKind(
        name="finops_batch",
        label="FinOps batch",
        params_form=FinopsBatchParamsForm,
        execute=execute_finops_batch,
        view_permission="finops_admin.view_batchrun",
        launch_permission="finops_admin.trigger_batchrun",
        description=(
            "Loads the months' FOCUS cost exports domain by domain (each domain replaced in one transaction, "
            "or not at all), then refreshes the cost aggregates."
        ),
        detail_template="finops_admin/run_detail_panel.html",
        seed_param=None,
    )
)
