"""Django admin of the registry: read-only rows; archive actions go through the services (audited)."""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import roles
from simulations.registry import services
from simulations.registry.models import ModelAlias, ModelVersion, RegisteredModel


class _RegistryReadOnly(admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return roles.can_view_registry(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_view_registry(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # archive instead: versions are lineage


@admin.register(RegisteredModel)
class RegisteredModelAdmin(_RegistryReadOnly):
    list_display = ("name", "description", "owner", "updated_at", "archived_at")
    search_fields = ("name", "description")
    readonly_fields = ("name", "description", "model_card", "owner", "created_at", "updated_at", "archived_at")
    actions = ["archive_models"]

    @admin.action(description="Archive the selected models (aliases removed; audited)")
    def archive_models(self, request: HttpRequest, queryset: QuerySet[RegisteredModel]) -> None:
        if not roles.can_manage_registry(request.user):
            self.message_user(request, "Only ml_admin and admin may archive models.", messages.ERROR)
            return
        done = 0
        for model in queryset.filter(archived_at__isnull=True):
            services.model_archive(model=model, actor=request.user)
            done += 1
        self.message_user(request, f"{done} model(s) archived.")


@admin.register(ModelVersion)
class ModelVersionAdmin(_RegistryReadOnly):
    list_display = ("model", "number", "model_type", "source_run_id", "created_by", "created_at", "archived_at")
    list_filter = ("model_type",)
    search_fields = ("model__name", "source_run_id")
    readonly_fields = ("model", "number", "run", "source_run_id", "model_type", "params", "dataset_id", "dataset_name",
                       "dataset_sha256", "metrics", "artifact_name", "artifact_sha256", "run_checksum", "created_by",
                       "created_at", "notes", "archived_at")
    actions = ["archive_versions"]

    @admin.action(description="Archive the selected versions (their aliases removed; audited)")
    def archive_versions(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if not roles.can_manage_registry(request.user):
            self.message_user(request, "Only ml_admin and admin may archive versions.", messages.ERROR)
            return
        done = 0
        for version in queryset.filter(archived_at__isnull=True).select_related("model"):
            services.version_archive(version=version, actor=request.user)
            done += 1
        self.message_user(request, f"{done} version(s) archived.")


@admin.register(ModelAlias)
class ModelAliasAdmin(_RegistryReadOnly):
    list_display = ("model", "name", "version", "updated_by", "updated_at")
    readonly_fields = ("model", "name", "version", "updated_by", "updated_at")
