"""Pages of datasets: the list, the upload form, a dataset with its statistics, versions,
runs and a filtered preview, its export, editing its description and deleting it."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from accounts import roles
from datasets import selectors, services
from datasets.filters import DatasetFilterSet
from datasets.ingest import IngestError
from datasets.launch import launch_links, placement_from_query
from datasets.query import OPERATORS, QueryError
from runs.downloads import as_attachment, download_content_type
from runs.views.pages import RoleRequiredMixin
from simulations.training.models import Dataset


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV (UTF-8, header row), xlsx, JSON records or Parquet. Pickles are refused.")
    name = forms.CharField(
        max_length=200, required=False,
        help_text="Uploading under an existing name adds a version. Default: the file's name without extension.",
    )
    sheet = forms.CharField(max_length=100, required=False,
                            help_text="For a workbook with several sheets: the one to load.")
    description = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))


class DescriptionForm(forms.Form):
    description = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


def _upload_error(form: forms.Form, exc: Exception) -> None:
    if isinstance(exc, IngestError):
        where = []
        if exc.row is not None:
            where.append(f"row {exc.row}")
        if exc.column:
            where.append(f"column {exc.column!r}")
        form.add_error("file", exc.message)
        form.ingest_where = ", ".join(where)  # shown beside the message
    elif isinstance(exc, ValidationError):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)


class DatasetListView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_datasets)

    def get(self, request: HttpRequest) -> HttpResponse:
        data = request.GET.copy()
        if "latest" not in data and not data.get("name"):
            data["latest"] = "true"
        filterset = DatasetFilterSet(data, queryset=Dataset.objects.select_related("created_by").order_by("-created_at", "-id"))
        page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
        return render(request, "datasets/list.html", {
            "filterset": filterset, "page": page, "can_upload": roles.can_edit_datasets(request.user),
        })


class DatasetUploadView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_edit_datasets)

    def get(self, request: HttpRequest) -> HttpResponse:
        initial = {"name": request.GET.get("name", "")[:200]}
        return render(request, "datasets/upload.html", {"form": UploadForm(initial=initial), "limit": settings.DATASET_MAX_UPLOAD_BYTES})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = UploadForm(request.POST, request.FILES)
        refused = getattr(request, "upload_refused", None)  # set while streaming: see config.uploads
        status = 400
        if refused:
            form.add_error(None, refused)
            status = 413
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                dataset = services.dataset_upload(
                    user=request.user, file=upload, name=form.cleaned_data["name"], filename=upload.name,
                    sheet=form.cleaned_data["sheet"] or None, description=form.cleaned_data["description"],
                )
            except PermissionDenied as exc:
                # a project's lock or membership (the roles were checked on the way in): say which
                form.add_error(None, str(exc) or "You may not upload datasets.")
                status = 409 if getattr(exc, "holder", None) is not None else 403
            except (IngestError, ValidationError) as exc:
                _upload_error(form, exc)
                if isinstance(exc, ValidationError) and "file" in getattr(exc, "message_dict", {}) and \
                        upload.size > settings.DATASET_MAX_UPLOAD_BYTES:
                    status = 413
            else:
                messages.success(request, f"{dataset.label} stored: {dataset.rows:,} rows, SHA-256 {dataset.sha256[:12]}…")
                return HttpResponseRedirect(reverse("datasets:detail", args=[dataset.pk]))
        return render(request, "datasets/upload.html", {"form": form, "limit": settings.DATASET_MAX_UPLOAD_BYTES},
                      status=status)


def _filter_rows(request: HttpRequest, columns: list[str]) -> list[dict[str, str]]:
    cols, ops, vals = request.GET.getlist("col"), request.GET.getlist("op"), request.GET.getlist("val")
    rows = [{"col": c, "op": ops[i] if i < len(ops) else "eq", "val": vals[i] if i < len(vals) else ""}
            for i, c in enumerate(cols) if c]
    while len(rows) < 3:
        rows.append({"col": "", "op": "eq", "val": ""})
    return rows


def _projects_holding(dataset: Dataset) -> list[Any]:
    from projects.selectors import projects_holding_dataset

    return projects_holding_dataset(name=dataset.name)


class DatasetDetailView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_datasets)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        dataset = get_object_or_404(Dataset.objects.select_related("created_by"), pk=pk)
        columns = [c["name"] for c in dataset.columns]
        preview, error, status = None, "", 200
        try:
            view = selectors.view_from_query(request.GET)
            preview = selectors.dataset_preview(dataset=dataset, view=view)
        except QueryError as exc:
            error, status = str(exc), 400
        query = request.GET.copy()
        query.pop("start", None)
        nav: dict[str, str] = {}
        if preview is not None:
            limit = view.limit
            if preview.start > 0:
                query["start"] = str(max(1, preview.start + 1 - limit))
                nav["previous"] = query.urlencode()
            if preview.start + limit < preview.total:
                query["start"] = str(preview.start + limit + 1)
                nav["next"] = query.urlencode()
        export_query = request.GET.copy()
        for key in ("start", "limit", "format", "project", "experiment"):
            export_query.pop(key, None)
        placement = placement_from_query(user=request.user, query=request.GET)
        can_edit = roles.can_edit_dataset(request.user, dataset)
        edit_refusal = ""
        if can_edit:
            try:  # a project holding it may be locked by someone else: say so and offer no edit
                services.dataset_edit_check(user=request.user, dataset=dataset)
            except PermissionDenied as exc:
                edit_refusal = str(exc)
        context = {
            "dataset": dataset,
            "versions": selectors.dataset_versions(dataset=dataset),
            "runs": selectors.dataset_runs_visible(user=request.user, dataset=dataset).select_related("owner")[:100],
            "preview": preview,
            "preview_rows": list(zip(preview.row_numbers, preview.rows)) if preview else [],
            "preview_error": error,
            "first_row": preview.start + 1 if preview else 0,
            "last_row": preview.start + len(preview.rows) if preview else 0,
            "nav": nav,
            "filter_rows": _filter_rows(request, columns),
            "column_names": columns,
            "operators": [(k, label) for k, (label, _) in OPERATORS.items()],
            "sort": request.GET.get("sort", ""),
            "limit": request.GET.get("limit", ""),
            "export_query": export_query.urlencode(),
            "can_edit": can_edit and not edit_refusal,
            "can_delete": roles.can_delete_dataset(request.user, dataset) and not edit_refusal,
            "edit_refusal": edit_refusal,
            "projects": _projects_holding(dataset),
            "launch_links": launch_links(dataset=dataset, user=request.user, placement=placement.query),
            "placement": placement,
            "placement_query": urlencode(placement.query),
            "description_form": DescriptionForm(initial={"description": dataset.description}),
        }
        return render(request, "datasets/detail.html", context, status=status)


class DatasetExportView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_datasets)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        dataset = get_object_or_404(Dataset, pk=pk)
        try:
            export = selectors.dataset_export(dataset=dataset, view=selectors.view_from_query(request.GET),
                                              fmt=request.GET.get("format", "csv"))
        except QueryError as exc:
            return render(request, "error.html", {"status": 400, "title": "Cannot export", "message": str(exc)},
                          status=400)
        response = StreamingHttpResponse(export.chunks, content_type=download_content_type(export.filename))
        return as_attachment(response, export.filename)


class DatasetEditView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_edit_datasets)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        dataset = get_object_or_404(Dataset, pk=pk)
        form = DescriptionForm(request.POST)
        if form.is_valid():
            try:
                services.dataset_update(user=request.user, dataset=dataset, description=form.cleaned_data["description"])
            except PermissionDenied as exc:  # a project's lock or membership: the message names it
                messages.error(request, str(exc) or "You may not edit this dataset.")
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, "Description saved.")
        else:
            messages.error(request, "The description has at most 4,000 characters.")
        return HttpResponseRedirect(reverse("datasets:detail", args=[dataset.pk]))


class DatasetDeleteView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_datasets)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        dataset = get_object_or_404(Dataset, pk=pk)
        if not roles.can_delete_dataset(request.user, dataset):
            raise PermissionDenied
        try:
            services.dataset_delete(user=request.user, dataset=dataset)
        except PermissionDenied as exc:  # a project's lock: the message names the holder
            messages.error(request, str(exc) or "You may not delete this dataset.")
            return HttpResponseRedirect(reverse("datasets:detail", args=[dataset.pk]))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(reverse("datasets:detail", args=[dataset.pk]))
        messages.success(request, f"{dataset.label} deleted.")
        return HttpResponseRedirect(reverse("datasets:list"))

