"""Pages for comparing runs side by side and for saved comparisons."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from accounts import roles
from runs.selectors.compare import (
    COMPARE_MAX_RUNS,
    COMPARE_MIN_RUNS,
    Comparison,
    NumberRow,
    comparison_get,
    comparison_list,
    comparison_run_ids,
    run_compare,
)
from runs.selectors.core import run_list
from runs.services.compare import comparison_create, comparison_delete, comparison_update
from runs.views.pages import RoleRequiredMixin

PICKER_SIZE = 50


class ComparisonForm(forms.Form):
    name = forms.CharField(max_length=200)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


def _requested_run_ids(data: Any) -> list[str]:
    """Run ids from repeated `runs` values, each possibly a comma- or space-separated list."""
    ids: list[str] = []
    for value in data.getlist("runs"):
        ids += value.replace(",", " ").split()
    return ids


def _number(value: Any, signed: bool = False) -> str:
    """1234567.5 -> "1,234,567.5": thousands separated, at most 4 decimals, no trailing zeros."""
    if isinstance(value, int):
        text = f"{value:+,}" if signed else f"{value:,}"
    else:
        text = (f"{value:+,.4f}" if signed else f"{value:,.4f}").rstrip("0").rstrip(".")
    if text == "-0":  # a tiny negative rounded away
        return "+0" if signed else "0"
    return text


def _cells(row: NumberRow) -> list[dict[str, Any]]:
    """Display strings of a metric row: value, Δ and Δ% (None where there is none)."""
    cells = []
    for value, delta, pct in row.cells:
        if value is None or not row.numeric:
            cells.append({"value": "—" if value is None else value, "delta": None, "pct": None})
            continue
        cells.append({
            "value": _number(value),
            "delta": None if delta is None else _number(delta, signed=True),
            "pct": None if pct is None else f"{pct:+.2f}%",
        })
    return cells


def _compare_context(request: HttpRequest, comparison: Comparison) -> dict[str, Any]:
    return {
        "comparison": comparison,
        "metric_rows": [(row, _cells(row)) for row in comparison.metrics],
        "product_rows": [(row, _cells(row)) for row in comparison.by_product],
        "chart": comparison.chart,
        "product_chart": comparison.product_chart if comparison.by_product else None,
        "can_save": roles.can_save_comparison(request.user),
    }


def _render_picker(
    request: HttpRequest, error: str = "", chosen: list[str] | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "recent_runs": run_list(user=request.user)[:PICKER_SIZE],
        "chosen": set(chosen or []),
        "error": error,
        "min_runs": COMPARE_MIN_RUNS,
        "max_runs": COMPARE_MAX_RUNS,
    }
    return render(request, "runs/manage/compare_pick.html", context, status=status)


class CompareView(RoleRequiredMixin, View):
    """GET ?runs=ID&runs=ID…: 2 to 10 runs side by side; without runs, a picker."""

    allowed = staticmethod(roles.can_compare_runs)

    def get(self, request: HttpRequest) -> HttpResponse:
        run_ids = _requested_run_ids(request.GET)
        if not run_ids:
            return _render_picker(request)
        try:
            comparison = run_compare(user=request.user, run_ids=run_ids)
        except ValidationError as exc:
            return _render_picker(request, error=" ".join(exc.messages), chosen=run_ids, status=400)
        context = _compare_context(request, comparison)
        context["save_form"] = ComparisonForm()
        return render(request, "runs/manage/compare.html", context)


class ComparisonListView(RoleRequiredMixin, View):
    """GET: the saved comparisons. POST: save a comparison (name, notes, runs)."""

    allowed = staticmethod(roles.can_compare_runs)

    def get(self, request: HttpRequest) -> HttpResponse:
        comparisons = [
            (c, comparison_run_ids(c), roles.can_change_comparison(request.user, c))
            for c in comparison_list(user=request.user)
        ]
        return render(request, "runs/manage/comparison_list.html", {"comparisons": comparisons})

    def post(self, request: HttpRequest) -> HttpResponse:
        if not roles.can_save_comparison(request.user):  # refused before its input is read
            raise PermissionDenied
        run_ids = _requested_run_ids(request.POST)
        try:
            comparison = run_compare(user=request.user, run_ids=run_ids)
        except ValidationError as exc:
            return _render_picker(request, error=" ".join(exc.messages), chosen=run_ids, status=400)
        form = ComparisonForm(request.POST)
        if form.is_valid():
            try:
                saved = comparison_create(
                    name=form.cleaned_data["name"], notes=form.cleaned_data["notes"], run_ids=run_ids, actor=request.user
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f'Comparison "{saved.name}" saved.')
                return HttpResponseRedirect(reverse("runs:comparison", args=[saved.pk]))
        context = _compare_context(request, comparison)
        context["save_form"] = form
        return render(request, "runs/manage/compare.html", context, status=400)


class ComparisonDetailView(RoleRequiredMixin, View):
    """A saved comparison reopened: its runs side by side, with its name and notes."""

    allowed = staticmethod(roles.can_compare_runs)

    def get(self, request: HttpRequest, pk: int, form: ComparisonForm | None = None, status: int = 200) -> HttpResponse:
        saved = comparison_get(user=request.user, pk=pk)
        can_change = roles.can_change_comparison(request.user, saved)
        run_ids = comparison_run_ids(saved)
        context: dict[str, Any] = {"saved": saved, "can_change": can_change, "run_ids": run_ids}
        if len(run_ids) >= COMPARE_MIN_RUNS:
            context.update(_compare_context(request, run_compare(user=request.user, run_ids=run_ids)))
        if can_change:
            context["edit_form"] = form or ComparisonForm(initial={"name": saved.name, "notes": saved.notes})
        return render(request, "runs/manage/compare.html", context, status=status)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Change the name and notes."""
        saved = comparison_get(user=request.user, pk=pk)
        if not roles.can_change_comparison(request.user, saved):  # refused before its input is read
            raise PermissionDenied
        form = ComparisonForm(request.POST)
        if form.is_valid():
            try:
                comparison_update(
                    comparison=saved, actor=request.user, name=form.cleaned_data["name"], notes=form.cleaned_data["notes"]
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
