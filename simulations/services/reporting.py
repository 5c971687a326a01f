"""The Excel report of a simulation run, cached by the exact result bytes it is built from.

A report is a function of a run's result documents (and of its parameters, shown
on the Summary sheet), so its cache key is the run's checksum within its parameter
set: a run whose bytes differ can never be served another run's workbook. Only
runs our engine computed, and that succeeded, have their report cached or served
from the cache. An imported run's report is built from its own bytes each time and
never kept; a data-only import (a Parquet table) has none.
"""
from __future__ import annotations

import logging

from runs.models import Run, RunStatus
from simulations.models import CachedResult, ParameterSet
from simulations.params import spec_from_params
from simulations.report import build_report
from simulations.results import FileSpec
from simulations.selectors import SimulationResultsInvalid, report_parameters, simulation_documents
from simulations.services.cache import (
    CacheEntryInvalid,
    UntrustedSource,
    cached_entry_trust,
    cached_result_drop,
    cached_result_drop_untrusted,
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


def _build(run: Run) -> bytes:
    try:
        documents = simulation_documents(run=run, verify=True)
    except SimulationResultsInvalid as exc:
        raise ReportUnavailable(f"{run.run_id}: {exc}") from None
    if documents is None:
        raise ReportUnavailable(f"{run.run_id} has lost its result files")
    try:
        return build_report(documents, report_parameters(run=run))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReportUnavailable(f"{run.run_id}: its result documents are not those of a simulation ({exc!r})") from None


def simulation_report_get(*, run: Run) -> tuple[bytes, bool]:
    """The run's workbook and whether it came from the cache.

    A cached workbook is served only to an engine run whose checksum is the one it
    was built from, and only if the run that built it was an engine run too; it is
    checked against its SHA-256 like every cached result, and a bad one is dropped
    and built again.
    """
    if run.status != RunStatus.SUCCEEDED:
        raise ReportUnavailable(f"{run.run_id} has no results ({run.get_status_display().lower()})")
    if run.is_data_only:
        raise ReportUnavailable(f"{run.run_id} is an imported table of data only: it has no report")
    if run.is_imported:
        # Untrusted bytes: a report of its own, built now, kept nowhere.
        return _build(run), False
    parameter_set = _parameter_set_of(run) if run.checksum else None
    if parameter_set is not None:
        entry = CachedResult.objects.filter(
            parameter_set=parameter_set, kind=REPORT_FILE.kind, part=0, results_checksum=run.checksum
        ).first()
        if entry is not None and cached_entry_trust(entry) != "trusted":
            logger.warning("cached report %s was not built by an engine run: dropped", entry)
            cached_result_drop_untrusted(entry=entry)
            entry = None
        if entry is not None:
            try:
                data = cached_result_read(entry)
            except CacheEntryInvalid as exc:
                logger.warning("cached report %s is corrupted (%s): building it again", entry, exc)
                cached_result_drop(entry=entry)
            else:
                cached_results_record_hit(entries=[entry])
                return data, True
    data = _build(run)
    if parameter_set is not None:
        try:
            cached_result_store_bytes(
                parameter_set=parameter_set, file=REPORT_FILE, data=data, source_run=run, results_checksum=run.checksum
            )
        except UntrustedSource as exc:  # served, not kept
            logger.warning("report of %s not cached: %s", run.run_id, exc)
    return data, False
