"""Reads of the run core. Visibility always comes from Run.objects.visible_to(user)."""
from runs.selectors.core import run_get, run_latest, run_list, run_logs, run_status_counts

__all__ = ["run_get", "run_latest", "run_list", "run_logs", "run_status_counts"]
