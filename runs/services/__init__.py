"""Writes of the run core, one module per concern; the names below are the public API."""
from runs.services.annotate import run_annotate, run_clone, runs_set_favourite, runs_tag
from runs.services.lifecycle import (
    run_cancel,
    run_create,
    run_execute,
    run_fail,
    run_finish,
    run_log,
    run_start,
    run_validate_params,
    runs_reap_stale,
    runs_recover_pending,
)

__all__ = [
    "run_annotate",
    "run_clone",
    "runs_set_favourite",
    "runs_tag",
    "run_cancel",
    "run_create",
    "run_execute",
    "run_fail",
    "run_finish",
    "run_log",
    "run_start",
    "run_validate_params",
    "runs_reap_stale",
    "runs_recover_pending",
]
