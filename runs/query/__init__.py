"""The run query language: filters and sorts over attributes, tags, metrics and params.

    kind = simulation AND metrics.lcr > 1.5
    status IN (FAILED, CANCELLED) AND created > -7d
    run_id ^= "run_2026" OR tag = nightly
    params.mix = "retail" AND NOT params.positions < 100000

See docs/search.md. `compile_filter` and `compile_order` are the entry points for
every surface (run list page and API, CSV, MLflow-compatible search).
"""
from runs.query.compiler import CompiledFilter, CompiledOrder, compile_filter, compile_order
from runs.query.errors import QueryError

__all__ = ["CompiledFilter", "CompiledOrder", "QueryError", "compile_filter", "compile_order"]
