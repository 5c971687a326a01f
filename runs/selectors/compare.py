"""Reads behind comparisons: runs side by side, and saved comparisons.

One run is the baseline (the first, unless another is named): Δ and Δ% of every
other run are against it. The columns keep the order they were asked in.
"""
from __future__ import annotations

import json
import re
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

# How a metric's number reads. Only the page formats; the API gives the unit with raw numbers.
UNIT_RATIO = "ratio"  # a fraction shown as a percentage (0.0967 -> 9.67%)
UNIT_AMOUNT = "amount"  # money, whole units with thousands separators
UNIT_COUNT = "count"  # an integer count
UNIT_NUMBER = "number"  # any other number
UNIT_FLAG = "flag"  # yes/no, pass/fail
UNIT_TEXT = "text"
NUMERIC_UNITS = (UNIT_RATIO, UNIT_AMOUNT, UNIT_COUNT, UNIT_NUMBER)

_RATIO_NAME = re.compile(r"(^|_)(ratio|density|risk_weight|lcr|nsfr|share)$")
_COUNT_NAME = re.compile(r"^(n_.+|count|.+_count|parts|chunks|steps)$")
_AMOUNT_NAME = re.compile(r"(^|_)(total|ead|rwa|notional|hqla|asf|rsf|outflows|inflows|assets|liabilities|amount|eur|capital|provision)(_|$)")
# Words written in capitals in labels.
_ACRONYMS = {
    "cet1": "CET1", "lcr": "LCR", "nsfr": "NSFR", "rwa": "RWA", "ead": "EAD", "hqla": "HQLA", "asf": "ASF",
    "rsf": "RSF", "sme": "SME", "pse": "PSE", "mdb": "MDB", "eur": "EUR", "id": "id",
}
_LABELS = {"tier1_ratio": "Tier 1 ratio", "n_positions": "Positions", "all_pass": "All checks pass"}
# Breakdowns (metrics holding a list of records): title, and the figures in reading order.
_BREAKDOWNS = {
    "rwa_by_class": ("By exposure class", "Exposure class"),
    BY_PRODUCT_KEY: ("By product", "Product"),
}
_FIGURE_ORDER = ("rwa", "ead", "notional", "count", "risk_weight")


def label_for(name: str) -> str:
    """cet1_ratio -> "CET1 ratio"; cache.params_hash -> "Cache › params hash"."""
    parts = []
    for i, segment in enumerate(name.split(".")):
        if segment in _LABELS:
            words = _LABELS[segment]
        elif segment.startswith("n_"):  # n_defaulted -> "Defaulted count"
            words = " ".join(_ACRONYMS.get(w, w) for w in segment[2:].split("_")) + " count"
        else:
            words = " ".join(_ACRONYMS.get(w, w) for w in segment.split("_"))
        parts.append(words[:1].upper() + words[1:] if i == 0 else words)
    return " › ".join(parts)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def unit_for(name: str, values: Sequence[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return UNIT_FLAG
    if not present or not all(_is_number(v) for v in present):
        return UNIT_TEXT
    last = name.rsplit(".", 1)[-1]
    if _RATIO_NAME.search(last):
        return UNIT_RATIO
    if _COUNT_NAME.match(last) or (all(isinstance(v, int) for v in present) and not _AMOUNT_NAME.search(last)):
        return UNIT_COUNT
    if _AMOUNT_NAME.search(last):
        return UNIT_AMOUNT
    return UNIT_NUMBER


@dataclass(frozen=True)
class Row:
    """A parameter or metadata line: one display value per run."""

    name: str
    values: list[Any]
    differs: bool


@dataclass(frozen=True)
class NumberRow:
    """A metric line: one value per run, with Δ and Δ% against the baseline run."""

    name: str
    values: list[Any]
    deltas: list[float | None]
    delta_pcts: list[float | None]
    differs: bool
    numeric: bool = True
    unit: str = UNIT_NUMBER
    label: str = ""

    @property
    def cells(self) -> list[tuple[Any, float | None, float | None]]:
        return list(zip(self.values, self.deltas, self.delta_pcts))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "label": self.label or label_for(self.name), "unit": self.unit,
            "values": self.values, "deltas": self.deltas, "delta_pcts": self.delta_pcts,
            "differs": self.differs, "numeric": self.numeric,
        }


@dataclass(frozen=True)
class ProductRow(NumberRow):
    product: str = ""
    side: str = ""


@dataclass(frozen=True)
class BreakdownRow(NumberRow):
    """One figure of one item of a breakdown (the RWA of the corporate exposure class)."""

    item: str = ""
    item_label: str = ""
    figure: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item, "item_label": self.item_label, "figure": self.figure, **super().as_dict()}


@dataclass(frozen=True)
class Breakdown:
    """A metric holding a list of records (RWA by exposure class), run against run."""

    key: str
    title: str
    item_title: str
    items: list[tuple[str, str]]  # (key, label), in order of first appearance
    figures: list[tuple[str, str, str]]  # (name, label, unit)
    rows: list[BreakdownRow]

    def row(self, item: str, figure: str) -> BreakdownRow | None:
        for row in self.rows:
            if row.item == item and row.figure == figure:
                return row
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "title": self.title, "item_title": self.item_title,
            "figures": [{"name": n, "label": lbl, "unit": u} for n, lbl, u in self.figures],
            "rows": [row.as_dict() for row in self.rows],
        }


@dataclass
class Comparison:
    runs: list[Run]
    baseline_index: int = 0
    metadata: list[Row] = field(default_factory=list)
    params: list[Row] = field(default_factory=list)
    metrics: list[NumberRow] = field(default_factory=list)
    breakdowns: list[Breakdown] = field(default_factory=list)

    @property
    def run_ids(self) -> list[str]:
        return [run.run_id for run in self.runs]

    @property
    def baseline(self) -> Run:
        return self.runs[self.baseline_index]

    @property
    def by_product(self) -> list[ProductRow]:
        """The product breakdown as (product, side, figure) rows."""
        for breakdown in self.breakdowns:
            if breakdown.key == BY_PRODUCT_KEY:
                return [_product_row(row) for row in breakdown.rows]
        return []

    @property
    def chart(self) -> dict[str, Any]:
        """Grouped bars of the ratio metrics in %, one dataset per run (Chart.js data).

        Only ratios share a scale (amounts of billions beside counts would hide them);
        runs without ratios get their plain numbers instead.
        """
        rows = [row for row in self.metrics if row.unit == UNIT_RATIO]
        scale, unit = 100.0, "%"
        if not rows:
            rows = [row for row in self.metrics if row.unit == UNIT_NUMBER]
            scale, unit = 1.0, ""
        return {
            "labels": [row.label for row in rows],
            "unit": unit,
            "datasets": [
                {"label": run.run_id, "data": [_scaled(row.values[i], scale) for row in rows]}
                for i, run in enumerate(self.runs)
            ],
        }

    def breakdown_chart(self, key: str, figure: str) -> dict[str, Any]:
        """Grouped bars of one figure of a breakdown, one dataset per run."""
        breakdown = next((b for b in self.breakdowns if b.key == key), None)
        if breakdown is None:
            return {"labels": [], "datasets": []}
        rows = [row for row in breakdown.rows if row.figure == figure]
        return {
            "labels": [row.item_label for row in rows],
            "unit": "",
            "datasets": [
                {"label": run.run_id, "data": [row.values[i] for row in rows]} for i, run in enumerate(self.runs)
            ],
        }

    @property
    def product_chart(self) -> dict[str, Any]:
        """Grouped bars of RWA by product, one dataset per run."""
        return self.breakdown_chart(BY_PRODUCT_KEY, "rwa")

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.run_ids,
            "baseline": self.baseline.run_id,
            "metadata": [{"name": r.name, "values": r.values, "differs": r.differs} for r in self.metadata],
            "params": [{"name": r.name, "values": r.values, "differs": r.differs} for r in self.params],
            "metrics": [r.as_dict() for r in self.metrics],
            "breakdowns": [b.as_dict() for b in self.breakdowns],
            "by_product": [
                {"product": r.product, "side": r.side, **NumberRow.as_dict(r)} for r in self.by_product
            ],
        }


def _scaled(value: Any, factor: float) -> Any:
    return value * factor if _is_number(value) else None


def _product_row(row: BreakdownRow) -> ProductRow:
    product, _, side = row.item.partition(" · ")
    return ProductRow(
        name=row.figure, values=row.values, deltas=row.deltas, delta_pcts=row.delta_pcts, differs=row.differs,
        numeric=row.numeric, unit=row.unit, label=row.label, product=product, side=side,
    )


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


def baseline_index(runs: Sequence[Run], baseline: str | None) -> int:
    """Where the baseline is among the runs: the one named (run id or UUID), else the first.

    ValidationError when a baseline is named that is not one of the compared runs.
    """
    if baseline is None or not str(baseline).strip():
        return 0
    wanted = str(baseline).strip()
    for i, run in enumerate(runs):
        if wanted in (run.run_id, str(run.pk)):
            return i
    raise ValidationError(f"The baseline {wanted} is not one of the compared runs.")


# ---------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------
def run_compare(*, user: Any, run_ids: Sequence[str], baseline: str | None = None) -> Comparison:
    """Compare 2 to 10 runs the user may see: metadata, parameters, metrics, breakdowns.

    The runs keep the order given; Δ and Δ% are against `baseline` (a run id among
    them; the first run when None).
    """
    runs = runs_for_comparison(user=user, run_ids=run_ids)
    base = baseline_index(runs, baseline)
    flats, lists = zip(*(_split_metrics(run.metrics or {}) for run in runs))
    return Comparison(
        runs=runs,
        baseline_index=base,
        metadata=_metadata_rows(runs),
        params=_param_rows(runs),
        metrics=_metric_rows(list(flats), base),
        breakdowns=_breakdowns(list(lists), base),
    )


def kind_label(name: str) -> str:
    """A kind's label as people read it ("Simulation"; a demo kind says so once)."""
    try:
        kind = get_kind(name)
    except UnknownKindError:
        return name
    return f"{kind.label} (demo)" if kind.is_demo and "demo" not in kind.label.lower() else kind.label


def _metadata_rows(runs: list[Run]) -> list[Row]:
    def fmt_time(value: Any) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S") if value else _MISSING

    columns: list[tuple[str, Any]] = [
        ("Kind", lambda r: kind_label(r.kind)),
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


def _is_record_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _split_metrics(metrics: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Scalars under dotted names (capital.cet1_ratio), and the lists of records apart.

    Nothing is left as a JSON blob: a list of plain values reads "a, b, c"; a list of
    records becomes a breakdown of its own.
    """
    flat: dict[str, Any] = {}
    lists: dict[str, list[dict[str, Any]]] = {}

    def walk(value: dict[str, Any], prefix: str) -> None:
        for key, item in value.items():
            name = f"{prefix}{key}"
            if isinstance(item, dict):
                walk(item, f"{name}.")
            elif _is_record_list(item):
                lists[name] = item
            elif isinstance(item, list):
                flat[name] = ", ".join(str(v) for v in item) if item else _MISSING
            else:
                flat[name] = item

    walk(metrics, "")
    return flat, lists


def _number_cells(values: list[Any], base: int = 0) -> tuple[list[float | None], list[float | None]]:
    reference = values[base]
    deltas: list[float | None] = []
    pcts: list[float | None] = []
    for i, value in enumerate(values):
        if i != base and _is_number(reference) and _is_number(value):
            delta = value - reference
            deltas.append(delta)
            # Δ% is undefined against a zero baseline.
            pcts.append(delta / abs(reference) * 100 if reference != 0 else None)
        else:
            deltas.append(None)
            pcts.append(None)
    return deltas, pcts


def _number_row(name: str, raw: list[Any], base: int, unit: str | None = None, **extra: Any) -> NumberRow:
    unit = unit or unit_for(name, raw)
    numeric = unit in NUMERIC_UNITS
    if numeric:
        values = [v if _is_number(v) else None for v in raw]
        deltas, pcts = _number_cells(values, base)
    else:
        values = [v if v is None or isinstance(v, (str, bool)) or _is_number(v) else str(v) for v in raw]
        deltas = pcts = [None] * len(raw)
    cls = extra.pop("cls", NumberRow)
    return cls(
        name=name, values=values, deltas=deltas, delta_pcts=pcts, differs=not _same(raw),
        numeric=numeric, unit=unit, label=extra.pop("label", "") or label_for(name), **extra,
    )


# Metric groups in the order the page shows them.
_UNIT_ORDER = {UNIT_RATIO: 0, UNIT_AMOUNT: 1, UNIT_COUNT: 2, UNIT_NUMBER: 3, UNIT_FLAG: 4, UNIT_TEXT: 5}


def _metric_rows(flats: list[dict[str, Any]], base: int) -> list[NumberRow]:
    names = list(dict.fromkeys(name for flat in flats for name in flat))
    rows = [_number_row(name, [flat.get(name) for flat in flats], base) for name in names]
    # Ratios, then amounts, counts, other numbers, flags, text; each by name.
    return sorted(rows, key=lambda r: (_UNIT_ORDER[r.unit], r.name))


def _record_key(record: dict[str, Any], index: int) -> str:
    """A record's identity: its text fields (product · side), else its position."""
    texts = [str(v) for v in record.values() if isinstance(v, str)]
    return " · ".join(texts) if texts else f"#{index + 1}"


def _breakdowns(lists: list[dict[str, list[dict[str, Any]]]], base: int) -> list[Breakdown]:
    keys = list(dict.fromkeys(key for per_run in lists for key in per_run))
    # Known breakdowns first, in the order people read them.
    keys.sort(key=lambda k: (list(_BREAKDOWNS).index(k) if k in _BREAKDOWNS else len(_BREAKDOWNS), k))
    breakdowns = []
    for key in keys:
        tables: list[dict[str, dict[str, Any]]] = []
        items: dict[str, str] = {}
        figure_names: list[str] = []
        for per_run in lists:
            table: dict[str, dict[str, Any]] = {}
            for i, record in enumerate(per_run.get(key) or []):
                item = _record_key(record, i)
                table[item] = record
                items.setdefault(item, item.replace("_", " "))
                figure_names += [k for k, v in record.items() if _is_number(v) and k not in figure_names]
            tables.append(table)
        figure_names.sort(key=lambda f: (_FIGURE_ORDER.index(f) if f in _FIGURE_ORDER else len(_FIGURE_ORDER), f))
        figures = []
        rows: list[BreakdownRow] = []
        for figure in figure_names:
            unit = unit_for(figure, [t.get(item, {}).get(figure) for t in tables for item in items])
            figures.append((figure, label_for(figure), unit))
            for item, item_label in items.items():
                raw = [table.get(item, {}).get(figure) for table in tables]
                rows.append(_number_row(
                    figure, raw, base, unit=unit, cls=BreakdownRow, item=item, item_label=item_label, figure=figure,
                ))
        title, item_title = _BREAKDOWNS.get(key, (label_for(key), "Item"))
        breakdowns.append(Breakdown(
            key=key, title=title, item_title=item_title, items=list(items.items()), figures=figures, rows=rows,
        ))
    return breakdowns


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
    """Its runs' ids in the order they were saved in; runs deleted since drop out.

    Runs the stored order does not name (added by hand in the admin) follow, oldest first.
    """
    runs = sorted(comparison.runs.all(), key=lambda r: (r.created_at, r.run_id))
    present = {run.run_id for run in runs}
    ordered = [run_id for run_id in dict.fromkeys(comparison.run_order or []) if run_id in present]
    return ordered + [run.run_id for run in runs if run.run_id not in ordered]


def comparison_baseline_id(comparison: RunComparison) -> str | None:
    """The run id Δ and Δ% are against: the saved baseline, or the first run if it is gone."""
    for run in comparison.runs.all():
        if run.pk == comparison.baseline_id:
            return run.run_id
    run_ids = comparison_run_ids(comparison)
    return run_ids[0] if run_ids else None
