"""The Excel report of a simulation run, built once per parameter set and cached."""
from __future__ import annotations

import logging

from runs.models import Run, RunStatus
from simulations.models import CachedResult, ParameterSet
from simulations.params import spec_from_params
from simulations.report import build_report
from simulations.results import FileSpec
from simulations.selectors import report_parameters, simulation_documents
from simulations.services.cache import (
    CacheEntryInvalid,
    cached_result_drop,
    cached_result_read,
    cached_result_store_bytes,
    cached_results_record_hit,
    parameter_set_get_or_create,
)

logger = logging.getLogger(__name__)

REPORT_FILE = FileSpec("report.xlsx", CachedResult.Kind.REPORT, 0, "xlsx")


class ReportUnavailable(Exception):
    """The run has no results to report on."""


def _parameter_set_of(run: Run) -> ParameterSet | None:
    """The parameter set the run's results belong to, or None if it cannot be known any more."""
    recorded = (run.metrics.get("cache") or {}).get("params_hash", "")
    found = ParameterSet.objects.filter(params_hash=recorded).first()
    if found is not None:
        return found
    spec = spec_from_params(run.params)
    # Evicted: recreate it only if today's code would give the run's key (same engine and writer).
    return parameter_set_get_or_create(spec=spec) if spec.cache_key() == recorded else None


def simulation_report_get(*, run: Run) -> tuple[bytes, bool]:
    """The run's workbook and whether it came from the cache.

    A cached workbook is checked against its SHA-256 like every cached result;
    a bad one is dropped and built again.
    """
    if run.status != RunStatus.SUCCEEDED:
        raise ReportUnavailable(f"{run.run_id} has no results ({run.get_status_display().lower()})")
    parameter_set = _parameter_set_of(run)
    if parameter_set is not None:
        entry = CachedResult.objects.filter(parameter_set=parameter_set, kind=REPORT_FILE.kind, part=0).first()
        if entry is not None:
            try:
                data = cached_result_read(entry)
            except CacheEntryInvalid as exc:
                logger.warning("cached report %s is corrupted (%s): building it again", entry, exc)
                cached_result_drop(entry=entry)
            else:
                cached_results_record_hit(entries=[entry])
                return data, True
    documents = simulation_documents(run=run)
    if documents is None:
        raise ReportUnavailable(f"{run.run_id} has lost its result files")
    data = build_report(documents, report_parameters(run=run))
    if parameter_set is not None:
        cached_result_store_bytes(parameter_set=parameter_set, file=REPORT_FILE, data=data, source_run=run)
    return data, False
