"""The FinOps batch run kind, registered with the run core when the app is ready."""
from __future__ import annotations

from finops_admin.forms import FinopsBatchParamsForm
from runs.context import RunContext
from runs.kinds import RunKind, register
from runs.models import Run


def execute_finops_batch(run: Run, ctx: RunContext) -> None:
    from finops_admin.services.batch import BatchFailed, batch_execute

    try:
        batch_execute(run=run, ctx=ctx)
    except BatchFailed:
        _flag_anomalies(run, ctx)
        raise
    _flag_anomalies(run, ctx)


def _flag_anomalies(run: Run, ctx: RunContext) -> None:
    """Compare the batch with its comparable history (duration, volume per block) and record it."""
    from finops_admin.services.anomalies import batch_anomalies_flag
    from runs.context import RunFenced

    try:
        reasons = batch_anomalies_flag(run=run, fence=ctx.fence)
    except RunFenced:
        raise
    except Exception as exc:  # a failed comparison must not fail a batch that loaded its data
        ctx.warning(f"Anomaly check skipped: {type(exc).__name__}: {exc}")
        return
    for reason in reasons:
        ctx.warning(f"Anomaly: {reason}")


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
