"""Pages for deleting a run and for cleaning up old runs."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views import View

from accounts import roles
from runs.selectors.cleanup import CLEANUP_MAX_DAYS, CLEANUP_MIN_DAYS, cleanup_plan, run_deletion_preview
from runs.selectors.core import run_get
from runs.services.manage import CleanupPlanStale, run_delete, runs_cleanup
from runs.views.pages import RoleRequiredMixin

DEFAULT_DAYS = 90


class RunDeleteView(RoleRequiredMixin, View):
    """GET: what deleting the run removes, and what stays. POST: delete it."""

    def _run(self, request: HttpRequest, run_id: str):
        run = run_get(user=request.user, run_id=run_id)
        if not roles.can_delete_run(request.user, run):
            raise PermissionDenied
        return run

    def get(self, request: HttpRequest, run_id: str, error: str = "", status: int = 200) -> HttpResponse:
        run = self._run(request, run_id)
        context = {"preview": run_deletion_preview(run=run), "run": run, "error": error}
        return render(request, "runs/manage/run_delete.html", context, status=status)

    def post(self, request: HttpRequest, run_id: str) -> HttpResponse:
        run = self._run(request, run_id)
        try:
            run_delete(run=run, actor=request.user)
        except ValidationError as exc:
            return self.get(request, run_id, error=" ".join(exc.messages), status=400)
        messages.success(request, f"{run.run_id} deleted with its logs and artifacts.")
        return HttpResponseRedirect(reverse("runs:list"))


class CleanupForm(forms.Form):
    days = forms.IntegerField(
        min_value=CLEANUP_MIN_DAYS,
        max_value=CLEANUP_MAX_DAYS,
        initial=DEFAULT_DAYS,
        help_text=f"Runs created more than this many days ago ({CLEANUP_MIN_DAYS} to {CLEANUP_MAX_DAYS}).",
    )


class CleanupExecuteForm(CleanupForm):
    # One field holding every id: thousands of separate fields would exceed
    # DATA_UPLOAD_MAX_NUMBER_FIELDS.
    runs = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_runs(self) -> list[str]:
        return self.cleaned_data["runs"].split()


class CleanupView(RoleRequiredMixin, View):
    """GET ?days=N: the dry run. POST days and the plan's run ids: delete exactly those."""

    allowed = staticmethod(roles.can_cleanup_runs)
    template_name = "runs/manage/cleanup.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        if "days" not in request.GET:
            return render(request, self.template_name, {"form": CleanupForm()})
        form = CleanupForm(request.GET)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        return self._render_plan(request, form, form.cleaned_data["days"])

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CleanupExecuteForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        days = form.cleaned_data["days"]
        try:
            deleted = runs_cleanup(days=days, run_ids=form.cleaned_data["runs"], actor=request.user)
        except CleanupPlanStale as exc:
            return self._render_plan(request, CleanupForm(initial={"days": days}), days, error=exc.messages[0], status=409)
        messages.success(request, f"Cleanup done: {len(deleted)} run(s) older than {days} days deleted.")
        return HttpResponseRedirect(f"{reverse('runs:cleanup')}?days={days}")

    def _render_plan(
        self, request: HttpRequest, form: forms.Form, days: int, error: str = "", status: int = 200
    ) -> HttpResponse:
        plan = cleanup_plan(days=days, user=request.user)
        context: dict[str, Any] = {
            "form": form,
            "plan": plan,
            "plan_ids": " ".join(plan.run_ids),
            "total_size": filesizeformat(plan.total_bytes),
            "error": error,
        }
        return render(request, self.template_name, context, status=status)
