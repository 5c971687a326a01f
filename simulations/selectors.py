"""Reads of the simulations app: a run's results, its panel, its integrity checks."""
from __future__ import annotations

import hashlib
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
from simulations.results import AGGREGATES, checks, layout, run_metrics

# Keys the executor adds to a run's metrics beside the figures of its documents.
RUN_METRICS_EXTRA = ("cache", "parts", "chunks")

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


class SimulationResultsInvalid(ValueError):
    """The stored documents are not what a simulation wrote: altered bytes, or not its JSON."""


def simulation_documents(*, run: Run, verify: bool = False) -> dict[str, Any] | None:
    """The run's aggregate documents by file name, or None if one of them is gone.

    With `verify`, each document's bytes are checked against the SHA-256 recorded
    for them and must be a JSON document; SimulationResultsInvalid says which is not.
    """
    artifacts = {a.name: a for a in run.artifacts.filter(name__in=list(AGGREGATES))}
    if len(artifacts) != len(AGGREGATES):
        return None
    documents: dict[str, Any] = {}
    for name, artifact in artifacts.items():
        try:
            data = artifact_read(artifact)
        except FileNotFoundError:
            return None
        if verify and hashlib.sha256(data).hexdigest() != artifact.sha256:
            raise SimulationResultsInvalid(f"the stored bytes of {name} no longer match their SHA-256")
        try:
            documents[name] = json.loads(data)
        except ValueError as exc:
            raise SimulationResultsInvalid(f"{name} is not a JSON document ({exc})") from None
    return documents


def report_parameters(*, run: Run) -> list[tuple[str, Any]]:
    """What the results depend on, as (label, value) rows; nothing specific to one run."""
    spec = spec_from_params(run.params)
    params = spec.run_params()
    # Switches are settings ("included"/"excluded"), not verdicts: the report shows them so.
    rows: list[tuple[str, Any]] = [
        (label, ("included" if params[name] else "excluded") if isinstance(params[name], bool) else params[name])
        for name, label in PARAMETER_LABELS.items()
    ]
    # Every regulatory setting in force, defaults included: a reader needs no other page to know them.
    for name, value in spec.settings.to_dict().items():
        if name not in PARAMETER_LABELS:
            rows.append((f"setting: {name.replace('_', ' ')}", "—" if value is None else value))
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
    panel["imported"] = run.is_imported
    panel["data_only"] = run.is_data_only
    if not panel["ready"] or run.is_data_only:
        # A data-only import (a Parquet table) holds no simulation documents: nothing to show here.
        return panel
    try:
        documents = simulation_documents(run=run)
        if documents is None:
            panel["missing"] = True
            return panel
        panel.update(results_context(documents))
    except (SimulationResultsInvalid, KeyError, TypeError, ValueError, AttributeError) as exc:
        # Only an imported run can get here (its documents are checked at import, but older
        # imports were not): the page says so instead of failing.
        panel["invalid"] = f"its result documents are not those of a simulation ({exc!r})"
        return panel
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
    if run.is_data_only:
        return _data_only_integrity(run)
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
    key = (run.metrics.get("cache") or {}).get("params_hash")
    if key and not run.is_imported:
        # What the cache would serve for these parameters (and their report) must be engine results.
        untrusted = cache_trust_problems(params_hash=key)
        results.append((
            "Cache entries of its parameters computed here", not untrusted,
            "; ".join(untrusted[:3]) if untrusted else "every entry was computed by a succeeded engine run",
        ))
    return results


def _data_only_integrity(run: Run) -> list[tuple[str, bool, str]]:
    """A data-only import is a table, not a simulation: say so, and check the table reads."""
    results = [("Data only", True, "an imported table of results: no parameters, metrics or report to check")]
    for artifact in run.artifacts.order_by("name"):
        try:
            rows = pq.ParquetFile(pa.BufferReader(artifact_read(artifact))).metadata.num_rows
        except (pa.ArrowException, OSError, ValueError) as exc:
            results.append((f"{artifact.name} readable", False, f"not readable as Parquet: {exc}"))
        else:
            results.append((f"{artifact.name} readable", True, f"{rows:,} rows"))
    return results


def cache_trust_problems(*, params_hash: str | None = None) -> list[str]:
    """Cache entries that are not engine results (for verify_checksums and the validation panel):
    produced by an imported run or by a run that did not succeed, or a report kept under another
    checksum than its producer's. All entries, or those of one parameter set."""
    from runs.models import RunOrigin
    from simulations.models import CachedResult

    problems: list[str] = []
    entries = CachedResult.objects.filter(source_run__isnull=False).select_related("source_run", "parameter_set")
    if params_hash is not None:
        entries = entries.filter(parameter_set__params_hash=params_hash)
    for entry in entries.iterator(chunk_size=500):
        run = entry.source_run
        where = f"cache entry {entry.name} of params hash {entry.parameter_set.params_hash[:12]}…"
        if run.origin != RunOrigin.IMPORT and run.status == RunStatus.SUCCEEDED:
            if entry.kind == "report" and entry.results_checksum != run.checksum:
                problems.append(f"{where}: a report kept under checksum {entry.results_checksum[:12] or '(none)'}…, "
                                f"not that of {run.run_id}")
            continue
        reason = "was imported" if run.origin == RunOrigin.IMPORT else f"is {run.status.lower()}"
        problems.append(f"{where}: produced by {run.run_id}, which {reason}: not computed by this installation's "
                        "engine for a run that succeeded; it is never served and is dropped when next looked up")
    return problems


def simulation_import_problems(*, run: Run) -> list[str]:
    """What an imported simulation run lacks for its page, report and clones: empty when nothing.

    A data-only import (a Parquet table) needs nothing more. Any other needs launch
    parameters the form accepts and, if it succeeded, the six result documents, each
    intact and holding what the panel and the report read.
    """
    from simulations.params import SimulationParamsForm
    from simulations.report import build_report

    if run.is_data_only:
        return []
    problems: list[str] = []
    # A parameter the export lacks takes the form's initial value, as spec_from_params does.
    initials = {name: field.initial for name, field in SimulationParamsForm.base_fields.items()}
    form = SimulationParamsForm(data={**initials, **run.params})
    if not form.is_valid():
        for name, errors in form.errors.items():
            where = "params" if name == "__all__" else f"params.{name}"
            problems.append(f"{where}: {' '.join(errors)}")
        return problems
    if run.status != RunStatus.SUCCEEDED:
        return problems
    names = set(run.artifacts.values_list("name", flat=True))
    missing = [name for name in AGGREGATES if name not in names]
    if missing:
        return [f"the result documents {', '.join(missing)} are missing"]
    # Every file a simulation of its size writes: otherwise its page lists files its checks call missing.
    expected_files = [f.name for f in layout(form.cleaned_data["n_positions"], conf.PART_ROWS)]
    absent = [name for name in expected_files if name not in names]
    if absent:
        more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
        return [f"the result files {', '.join(absent[:5])}{more} are missing"]
    try:
        documents = simulation_documents(run=run, verify=True)
        if documents is None:
            return ["the result documents cannot be read"]
        results_context(documents)
        build_report(documents, report_parameters(run=run))
        # The figures lists and comparisons read from the metrics must be those of the documents.
        expected = run_metrics(
            documents["summary.json"], documents["rwa_by_class.json"], documents["stats_by_product.json"]
        )
        given = {key: value for key, value in run.metrics.items() if key not in RUN_METRICS_EXTRA}
        if given != expected:
            differing = sorted(k for k in set(given) | set(expected) if given.get(k) != expected.get(k))
            problems.append(f"its metrics do not match its result documents ({', '.join(differing[:5])})")
        if documents["summary.json"]["n_positions"] != form.cleaned_data["n_positions"]:
            problems.append("its results do not hold the number of positions its parameters ask for")
    except SimulationResultsInvalid as exc:
        problems.append(str(exc))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        problems.append(f"the result documents lack what a simulation's page and report read ({exc!r})")
    return problems
