"""The demo kind: exercises the run lifecycle end to end with no real computation.

It sleeps in steps, logs, reports progress, and fails on request. It is marked
as a demo wherever runs are shown.
"""
from __future__ import annotations

import json
import random
import time

from django import forms

from runs.context import RunContext
from runs.kinds import RunKind, register
from runs.models import Run
from runs.wording import plural


class DemoFailure(RuntimeError):
    pass


class DemoParamsForm(forms.Form):
    steps = forms.IntegerField(min_value=1, max_value=1000, initial=5, help_text="How many steps to take.")
    step_seconds = forms.FloatField(
        min_value=0, max_value=60, initial=1.0, help_text="Seconds each step sleeps."
    )
    fail_at_step = forms.IntegerField(
        min_value=0, max_value=1000, initial=0, help_text="Fail at this step (0: never fail)."
    )
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=42, help_text="Seeds the values produced.")


# A step sleeps in slices this long, looking for a cancel between them.
SLEEP_SLICE = 0.25


def _sleep(ctx: RunContext, seconds: float) -> None:
    """Sleep `seconds`, stopping within a slice when the run is cancelled or fenced."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(SLEEP_SLICE, left))
        ctx.check_cancelled()


def execute_demo(run: Run, ctx: RunContext) -> None:
    params = run.params
    steps = params["steps"]
    rng = random.Random(params["seed"])
    values: list[float] = []
    ctx.log(f"Demo run: {plural(steps, 'step')} of {params['step_seconds']} s")
    for step in range(1, steps + 1):
        _sleep(ctx, params["step_seconds"])
        if step == params["fail_at_step"]:
            raise DemoFailure(f"failed at step {step} as asked")
        values.append(round(rng.gauss(100.0, 15.0), 6))
        if step == steps // 2 and steps > 2:
            ctx.warning(f"Half-way: step {step} of {steps}")
        ctx.progress(100 * step / steps, f"Step {step}/{steps}: value {values[-1]:.2f}")
    result = json.dumps({"values": values}, sort_keys=True).encode()
    ctx.save_artifact("result.json", result, "application/json")
    ctx.set_metrics({"steps": steps, "mean": round(sum(values) / len(values), 6), "max": max(values)})


DEMO = register(
    RunKind(
        name="demo",
        label="Demo",
        params_form=DemoParamsForm,
        execute=execute_demo,
        description="Sleeps in steps and logs: shows the lifecycle of a run. Produces nothing of value.",
        is_demo=True,
    )
)
