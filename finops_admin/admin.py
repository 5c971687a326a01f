"""Django admin of FinOps: the catalogue and rules (edited, audited), readings (read-only, filtered),
batch runs with their blocks and aggregate refreshes inline (read-only: a batch writes them).

The monthly schedule is django-celery-beat's own admin (Periodic tasks › "FinOps monthly batch").
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts import roles
from accounts.services import audit_record
from finops_admin.models import (
    AggregateRefresh, AllocationRule, Application, BatchBlock, BatchRun, CostReading, Currency, Domain, Family,
)


class CatalogueAdmin(admin.ModelAdmin):
    """Catalogue rows: who may do what comes from the role predicate; every change is audited."""

    def _model(self) -> str:
        return self.model._meta.model_name

    def has_module_permission(self, request: HttpRequest) -> bool:
        return roles.can_manage_finops_catalogue(request.user, "view", "domain") or roles.can_view_finops_batches(
            request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_manage_finops_catalogue(request.user, "view", self._model())

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_manage_finops_catalogue(request.user, "add", self._model())

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_manage_finops_catalogue(request.user, "change", self._model())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_manage_finops_catalogue(request.user, "delete", self._model())

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user, action=f"finops.{self._model()}.{'change' if change else 'add'}", target=str(obj)[:200],
            detail={"pk": str(obj.pk), "fields": sorted(form.changed_data)},
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        target, pk = str(obj)[:200], str(obj.pk)
        super().delete_model(request, obj)
        audit_record(actor=request.user, action=f"finops.{self._model()}.delete", target=target, detail={"pk": pk})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in list(queryset):
            self.delete_model(request, obj)


@admin.register(Domain)
class DomainAdmin(CatalogueAdmin):
    list_display = ("code", "name", "position")
    search_fields = ("code", "name")


@admin.register(Family)
class FamilyAdmin(CatalogueAdmin):
    list_display = ("name", "code", "domain", "is_unallocated")
    list_filter = ("domain", "is_unallocated")
    search_fields = ("code", "name")
    list_select_related = ("domain",)


@admin.register(Application)
class ApplicationAdmin(CatalogueAdmin):
    list_display = ("code", "name", "family", "domain", "owner_team", "is_unallocated")
    list_filter = ("domain", "is_unallocated")
    search_fields = ("code", "name", "owner_team")
    list_select_related = ("family__domain", "domain")
    raw_id_fields = ("family",)


@admin.register(AllocationRule)
class AllocationRuleAdmin(CatalogueAdmin):
    list_display = ("priority", "field", "tag_key", "value", "application", "domain", "is_active")
    list_filter = ("field", "domain", "is_active")
    search_fields = ("value", "tag_key", "application__code")
    list_select_related = ("application", "domain")
    raw_id_fields = ("application",)
    ordering = ("priority", "id")


@admin.register(Currency)
class CurrencyAdmin(CatalogueAdmin):
    list_display = ("code", "name")


@admin.register(CostReading)
class CostReadingAdmin(admin.ModelAdmin):
    """Readings are written by batches only: read here, filtered by month, domain, provider."""

    list_display = ("period", "domain", "application", "provider", "service_name", "billed_cost", "effective_cost",
                    "billing_currency", "source_file", "source_row")
    list_filter = ("period", "domain", "provider", "billing_currency")
    search_fields = ("application__code", "service_name", "billing_account", "sub_account")
    list_select_related = ("domain", "application")
    show_full_result_count = False  # tens of millions of rows: no COUNT(*) per page
    date_hierarchy = None

    def has_module_permission(self, request: HttpRequest) -> bool:
        return roles.can_view_finops_batches(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_manage_finops_catalogue(request.user, "view", "costreading")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BatchBlockInline(admin.TabularInline):
    model = BatchBlock
    extra = 0
    can_delete = False
    fields = ("domain", "status", "started_at", "duration_seconds", "files_read", "rows_read", "rows_inserted",
              "rows_deleted", "rows_rejected", "error_count", "errors")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AggregateRefreshInline(admin.TabularInline):
    model = AggregateRefresh
    extra = 0
    can_delete = False
    fields = ("view", "started_at", "finished_at", "duration_seconds", "rows")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BatchRun)
class BatchRunAdmin(admin.ModelAdmin):
    """Read-only: a batch writes these rows; launch and reprocess from Admin › Batch Runs."""

    list_display = ("run_link", "status", "trigger", "periods", "rows_inserted", "views_refreshed", "error_count",
                    "is_anomalous")
    list_filter = ("run__status", "run__trigger", "is_anomalous")
    search_fields = ("run__run_id",)
    list_select_related = ("run",)
    ordering = ("-run__created_at",)
    inlines = [BatchBlockInline, AggregateRefreshInline]
    readonly_fields = ("run", "periods", "domains", "source", "rows_inserted", "rows_deleted", "rows_rejected",
                       "views_refreshed", "error_count", "short_error", "is_anomalous", "anomalies", "page")

    @admin.display(description="run", ordering="run__run_id")
    def run_link(self, obj: BatchRun) -> str:
        return obj.run.run_id

    @admin.display(ordering="run__status")
    def status(self, obj: BatchRun) -> str:
        return obj.run.status

    @admin.display(ordering="run__trigger")
    def trigger(self, obj: BatchRun) -> str:
        return obj.run.trigger

    @admin.display(description="Batch Runs page")
    def page(self, obj: BatchRun) -> str:
        return format_html('<a href="{}">{}</a>', reverse("finops_admin:batch_detail", args=[obj.run.run_id]),
                           obj.run.run_id)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return roles.can_view_finops_batches(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_view_finops_batches(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a batch goes with its run (the run delete service)
