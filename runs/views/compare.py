"""Pages for comparing runs side by side and for saved comparisons.

The page shows what differs first: each run's key facts, the parameters that
differ, the metrics with Δ and Δ% against the baseline (highlighted from a
threshold the reader sets), then the breakdowns and the charts.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View

from accounts import roles
from runs.models import Run, RunTrigger
from runs.selectors.compare import (
    COMPARE_MAX_RUNS,
    COMPARE_MIN_RUNS,
    UNIT_AMOUNT,
    UNIT_COUNT,
    UNIT_FLAG,
    UNIT_NUMBER,
    UNIT_RATIO,
    UNIT_TEXT,
    Breakdown,
    Comparison,
    NumberRow,
    comparison_baseline_id,
    comparison_get,
    comparison_list,
    comparison_run_ids,
    kind_label,
    run_compare,
)
from runs.selectors.core import run_list
from runs.services.compare import comparison_create, comparison_delete, comparison_update
from runs.views.pages import RoleRequiredMixin

# The simulation run page's own number formats, so a ratio reads the same on both pages.
from simulations.templatetags.simulation_tags import count as format_count
from simulations.templatetags.simulation_tags import eur as format_amount
from simulations.templatetags.simulation_tags import pct as format_ratio

PICKER_SIZE = 50
DEFAULT_THRESHOLD = 1.0  # |Δ%| from which a change is highlighted
MAX_THRESHOLD = 1000.0
_MISSING = "—"
_GROUPS = (
    (UNIT_RATIO, "Ratios", True),
    (UNIT_AMOUNT, "Amounts (EUR)", True),
    (UNIT_COUNT, "Counts", True),
    (UNIT_NUMBER, "Other figures", True),
    (UNIT_FLAG, "Checks and flags", True),
    (UNIT_TEXT, "Other values", False),
)
# Metadata already in the header cards; the "Run details" section shows the rest.
_HEADER_FACTS = {"Kind", "Status", "Owner", "Created", "Duration (s)", "Parameters hash", "Trigger", "Parent"}


class ComparisonForm(forms.Form):
    name = forms.CharField(max_length=200)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class SavedComparisonForm(ComparisonForm):
    """Name, notes and the baseline of a saved comparison."""

    baseline = forms.ChoiceField(required=False, help_text="The run Δ and Δ% are against.")

    def __init__(self, *args: Any, run_ids: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Left blank, the saved baseline stays.
        self.fields["baseline"].choices = [("", "—")] + [(run_id, run_id) for run_id in run_ids]
        if not run_ids:
            del self.fields["baseline"]


def _requested_run_ids(data: Any) -> list[str]:
    """Run ids from repeated `runs` values, each possibly a comma- or space-separated list."""
    ids: list[str] = []
    for value in data.getlist("runs"):
        ids += value.replace(",", " ").split()
    return ids


def _threshold(data: Any) -> float:
    """The highlight threshold in % from the URL; the default when absent or not a number."""
    try:
        value = float(str(data.get("threshold", "")).replace(",", ".").strip())
    except ValueError:
        return DEFAULT_THRESHOLD
    if not math.isfinite(value):
        return DEFAULT_THRESHOLD
    return min(max(value, 0.0), MAX_THRESHOLD)


# ---------------------------------------------------------------------------
# Formatting (the page's concern; the API gives raw numbers)
# ---------------------------------------------------------------------------
def _number(value: Any, signed: bool = False) -> str:
    """1234567.5 -> "1,234,567.5": thousands separated, at most 4 decimals, no trailing zeros."""
    if isinstance(value, int):
        text = f"{value:+,}" if signed else f"{value:,}"
    else:
        text = (f"{value:+,.4f}" if signed else f"{value:,.4f}").rstrip("0").rstrip(".")
    if text in ("-0", "+0", "0"):  # a tiny change rounded away
        return "±0" if signed else "0"
    return text


def _sign(value: float) -> str:
    return "+" if value > 0 else "-" if value < 0 else "±"


def format_value(value: Any, unit: str, name: str = "") -> str:
    if value is None or value == _MISSING:
        return _MISSING
    if unit == UNIT_RATIO:
        return format_ratio(value)
    if unit == UNIT_AMOUNT:
        return format_amount(value)
    if unit == UNIT_COUNT:
        return format_count(value) if float(value).is_integer() else _number(value)
    if unit == UNIT_NUMBER:
        return _number(value)
    if unit == UNIT_FLAG or isinstance(value, bool):
        if name.endswith("pass"):
            return "pass" if value else "fail"
        return "yes" if value else "no"
    return str(value)


def format_delta(delta: float, unit: str) -> str:
    """Δ in the metric's own terms: percentage points for a ratio, EUR for an amount."""
    if unit == UNIT_RATIO:
        points = delta * 100
        return "±0.00 pp" if round(points, 2) == 0 else f"{_sign(points)}{abs(points):.2f} pp"
    if unit == UNIT_AMOUNT:
        text = format_amount(abs(delta))
        return "±0" if text == "0" else f"{_sign(delta)}{text}"
    if unit == UNIT_COUNT and float(delta).is_integer():
        return f"{_sign(delta)}{format_count(abs(delta))}" if delta else "±0"
    return _number(delta, signed=True)


def format_delta_pct(pct: float) -> str:
    """Δ% written as the run page writes a percentage (its pct filter), with a sign."""
    text = format_ratio(abs(pct) / 100)
    return f"{_sign(pct) if round(abs(pct), 2) else '±'}{text}"


def _short(text: str) -> str:
    """Hashes and long values shortened for a cell; the whole value is in the title."""
    return text if len(text) <= 24 else f"{text[:12]}…"


def _cells(row: NumberRow, base: int, threshold: float) -> list[dict[str, Any]]:
    """Display strings of a row: value, Δ and Δ%, and whether the change is significant."""
    cells = []
    for i, (value, delta, pct) in enumerate(row.cells):
        text = format_value(value, row.unit, row.name)
        cell: dict[str, Any] = {
            "value": _short(text), "title": text if len(text) > 24 else "", "baseline": i == base,
            "delta": None, "pct": None, "pct_raw": "", "significant": False, "direction": "",
            "unchanged": delta == 0,
        }
        if delta is not None:
            cell["delta"] = format_delta(delta, row.unit)
            cell["direction"] = "up" if delta > 0 else "down" if delta < 0 else ""
            if pct is not None:
                # The page's script re-decides from this same rounded value when the threshold moves.
                rounded = round(pct, 6)
                cell["pct"] = format_delta_pct(pct)
                cell["pct_raw"] = repr(rounded)
                cell["significant"] = rounded != 0 and abs(rounded) >= threshold
            else:
                # From a zero baseline any change is a change of "infinite" percent.
                cell["pct_raw"] = "inf" if delta else "0"
                cell["significant"] = delta != 0
            # Float noise below what the page shows reads as what it is: no change.
            if cell["delta"].startswith("±") and (cell["pct"] or "±").startswith("±") and not cell["significant"]:
                cell["unchanged"] = True
        elif i != base and (
            (not row.numeric and value != row.values[base]) or (value is None) != (row.values[base] is None)
        ):
            # A different text or flag, or a figure one run has and the other has not, always counts.
            cell["pct_raw"] = "inf"
            cell["significant"] = True
        cells.append(cell)
    return cells


def _row(row: NumberRow, base: int, threshold: float, label: str | None = None) -> dict[str, Any]:
    cells = _cells(row, base, threshold)
    return {
        "name": row.name, "key": getattr(row, "item", "") or row.name,
        "label": label or row.label, "unit": row.unit, "differs": row.differs,
        "cells": cells, "significant": any(c["significant"] for c in cells),
    }


def _origin(run: Run) -> dict[str, Any]:
    """Where a run comes from: launched by hand, by the API or cron, cloned, re-run, imported."""
    if getattr(run, "origin", "") == "IMPORT" or run.trigger == RunTrigger.IMPORT:
        return {"text": "Imported", "parent": None, "title": getattr(run, "imported_from", "")}
    words = {RunTrigger.CLONE: "Clone of", RunTrigger.REPROCESS: "Re-run of"}
    parent = run.parent.run_id if run.parent_id and run.parent else None
    text = words.get(run.trigger, run.get_trigger_display()) if parent else run.get_trigger_display()
    return {"text": text, "parent": parent, "title": ""}


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return _number(value)
    if value is None:
        return _MISSING
    return str(value)


def _chart(comparison: Comparison, labels: list[str], rows: list[NumberRow], scale: float = 1.0) -> dict[str, Any]:
    return {
        "labels": labels,
        "baseline": comparison.baseline_index,
        "datasets": [
            {"label": run.run_id, "data": [None if row.values[i] is None else row.values[i] * scale for row in rows]}
            for i, run in enumerate(comparison.runs)
        ],
    }


def _changes_chart(comparison: Comparison) -> dict[str, Any] | None:
    """Δ% of the ratios and amounts against the baseline: every change on one scale."""
    base = comparison.baseline_index
    rows = [
        row for row in comparison.metrics
        if row.unit in (UNIT_RATIO, UNIT_AMOUNT) and any(p is not None for p in row.delta_pcts)
    ]
    if not rows:
        return None
    return {
        "id": "chart-changes", "data_id": "chart-changes-data", "wide": len(rows) > 8,
        "title": f"Change against {comparison.baseline.run_id} (Δ%)",
        "data": {
            "labels": [row.label for row in rows],
            "baseline": None,
            "datasets": [
                {"label": run.run_id, "color": i, "data": [row.delta_pcts[i] for row in rows]}
                for i, run in enumerate(comparison.runs) if i != base
            ],
        },
    }


def _breakdown_view(comparison: Comparison, breakdown: Breakdown, threshold: float) -> dict[str, Any]:
    base = comparison.baseline_index
    figures = []
    for name, label, unit in breakdown.figures:
        rows = [_row(row, base, threshold, label=row.item_label) for row in breakdown.rows if row.figure == name]
        figures.append({
            "name": name, "label": label, "unit": unit, "rows": rows,
            "significant": sum(1 for row in rows if row["significant"]),
        })
    chart_figure = next((f for f in breakdown.figures if f[0] == "rwa"), breakdown.figures[0] if breakdown.figures else None)
    chart = None
    if chart_figure:
        # Items every run has at zero (liabilities have no RWA) would only crowd the axis.
        rows = [row for row in breakdown.rows if row.figure == chart_figure[0] and any(row.values)]
        chart = {
            "id": f"chart-{breakdown.key}", "data_id": f"chart-{breakdown.key}-data",
            "title": f"{chart_figure[1]} {breakdown.title.lower()}", "wide": len(rows) > 16,
            "data": _chart(comparison, [row.item_label for row in rows], rows),
        }
    return {
        "key": breakdown.key, "title": breakdown.title, "item_title": breakdown.item_title,
        "figures": figures, "items": len(breakdown.items), "chart": chart,
        # Long breakdowns start folded; their changes are counted in the summary line.
        "open": len(breakdown.items) <= 16,
    }


def _compare_context(
    request: HttpRequest, comparison: Comparison, threshold: float, base_url: str, base_query: dict[str, Any]
) -> dict[str, Any]:
    base = comparison.baseline_index
    runs = comparison.runs

    def url_with(**changes: Any) -> str:
        query = {**base_query, "threshold": f"{threshold:g}", **changes}
        return f"{base_url}?{urlencode(query, doseq=True)}"

    cards = [
        {
            "run": run, "index": i, "is_baseline": i == base,
            "kind": comparison.metadata[0].values[i],
            "origin": _origin(run),
            "duration": f"{run.duration_seconds:,.2f} s" if run.duration_seconds is not None else _MISSING,
            "baseline_url": url_with(baseline=run.run_id),
        }
        for i, run in enumerate(runs)
    ]
    params = [
        {"name": row.name, "differs": row.differs, "values": [_param_value(v) for v in row.values]}
        for row in comparison.params
    ]
    groups = []
    for unit, title, is_open in _GROUPS:
        rows = [_row(row, base, threshold) for row in comparison.metrics if row.unit == unit]
        if rows:
            groups.append({
                # A group where every run agrees starts folded: nothing to read there.
                "unit": unit, "title": title, "rows": rows, "open": is_open and any(r["differs"] for r in rows),
                "significant": sum(1 for r in rows if r["significant"]),
            })
    breakdowns = [_breakdown_view(comparison, b, threshold) for b in comparison.breakdowns]
    overview = comparison.chart
    charts = []
    if overview["labels"]:
        charts.append({
            "id": "chart-ratios" if overview["unit"] == "%" else "chart-figures",
            "data_id": "chart-overview-data", "title": "Ratios (%)" if overview["unit"] == "%" else "Figures",
            "data": {**overview, "baseline": comparison.baseline_index},
        })
    changes = _changes_chart(comparison)
    if changes:
        charts.insert(0, changes)
    charts += [b["chart"] for b in breakdowns if b["chart"]]
    numeric_rows = [r for g in groups for r in g["rows"]] + [
        r for b in breakdowns for f in b["figures"] for r in f["rows"]
    ]
    return {
        "comparison": comparison,
        "cards": cards,
        "params": params,
        "params_differ": sum(1 for p in params if p["differs"]),
        "metric_groups": groups,
        "breakdowns": breakdowns,
        "charts": charts,
        "details": [row for row in comparison.metadata if row.name not in _HEADER_FACTS],
        "threshold": f"{threshold:g}",
        "significant_count": sum(1 for r in numeric_rows if r["significant"]),
        "row_count": len(numeric_rows),
        "baseline_id": comparison.baseline.run_id,
        "base_url": base_url,
        "base_query": base_query,
        "grid_columns": min(len(runs), 5),
        "can_save": roles.can_save_comparison(request.user),
    }


def _render_picker(
    request: HttpRequest, error: str = "", chosen: list[str] | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "recent_runs": [(run, kind_label(run.kind)) for run in run_list(user=request.user)[:PICKER_SIZE]],
        "chosen": set(chosen or []),
        "error": error,
        "min_runs": COMPARE_MIN_RUNS,
        "max_runs": COMPARE_MAX_RUNS,
    }
    return render(request, "runs/manage/compare_pick.html", context, status=status)


def _live_context(request: HttpRequest, comparison: Comparison, threshold: float) -> dict[str, Any]:
    """The context of an unsaved comparison: its URL carries the runs, the baseline and the threshold."""
    query = {"runs": ",".join(comparison.run_ids), "baseline": comparison.baseline.run_id}
    return _compare_context(request, comparison, threshold, reverse("runs:compare"), query)


class CompareView(RoleRequiredMixin, View):
    """GET ?runs=ID,ID…[&baseline=ID][&threshold=1]: 2 to 10 runs side by side; without runs, a picker."""

    allowed = staticmethod(roles.can_compare_runs)

    def get(self, request: HttpRequest) -> HttpResponse:
        run_ids = _requested_run_ids(request.GET)
        if not run_ids:
            return _render_picker(request)
        try:
            comparison = run_compare(user=request.user, run_ids=run_ids, baseline=request.GET.get("baseline") or None)
        except ValidationError as exc:
            return _render_picker(request, error=" ".join(exc.messages), chosen=run_ids, status=400)
        context = _live_context(request, comparison, _threshold(request.GET))
        context["save_form"] = ComparisonForm()
        return render(request, "runs/manage/compare.html", context)


class ComparisonListView(RoleRequiredMixin, View):
    """GET: the saved comparisons. POST: save a comparison (name, notes, runs in order, baseline)."""

    allowed = staticmethod(roles.can_compare_runs)

    def get(self, request: HttpRequest) -> HttpResponse:
        comparisons = [
            (c, comparison_run_ids(c), comparison_baseline_id(c), roles.can_change_comparison(request.user, c))
            for c in comparison_list(user=request.user)
        ]
        return render(request, "runs/manage/comparison_list.html", {"comparisons": comparisons})

    def post(self, request: HttpRequest) -> HttpResponse:
        if not roles.can_save_comparison(request.user):  # refused before its input is read
            raise PermissionDenied
        run_ids = _requested_run_ids(request.POST)
        baseline = request.POST.get("baseline") or None
        try:
            comparison = run_compare(user=request.user, run_ids=run_ids, baseline=baseline)
        except ValidationError as exc:
            return _render_picker(request, error=" ".join(exc.messages), chosen=run_ids, status=400)
        form = ComparisonForm(request.POST)
        if form.is_valid():
            try:
                saved = comparison_create(
                    name=form.cleaned_data["name"], notes=form.cleaned_data["notes"],
                    run_ids=comparison.run_ids, baseline=comparison.baseline.run_id, actor=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f'Comparison "{saved.name}" saved.')
                return HttpResponseRedirect(reverse("runs:comparison", args=[saved.pk]))
        context = _live_context(request, comparison, _threshold(request.POST))
        context["save_form"] = form
        return render(request, "runs/manage/compare.html", context, status=400)


class ComparisonDetailView(RoleRequiredMixin, View):
    """A saved comparison reopened: its runs in their saved order, against its saved baseline.

    ?baseline=ID shows it against another of its runs without changing what is saved.
    """

    allowed = staticmethod(roles.can_compare_runs)

    def get(
        self, request: HttpRequest, pk: int, form: SavedComparisonForm | None = None, status: int = 200
    ) -> HttpResponse:
        saved = comparison_get(user=request.user, pk=pk)
        can_change = roles.can_change_comparison(request.user, saved)
        run_ids = comparison_run_ids(saved)
        saved_baseline = comparison_baseline_id(saved)
        context: dict[str, Any] = {
            "saved": saved, "can_change": can_change, "run_ids": run_ids, "saved_baseline": saved_baseline,
        }
        if len(run_ids) >= COMPARE_MIN_RUNS:
            wanted = request.GET.get("baseline") or saved_baseline
            if wanted not in run_ids:
                wanted = saved_baseline
            comparison = run_compare(user=request.user, run_ids=run_ids, baseline=wanted)
            context.update(_compare_context(
                request, comparison, _threshold(request.GET), reverse("runs:comparison", args=[saved.pk]),
                {"baseline": comparison.baseline.run_id},
            ))
        if can_change:
            context["edit_form"] = form or SavedComparisonForm(
                initial={"name": saved.name, "notes": saved.notes, "baseline": saved_baseline},
                run_ids=run_ids if len(run_ids) >= COMPARE_MIN_RUNS else (),
            )
        return render(request, "runs/manage/compare.html", context, status=status)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Change the name, notes and baseline."""
        saved = comparison_get(user=request.user, pk=pk)
        if not roles.can_change_comparison(request.user, saved):  # refused before its input is read
            raise PermissionDenied
        run_ids = comparison_run_ids(saved)
        form = SavedComparisonForm(request.POST, run_ids=run_ids if len(run_ids) >= COMPARE_MIN_RUNS else ())
        if form.is_valid():
            try:
                comparison_update(
                    comparison=saved, actor=request.user, name=form.cleaned_data["name"],
                    notes=form.cleaned_data["notes"], baseline=form.cleaned_data.get("baseline") or None,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, "Comparison updated.")
                return HttpResponseRedirect(reverse("runs:comparison", args=[saved.pk]))
        return self.get(request, pk, form=form, status=400)


class ComparisonDeleteView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_compare_runs)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        saved = comparison_get(user=request.user, pk=pk)
        comparison_delete(comparison=saved, actor=request.user)
        messages.success(request, f'Comparison "{saved.name}" deleted; its runs are no longer protected from cleanup.')
        return HttpResponseRedirect(reverse("runs:comparisons"))
