"""Reads of the simulations app: a run's results, its panel, its integrity checks."""
from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.db.models import Count
from django.utils.dateparse import parse_datetime

from runs.artifacts import artifact_read
from runs.models import Run, RunStatus
from simulations import conf
from simulations.models import SimulationChunk
from simulations.params import spec_from_params
from simulations.results import AGGREGATES, checks, layout

# Labels of the parameters, in the order people read them.
PARAMETER_LABELS = {
    "seed": "seed",
    "n_positions": "positions",
    "total_assets_eur": "total assets (EUR)",
    "off_balance_ratio": "off-balance ratio",
    "derivative_ratio": "derivative ratio",
    "include_off_balance": "off-balance items",
    "include_derivatives": "derivatives",
    "countercyclical_buffer": "countercyclical buffer",
}


def simulation_documents(*, run: Run) -> dict[str, Any] | None:
    """The run's aggregate documents by file name, or None if one of them is gone."""
    artifacts = {a.name: a for a in run.artifacts.filter(name__in=list(AGGREGATES))}
    if len(artifacts) != len(AGGREGATES):
        return None
    return {name: json.loads(artifact_read(artifact)) for name, artifact in artifacts.items()}


def report_parameters(*, run: Run) -> list[tuple[str, Any]]:
    """What the results depend on, as (label, value) rows; nothing specific to one run."""
    spec = spec_from_params(run.params)
    params = spec.run_params()
    rows: list[tuple[str, Any]] = [(label, params[name]) for name, label in PARAMETER_LABELS.items()]
    rows.append(("params hash", (run.metrics.get("cache") or {}).get("params_hash", "")))
    rows.append(("engine version", conf.ENGINE_VERSION))
    return rows


def _table_rows(by_category: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    return [{"name": name.replace("_", " "), **values} for name, values in by_category.items()]


def results_context(documents: dict[str, Any]) -> dict[str, Any]:
    """What the results templates show, from the aggregate documents (a run's or an upload's)."""
    lcr, nsfr, capital = documents["lcr.json"], documents["nsfr.json"], documents["capital.json"]
    rwa_by_class = documents["rwa_by_class.json"]
    stats = documents["stats_by_product.json"]
    weighted_stats = [row for row in stats if row["ead"] or row["rwa"]]
    return {
        "summary": documents["summary.json"],
        "checks": checks(capital, lcr, nsfr),
        "rwa_by_class": rwa_by_class,
        "stats_by_product": stats,
        "lcr": lcr,
        "lcr_levels": _table_rows(lcr["hqla"]["levels"]),
        "lcr_outflows": _table_rows(lcr["outflows"]["by_category"]),
        "lcr_inflows": _table_rows(lcr["inflows"]["by_category"]),
        "nsfr": nsfr,
        "nsfr_asf": _table_rows(nsfr["asf"]["by_factor"]),
        "nsfr_rsf": _table_rows(nsfr["rsf"]["by_factor"]),
        "nsfr_rsf_off_balance": _table_rows(nsfr["rsf"]["off_balance_by_factor"]),
        "capital": capital,
        "charts": {
            "rwa_by_class": {
                "labels": [r["exposure_class"].replace("_", " ") for r in rwa_by_class],
                "ead": [r["ead"] for r in rwa_by_class],
                "rwa": [r["rwa"] for r in rwa_by_class],
            },
            "stats_by_product": {
                "labels": [r["product"].replace("_", " ") for r in weighted_stats],
                "notional": [r["notional"] for r in weighted_stats],
                "ead": [r["ead"] for r in weighted_stats],
                "rwa": [r["rwa"] for r in weighted_stats],
            },
            "lcr": {
                "labels": ["HQLA", "Outflows", "Inflows recognised", "Net outflows"],
                "values": [
                    lcr["hqla"]["total"], lcr["outflows"]["total"], lcr["inflows"]["recognised"], lcr["net_outflows"],
                ],
            },
            "nsfr": {
                "labels": ["Available stable funding", "Required stable funding"],
                "values": [nsfr["asf"]["total"], nsfr["rsf"]["total"]],
            },
        },
    }


def simulation_panel(*, run: Run) -> dict[str, Any]:
    """Everything the simulation panel of the run page shows."""
    cache = run.metrics.get("cache") or {}
    panel: dict[str, Any] = {
        "ready": run.status == RunStatus.SUCCEEDED,
        "cache": cache,
        "computed_at": parse_datetime(cache["computed_at"]) if cache.get("computed_at") else None,
    }
    chunks = (
        SimulationChunk.objects.filter(run=run).values("worker").annotate(n=Count("pk")).order_by("worker")
    )
    panel["chunks"] = [{"worker": c["worker"] or "—", "chunks": c["n"]} for c in chunks]
    if not panel["ready"]:
        return panel
    documents = simulation_documents(run=run)
    if documents is None:
        panel["missing"] = True
        return panel
    panel.update(results_context(documents))
    panel["downloads"] = [
        {"name": a.name, "size": a.size_bytes, "content_type": a.content_type, "sha256": a.sha256}
        for a in run.artifacts.order_by("name")
    ]
    return panel


# Columns that may never be empty: the format's required ones, and the weights.
REQUIRED_COLUMNS = {
    "positions": ("position_id", "product", "notional"),
    "explain": ("position_id", "product", "ead", "rwa"),
}


def simulation_integrity(*, run: Run) -> list[tuple[str, bool, str]]:
    """The simulation's own checks for the run core's validation panel.

    Reads the Parquet files back from the store: their row counts against the
    run's n_positions, and no null or NaN in the required columns.
    """
    spec = spec_from_params(run.params)
    files = layout(spec.n_positions, conf.PART_ROWS)
    artifacts = {a.name: a for a in run.artifacts.all()}
    missing = [f.name for f in files if f.name not in artifacts]
    results = [("Result files complete", not missing,
                f"missing: {', '.join(missing[:5])}" if missing else f"{len(files)} files")]
    expected = run.metrics.get("n_positions")
    bad: list[str] = []
    for table, columns in REQUIRED_COLUMNS.items():
        rows = 0
        for file in files:
            if file.kind != table or file.name not in artifacts:
                continue
            frame = pq.read_table(pa.BufferReader(artifact_read(artifacts[file.name])), columns=list(columns))
            rows += frame.num_rows
            for name in columns:
                column = frame.column(name)
                empty = column.null_count > 0
                if pa.types.is_floating(column.type):
                    empty = empty or bool(pc.any(pc.is_nan(column)).as_py())
                if empty:
                    bad.append(f"{file.name}:{name}")
        results.append((
            f"{table.capitalize()} rows match n_positions",
            rows == expected,
            f"{rows:,} rows in the Parquet files, the metrics say {expected if expected is None else f'{expected:,}'}",
        ))
    results.append(("No null or NaN in required columns", not bad, ", ".join(bad[:10]) if bad else "none found"))
    return results
