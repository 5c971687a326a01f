"""Datasets in the admin: adding uploads through the service, changing edits the description through
the service, deleting deletes through the service (roles, runs that used it, audit). Data never changes here."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import roles
from datasets import services
from datasets.ingest import IngestError
from simulations.training.models import Dataset


class DatasetAddForm(forms.ModelForm):
    """Uploading is the whole of adding: the file is read and stored when the form is checked."""

    file = forms.FileField(help_text="CSV, xlsx, JSON records or Parquet.")
    sheet = forms.CharField(required=False, max_length=100, help_text="For a workbook with several sheets.")
    request: HttpRequest | None = None

    class Meta:
        model = Dataset
        fields = ["name", "description"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        upload = cleaned["file"]
        try:
            self.stored = services.dataset_upload(
                user=self.request.user, file=upload, name=cleaned.get("name") or "", filename=upload.name,
                sheet=cleaned.get("sheet") or None, description=cleaned.get("description") or "",
            )
        except IngestError as exc:
            where = ", ".join(x for x in (f"row {exc.row}" if exc.row is not None else "",
                                          f"column {exc.column!r}" if exc.column else "") if x)
            raise ValidationError({"file": exc.message + (f" ({where})" if where else "")}) from None
        except PermissionDenied as exc:
            raise ValidationError(str(exc) or "You may not upload datasets.") from None
        return cleaned

    def validate_unique(self) -> None:
        """The version is numbered by the service; (name, version) is never typed here."""


class DatasetChangeForm(forms.ModelForm):
    """Changing is editing the description; a refusal (a project's lock held by someone else) is a form error."""

    request: HttpRequest | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        try:
            services.dataset_edit_check(user=self.request.user, dataset=self.instance)
        except PermissionDenied as exc:
            raise ValidationError(str(exc) or "You may not edit this dataset.") from None
        return cleaned


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "source_format", "rows", "size_bytes", "sha256", "created_by", "created_at")
    list_filter = ("source_format", "kind")
    search_fields = ("name", "source_filename", "sha256")
    readonly_fields = ("name", "version", "kind", "format", "path", "sha256", "size_bytes", "rows", "columns", "source",
                       "source_filename", "source_format", "source_size_bytes", "created_by", "created_at")
    fields = ("name", "version", "description", *readonly_fields[2:])

    def get_form(self, request: HttpRequest, obj: Dataset | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            form = type("BoundDatasetAddForm", (DatasetAddForm,), {"request": request})
            kwargs["form"] = form
            kwargs["fields"] = ["name", "description", "file", "sheet"]
        else:
            kwargs["form"] = type("BoundDatasetChangeForm", (DatasetChangeForm,), {"request": request})
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Dataset | None = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Dataset | None = None) -> Any:
        return self.fields if obj is not None else ("name", "description", "file", "sheet")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_view_datasets(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return roles.can_edit_datasets(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_edit_datasets(request.user) if obj is None else roles.can_edit_dataset(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return roles.can_delete_dataset(request.user, None)
        return roles.can_delete_dataset(request.user, obj)

    def save_model(self, request: HttpRequest, obj: Dataset, form: Any, change: bool) -> None:
        if not change:
            stored = form.stored
            obj.pk = stored.pk
            obj.__dict__.update({k: v for k, v in stored.__dict__.items() if not k.startswith("_")})
            return
        description = obj.description
        fresh = Dataset.objects.get(pk=obj.pk)
        services.dataset_update(user=request.user, dataset=fresh, description=description)

    def delete_model(self, request: HttpRequest, obj: Dataset) -> None:
        try:
            services.dataset_delete(user=request.user, dataset=obj)
        except (ValidationError, PermissionDenied) as exc:
            self.message_user(request, " ".join(getattr(exc, "messages", [str(exc)])), level=messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        for dataset in queryset:
            self.delete_model(request, dataset)
