"""The `tracked` run kind: runs an outside client (an MLflow training script) creates and
drives through the tracking API. They are never launched from a form nor queued for a
worker; their client starts them, logs into them and ends them."""
from __future__ import annotations

from django import forms
from django.conf import settings

from runs.context import RunContext
from runs.kinds import RunKind, register
from runs.models import Run

TRACKED = "tracked"


class TrackedParamsForm(forms.Form):
    """No launch parameters: a tracked run's parameters are logged by its client."""


class NotExecutedHere(RuntimeError):
    pass


def execute_tracked(run: Run, ctx: RunContext) -> None:
    # run_create refuses to queue a kind that is not launchable, so no worker ever gets here.
    raise NotExecutedHere(f"{run.run_id} is a tracked run: its client executes it, not a worker.")


TRACKED_KIND = register(
    RunKind(
        name=TRACKED,
        label="Tracked",
        params_form=TrackedParamsForm,
        execute=execute_tracked,
        # Creating a tracked run is launching a run: the same roles (admin, ml_admin, analyst).
        launch_permission="runs.launch_run",
        description=(
            "A run logged by an outside client (mlflow.start_run, log_metric, log_param) through "
            "the MLflow-compatible API under /api/2.0/mlflow/."
        ),
        seed_param=None,
        launchable=False,
        heartbeat_timeout=settings.TRACKED_RUN_HEARTBEAT_TIMEOUT,
    )
)
