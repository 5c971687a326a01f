"""Pages of run export (downloads) and import (an upload form)."""
from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from accounts import roles
from runs import selectors
from runs.kinds import get_kind, kinds_visible_to
from runs.models import Run
from runs.services.exchange import (
    EXPORT_FORMATS,
    ExchangeRefused,
    ImportConflict,
    import_upload_refusal,
    run_export,
    run_import,
)
from runs.services.exchange_bulk import BulkImportRefused, runs_import_bulk
from runs.views.pages import RoleRequiredMixin


class RunExportView(RoleRequiredMixin, View):
    """Download a run as json, parquet or bundle; a refusal goes back to the run with a message."""

    allowed = staticmethod(roles.can_view_runs)

    def get(self, request: HttpRequest, run_id: str, fmt: str) -> HttpResponse:
        if fmt not in EXPORT_FORMATS:
            raise Http404("No such export format")
        run = selectors.run_get(user=request.user, run_id=run_id)
        if not roles.can_export_run(request.user, run):
            raise PermissionDenied
        try:
            export = run_export(run=run, fmt=fmt, actor=request.user, artifact=request.GET.get("artifact"))
        except ExchangeRefused as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("runs:detail", args=[run.run_id]))
        response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response


class RunImportForm(forms.Form):
    file = forms.FileField(help_text="A JSON export, a bundle (.zip) or a Parquet file of results.")
    as_new = forms.BooleanField(
        required=False,
        label="Import as a new run",
        help_text="A copy with a fresh run id (trigger Import), linked to the original when it is here.",
    )
    kind = forms.ChoiceField(required=False, help_text="Only for a Parquet file: the kind of run its results belong to.")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = sorted(kinds_visible_to(user))
        self.fields["kind"].choices = [("", "—")] + [(name, get_kind(name).label) for name in names]


class RunImportView(RoleRequiredMixin, View):
    template_name = "runs/exchange/import.html"
    allowed = staticmethod(roles.can_import_runs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, RunImportForm(user=request.user))

    def post(self, request: HttpRequest) -> HttpResponse:
        too_large = import_upload_refusal(request.META.get("CONTENT_LENGTH"))
        if too_large:
            return self._render(request, RunImportForm(user=request.user), error=too_large, status=413)
        form = RunImportForm(request.POST, request.FILES, user=request.user)
        existing: Run | None = None
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = run_import(
                    file=upload,
                    actor=request.user,
                    as_new=form.cleaned_data["as_new"],
                    kind=form.cleaned_data["kind"] or None,
                    filename=upload.name or "",
                )
            except ImportConflict as exc:
                form.add_error(None, f"{exc.message} Tick “Import as a new run” to keep a copy.")
                existing = Run.objects.visible_to(request.user).filter(pk=exc.existing.pk).first()
            except ExchangeRefused as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, result.summary)
                return HttpResponseRedirect(reverse("runs:detail", args=[result.run.run_id]))
        return self._render(request, form, existing=existing, status=400)

    def _render(
        self, request: HttpRequest, form: RunImportForm, existing: Run | None = None, error: str = "", status: int = 200
    ) -> HttpResponse:
        context = {"form": form, "existing": existing, "error": error, "max_bytes": settings.RUN_IMPORT_MAX_BYTES}
        return render(request, self.template_name, context, status=status)


class RunBulkImportForm(forms.Form):
    file = forms.FileField(
        help_text="JSON lines (one run document per line, as a JSON export writes it) or a zip of run bundles."
    )


class RunBulkImportView(RoleRequiredMixin, View):
    """Many runs from one file; runs already here are skipped, each batch is all or nothing."""

    template_name = "runs/exchange/import_bulk.html"
    allowed = staticmethod(roles.can_import_runs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, RunBulkImportForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        too_large = import_upload_refusal(request.META.get("CONTENT_LENGTH"))
        if too_large:
            return self._render(request, RunBulkImportForm(), error=too_large, status=413)
        form = RunBulkImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = runs_import_bulk(file=upload, actor=request.user, filename=upload.name or "")
            except BulkImportRefused as exc:
                form.add_error(None, exc.message)
                return self._render(request, form, result=exc.result, status=400)
            except ExchangeRefused as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, result.summary)
                return HttpResponseRedirect(reverse("runs:import_bulk"))
        return self._render(request, form, status=400)

    def _render(
        self, request: HttpRequest, form: RunBulkImportForm, error: str = "", status: int = 200, result: Any = None
    ) -> HttpResponse:
        context = {
            "form": form, "error": error, "result": result, "max_bytes": settings.RUN_IMPORT_MAX_BYTES,
            "batch": settings.RUN_BULK_IMPORT_BATCH,
        }
        return render(request, self.template_name, context, status=status)
