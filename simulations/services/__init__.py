"""Writes of the simulations app; the names below are its public API."""
from simulations.services.cache import (
    CacheEntryInvalid,
    Eviction,
    cache_evict,
    cache_paths_held,
    cached_result_drop,
    cached_result_read,
    parameter_set_get_or_create,
)
from simulations.services.execution import simulation_chunk_execute, simulation_execute, simulation_in_process
from simulations.services.reporting import ReportUnavailable, simulation_report_get

__all__ = [
    "CacheEntryInvalid",
    "Eviction",
    "ReportUnavailable",
    "cache_evict",
    "cache_paths_held",
    "cached_result_drop",
    "cached_result_read",
    "parameter_set_get_or_create",
    "simulation_chunk_execute",
    "simulation_execute",
    "simulation_in_process",
    "simulation_report_get",
]
