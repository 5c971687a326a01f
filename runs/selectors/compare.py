"""Reads behind comparisons: runs side by side, and saved comparisons.

The first run is the baseline: Δ and Δ% of every other run are against it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from runs.kinds import UnknownKindError, get_kind
from runs.models import Run, RunComparison

COMPARE_MIN_RUNS = 2
COMPARE_MAX_RUNS = 10
BY_PRODUCT_KEY = "stats_by_product"
BY_PRODUCT_FIELDS = ("count", "notional", "ead", "rwa")
_MISSING = "—"


@dataclass(frozen=True)
class Row:
    """A parameter or metadata line: one display value per run."""

    name: str
    values: list[Any]
    differs: bool


@dataclass(frozen=True)
class NumberRow:
    """A metric line: one value per run, with Δ and Δ% against the first run."""

    name: str
    values: list[Any]
    deltas: list[float | None]
    delta_pcts: list[float | None]
    differs: bool
    numeric: bool = True

    @property
    def cells(self) -> list[tuple[Any, float | None, float | None]]:
        return list(zip(self.values, self.deltas, self.delta_pcts))


@dataclass(frozen=True)
class ProductRow(NumberRow):
    product: str = ""


@dataclass
class Comparison:
    runs: list[Run]
    metadata: list[Row] = field(default_factory=list)
    params: list[Row] = field(default_factory=list)
    metrics: list[NumberRow] = field(default_factory=list)
    by_product: list[ProductRow] = field(default_factory=list)

    @property
    def run_ids(self) -> list[str]:
        return [run.run_id for run in self.runs]

    @property
    def chart(self) -> dict[str, Any]:
        """Grouped bars of the numeric metrics, one dataset per run (Chart.js data)."""
        rows = [row for row in self.metrics if row.numeric]
        return {
            "labels": [row.name for row in rows],
            "datasets": [
                {"label": run.run_id, "data": [row.values[i] for row in rows]} for i, run in enumerate(self.runs)
            ],
        }

    @property
    def product_chart(self) -> dict[str, Any]:
        """Grouped bars of RWA by product, one dataset per run."""
        rows = [row for row in self.by_product if row.name == "rwa"]
        return {
            "labels": [row.product for row in rows],
            "datasets": [
                {"label": run.run_id, "data": [row.values[i] for row in rows]} for i, run in enumerate(self.runs)
            ],
        }

    def as_dict(self) -> dict[str, Any]:
        def number_row(row: NumberRow) -> dict[str, Any]:
            return {
                "name": row.name, "values": row.values, "deltas": row.deltas,
                "delta_pcts": row.delta_pcts, "differs": row.differs, "numeric": row.numeric,
            }

        return {
            "runs": self.run_ids,
            "baseline": self.run_ids[0],
            "metadata": [{"name": r.name, "values": r.values, "differs": r.differs} for r in self.metadata],
            "params": [{"name": r.name, "values": r.values, "differs": r.differs} for r in self.params],
            "metrics": [number_row(r) for r in self.metrics],
            "by_product": [{"product": r.product, **number_row(r)} for r in self.by_product],
        }


# ---------------------------------------------------------------------------
# Picking the runs
# ---------------------------------------------------------------------------
def runs_for_comparison(*, user: Any, run_ids: Sequence[str]) -> list[Run]:
    """The runs with these ids (human ids or UUIDs), in the order given.

    ValidationError unless there are 2 to 10 distinct ids; Http404 naming the ids
    that do not exist or that the user may not see (the two look the same).
    """
    wanted = list(dict.fromkeys(str(r).strip() for r in run_ids if str(r).strip()))
    if not COMPARE_MIN_RUNS <= len(wanted) <= COMPARE_MAX_RUNS:
        raise ValidationError(
            f"Pick {COMPARE_MIN_RUNS} to {COMPARE_MAX_RUNS} different runs to compare (got {len(wanted)})."
        )
    uuids = [r for r in wanted if len(r) == 36 and r.count("-") == 4]
    found = (
        Run.objects.visible_to(user)
        .filter(run_id__in=wanted)
        .select_related("owner", "parent")
        .prefetch_related("tags")
    )
    if uuids:
        found = found | Run.objects.visible_to(user).filter(pk__in=uuids)
    by_key: dict[str, Run] = {}
    for run in found:
        by_key[run.run_id] = run
        by_key[str(run.pk)] = run
    missing = [r for r in wanted if r not in by_key]
    if missing:
        raise Http404(f"No such run: {', '.join(missing)}")
    return list({by_key[r].pk: by_key[r] for r in wanted}.values())


# ---------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------
def run_compare(*, user: Any, run_ids: Sequence[str]) -> Comparison:
    """Compare 2 to 10 runs the user may see: metadata, parameters, metrics, by product."""
    runs = runs_for_comparison(user=user, run_ids=run_ids)
    return Comparison(
        runs=runs,
        metadata=_metadata_rows(runs),
        params=_param_rows(runs),
        metrics=_metric_rows(runs),
        by_product=_product_rows(runs),
    )


def _kind_label(name: str) -> str:
    try:
        kind = get_kind(name)
    except UnknownKindError:
        return name
    return f"{kind.label} (demo)" if kind.is_demo else kind.label


def _metadata_rows(runs: list[Run]) -> list[Row]:
    def fmt_time(value: Any) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S") if value else _MISSING

    columns: list[tuple[str, Any]] = [
        ("Kind", lambda r: _kind_label(r.kind)),
        ("Status", lambda r: r.status),
        ("Trigger", lambda r: r.trigger),
        ("Owner", lambda r: r.owner.username if r.owner else _MISSING),
        ("Created", lambda r: fmt_time(r.created_at)),
        ("Finished", lambda r: fmt_time(r.finished_at)),
        ("Duration (s)", lambda r: r.duration_seconds if r.duration_seconds is not None else _MISSING),
        ("Seed", lambda r: r.seed if r.seed is not None else _MISSING),
        ("Parameters hash", lambda r: r.params_hash),
        ("Checksum", lambda r: r.checksum or _MISSING),
        ("Parent", lambda r: r.parent.run_id if r.parent else _MISSING),
        ("Tags", lambda r: ", ".join(t.name for t in r.tags.all()) or _MISSING),
        ("Favourite", lambda r: "yes" if r.is_favourite else "no"),
        ("Code version", lambda r: r.code_version or _MISSING),
    ]
    rows = []
    for name, get in columns:
        values = [get(run) for run in runs]
        # Creation times always differ; flag them only as information, not as a difference.
        differs = name not in {"Created", "Finished"} and len({json.dumps(v, default=str) for v in values}) > 1
        rows.append(Row(name=name, values=values, differs=differs))
    return rows


def _same(values: list[Any]) -> bool:
    return len({json.dumps(v, sort_keys=True, default=str) for v in values}) <= 1


def _param_rows(runs: list[Run]) -> list[Row]:
    names = sorted({name for run in runs for name in run.params})
    rows = []
    for name in names:
        values = [run.params.get(name, _MISSING) for run in runs]
        rows.append(Row(name=name, values=values, differs=not _same(values)))
    return rows


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _flatten(metrics: dict[str, Any], prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """Nested metric dicts become dotted names (capital.cet1_ratio), three levels deep."""
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and depth < 3:
            flat.update(_flatten(value, f"{name}.", depth + 1))
        else:
            flat[name] = value
    return flat


def _number_cells(values: list[Any]) -> tuple[list[float | None], list[float | None]]:
    base = values[0]
    deltas: list[float | None] = [None]
    pcts: list[float | None] = [None]
    for value in values[1:]:
        if _is_number(base) and _is_number(value):
            delta = value - base
            deltas.append(delta)
            # Δ% is undefined against a zero baseline.
            pcts.append(delta / abs(base) * 100 if base != 0 else None)
        else:
            deltas.append(None)
            pcts.append(None)
    return deltas, pcts


def _metric_rows(runs: list[Run]) -> list[NumberRow]:
    flats = [_flatten({k: v for k, v in (run.metrics or {}).items() if k != BY_PRODUCT_KEY}) for run in runs]
    names = sorted({name for flat in flats for name in flat})
    rows = []
    for name in names:
        raw = [flat.get(name) for flat in flats]
        numeric = any(_is_number(v) for v in raw) and all(v is None or _is_number(v) for v in raw)
        if numeric:
            deltas, pcts = _number_cells(raw)
            rows.append(NumberRow(name=name, values=raw, deltas=deltas, delta_pcts=pcts, differs=not _same(raw)))
        else:
            shown = [_MISSING if v is None else (v if isinstance(v, str) else json.dumps(v, default=str)) for v in raw]
            blank = [None] * len(raw)
            rows.append(NumberRow(name=name, values=shown, deltas=blank, delta_pcts=blank, differs=not _same(raw), numeric=False))
    # Numbers first (they are what people compare), each group by name.
    return sorted(rows, key=lambda r: (not r.numeric, r.name))


def _product_rows(runs: list[Run]) -> list[ProductRow]:
    tables: list[dict[str, dict[str, Any]]] = []
    products: list[str] = []
    for run in runs:
        table: dict[str, dict[str, Any]] = {}
        entries = (run.metrics or {}).get(BY_PRODUCT_KEY)
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, dict) and entry.get("product") is not None:
                    product = str(entry["product"])
                    table[product] = entry
                    if product not in products:
                        products.append(product)
        tables.append(table)
    if not products:
        return []
    rows = []
    for product in products:
        for name in BY_PRODUCT_FIELDS:
            values = [table.get(product, {}).get(name) for table in tables]
            values = [v if _is_number(v) else None for v in values]
            deltas, pcts = _number_cells(values)
            rows.append(
                ProductRow(name=name, values=values, deltas=deltas, delta_pcts=pcts, differs=not _same(values), product=product)
            )
    return rows


# ---------------------------------------------------------------------------
# Saved comparisons
# ---------------------------------------------------------------------------
def comparison_list(*, user: Any) -> QuerySet[RunComparison]:
    """Saved comparisons whose runs the user may all see, newest first.

    They are shared by the team; a comparison holding a run of a kind the user
    may not see is left out, so its name does not reveal that run.
    """
    hidden = Run.objects.exclude(pk__in=Run.objects.visible_to(user).values("pk"))
    return (
        RunComparison.objects.exclude(runs__in=hidden)
        .select_related("owner")
        .prefetch_related(Prefetch("runs", queryset=Run.objects.order_by("created_at", "run_id").only("pk", "run_id", "created_at")))
        .annotate(run_count=Count("runs", distinct=True))
        .order_by("-created_at", "-pk")
    )


def comparison_get(*, user: Any, pk: Any) -> RunComparison:
    """A saved comparison the user may see (404 otherwise)."""
    return get_object_or_404(comparison_list(user=user), pk=pk)


def comparison_run_ids(comparison: RunComparison) -> list[str]:
    """Its runs' ids, oldest first: the model keeps no order, so the oldest run is the baseline."""
    return [run.run_id for run in sorted(comparison.runs.all(), key=lambda r: (r.created_at, r.run_id))]
