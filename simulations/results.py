"""The result files of a simulation and the figures shown from them.

Pure: numpy, pandas and the engine, no Django, so a separate process can
reproduce a run's bytes (and its checksum) from the parameters alone.

A simulation stores six JSON documents (the aggregates) and two tables, the
positions and their per-position breakdown ("explain"), each in parts of
``part_rows`` rows. Every file is a deterministic function of the parameters
and, for a part, of its number: that is what lets parts be computed by
different workers and still give the bytes of a single-process run.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import pandas as pd

from simulations.engine import MetricsResult, RegulatorySettings, compute_metrics, frame_to_parquet_bytes

PARQUET_TYPE = "application/vnd.apache.parquet"
JSON_TYPE = "application/json"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Aggregate documents: file name -> cache kind.
AGGREGATES: dict[str, str] = {
    "summary.json": "summary",
    "rwa_by_class.json": "rwa",
    "stats_by_product.json": "stats",
    "lcr.json": "lcr",
    "nsfr.json": "nsfr",
    "capital.json": "ratios",
}
TABLES = ("positions", "explain")


@dataclass(frozen=True)
class ResultFile:
    """One file of a simulation's results."""

    name: str
    kind: str
    part: int
    format: str
    data: bytes
    rows: int | None = None

    @property
    def content_type(self) -> str:
        return PARQUET_TYPE if self.format == "parquet" else JSON_TYPE


# ---------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------
def part_ranges(n_positions: int, part_rows: int) -> list[tuple[int, int]]:
    """Row ranges [start, stop) of the parts of an n-row table."""
    return [(start, min(start + part_rows, n_positions)) for start in range(0, n_positions, part_rows)]


def part_name(table: str, part: int, n_parts: int) -> str:
    """positions.parquet for a one-part table, positions-00001-of-00005.parquet otherwise."""
    if n_parts == 1:
        return f"{table}.parquet"
    return f"{table}-{part:05d}-of-{n_parts:05d}.parquet"


@dataclass(frozen=True)
class FileSpec:
    """Where one result file sits in a simulation's layout."""

    name: str
    kind: str
    part: int
    format: str
    rows: int | None = None


def layout(n_positions: int, part_rows: int) -> list[FileSpec]:
    """Every file a simulation of this size produces: the aggregates, then the parts of each table."""
    ranges = part_ranges(n_positions, part_rows)
    files = [FileSpec(name, kind, 0, "json") for name, kind in AGGREGATES.items()]
    for table in TABLES:
        files += [
            FileSpec(part_name(table, part, len(ranges)), table, part, "parquet", stop - start)
            for part, (start, stop) in enumerate(ranges)
        ]
    return files


# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars as Python numbers, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_bytes(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no spaces, NaN refused (it is None by then)."""
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return plain(frame.to_dict(orient="records"))


def aggregate_documents(result: MetricsResult) -> dict[str, Any]:
    """The aggregate results as JSON-ready objects, by file name."""
    return {
        "summary.json": plain(result.summary),
        "rwa_by_class.json": records(result.rwa_by_class),
        "stats_by_product.json": records(result.stats_by_product),
        "lcr.json": plain(result.lcr),
        "nsfr.json": plain(result.nsfr),
        "capital.json": plain(result.capital),
    }


def aggregate_files(result: MetricsResult) -> list[ResultFile]:
    return [
        ResultFile(name=name, kind=AGGREGATES[name], part=0, format="json", data=json_bytes(document))
        for name, document in aggregate_documents(result).items()
    ]


def part_files(
    positions: pd.DataFrame,
    part: int,
    n_parts: int,
    part_rows: int,
    *,
    explain: pd.DataFrame | None = None,
    capital: Any = None,
    settings: RegulatorySettings | None = None,
    first_row: int = 0,
) -> list[ResultFile]:
    """The positions and explain files of one part.

    `positions` (and `explain`) hold the book's rows from `first_row` on: the
    whole book, or only some of its rows. `explain` is their breakdown when
    the caller has it; otherwise the part's rows are weighed on their own
    (capital and settings needed). Both give the same bytes: every column of
    the breakdown depends on its own row only.
    """
    start, stop = part * part_rows, min((part + 1) * part_rows, first_row + len(positions))
    if start < first_row or stop <= start:
        raise ValueError(f"part {part} is not within rows {first_row}..{first_row + len(positions)}")
    rows = positions.iloc[start - first_row:stop - first_row]
    if explain is None:
        explain_rows = compute_metrics(rows, capital, settings).explain
    else:
        explain_rows = explain.iloc[start - first_row:stop - first_row]
    return [
        ResultFile(part_name("positions", part, n_parts), "positions", part, "parquet",
                   frame_to_parquet_bytes(rows), stop - start),
        ResultFile(part_name("explain", part, n_parts), "explain", part, "parquet",
                   frame_to_parquet_bytes(explain_rows), stop - start),
    ]


def all_files(positions: pd.DataFrame, result: MetricsResult, part_rows: int) -> Iterator[ResultFile]:
    """Every result file of a simulation computed in one process."""
    yield from aggregate_files(result)
    n_parts = len(part_ranges(len(positions), part_rows))
    for part in range(n_parts):
        yield from part_files(positions, part, n_parts, part_rows, explain=result.explain)


def checksum(files: list[tuple[str, bytes]]) -> str:
    """SHA-256 over the files' bytes in name order: what the run core records as a run's checksum."""
    digest = hashlib.sha256()
    for _, data in sorted(files, key=lambda item: item[0]):
        digest.update(data)
    return digest.hexdigest()


# ---------------------------------------------------------------------------
# Figures shown from the results
# ---------------------------------------------------------------------------
def run_metrics(summary: dict[str, Any], rwa_by_class: list[dict], stats_by_product: list[dict]) -> dict[str, Any]:
    """The figures kept on the run: headline numbers and the two breakdowns, with no nulls.

    A ratio with no denominator (an LCR without outflows) is left out rather
    than stored as null.
    """
    def without_nulls(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in plain(row).items() if v is not None}

    return {
        **without_nulls(summary),
        "rwa_by_class": [without_nulls(r) for r in rwa_by_class],
        "stats_by_product": [
            without_nulls({k: r.get(k) for k in ("product", "side", "count", "notional", "ead", "rwa")})
            for r in stats_by_product
        ],
    }


def checks(capital: dict[str, Any], lcr: dict[str, Any], nsfr: dict[str, Any]) -> list[dict[str, Any]]:
    """Each regulatory ratio against its minimum (and its requirement with buffers)."""
    rows = []
    for key, label in (("cet1", "CET1 ratio"), ("tier1", "Tier 1 ratio"), ("total", "Total capital ratio")):
        rows.append({
            "measure": label,
            "value": capital["ratios"][key],
            "minimum": capital["requirements"][key]["minimum"],
            "with_buffers": capital["requirements"][key]["with_buffers"],
            "pass_minimum": capital["pass"][f"{key}_minimum"],
            "pass_buffers": capital["pass"][f"{key}_with_buffers"],
        })
    leverage = capital["leverage"]
    rows.append({"measure": "Leverage ratio", "value": leverage["ratio"], "minimum": leverage["minimum"],
                 "with_buffers": None, "pass_minimum": leverage["pass"], "pass_buffers": None})
    for label, doc in (("LCR", lcr), ("NSFR", nsfr)):
        rows.append({"measure": label, "value": doc["ratio"], "minimum": doc["minimum"],
                     "with_buffers": None, "pass_minimum": doc["pass"], "pass_buffers": None})
    return rows


def simulation_checksum(seed: int, n_positions: int, config: dict[str, Any], part_rows: int,
                        settings: dict[str, Any] | None = None) -> str:
    """The checksum a simulation run with these parameters records, computed from scratch.

    `config` and `settings` are partial dicts of SimulationConfig and
    RegulatorySettings fields; give settings numbers as floats, as a run does.
    """
    from simulations.engine import SimulationConfig, generate_portfolio

    sim_config = SimulationConfig.from_dict(config)
    regulatory = RegulatorySettings.from_dict(settings or {})
    positions = generate_portfolio(seed, n_positions, sim_config)
    result = compute_metrics(positions, sim_config.capital_stack(), regulatory)
    return checksum([(f.name, f.data) for f in all_files(positions, result, part_rows)])
