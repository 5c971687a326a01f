"""Django admin of the result cache: read-only rows, launches and eviction through services."""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts import roles
from runs.models import RunTrigger
from runs.services import run_create
from simulations.models import CachedResult, ParameterSet
from simulations.params import run_params_from_cache_params
from simulations.services import cache_evict


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: anyone who may see runs may look, nobody edits here."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        # Django's default asks for a permission of the app; who may look is decided by the
        # role predicate, so the app's index page (the breadcrumb above) opens for the same people.
        return roles.can_view_runs(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_view_runs(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # eviction is an action: it must keep bytes that runs still use


class CachedResultInline(admin.TabularInline):
    model = CachedResult
    fields = ("name", "kind", "format", "storage", "rows", "size_bytes", "hit_count", "last_hit_at", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_view_runs(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ParameterSet)
class ParameterSetAdmin(ReadOnlyAdmin):
    list_display = ("short_hash", "seed", "n_positions", "entries", "created_at", "updated_at")
    search_fields = ("params_hash",)
    readonly_fields = ("params_hash", "params", "created_at", "updated_at")
    fields = readonly_fields
    inlines = [CachedResultInline]
    actions = ["launch_simulations", "launch_simulations_recompute"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ParameterSet]:
        return super().get_queryset(request).annotate(n_entries=Count("results"))

    @admin.display(description="params hash", ordering="params_hash")
    def short_hash(self, obj: ParameterSet) -> str:
        return obj.params_hash[:16]

    @admin.display(description="seed")
    def seed(self, obj: ParameterSet) -> Any:
        return obj.params.get("seed")

    @admin.display(description="positions")
    def n_positions(self, obj: ParameterSet) -> Any:
        return obj.params.get("n_positions")

    @admin.display(description="cached files", ordering="n_entries")
    def entries(self, obj: ParameterSet) -> int:
        return obj.n_entries

    def _launch(self, request: HttpRequest, queryset: QuerySet[ParameterSet], *, use_cache: bool) -> None:
        if not roles.can_launch_run(request.user):
            self.message_user(request, "You may not launch simulations. Nothing was launched.", messages.ERROR)
            return
        try:
            # All or nothing: one refused launch rolls back the others (and their queueing).
            with transaction.atomic():
                launched = [
                    run_create(
                        kind="simulation",
                        params={**run_params_from_cache_params(parameter_set.params), "use_cache": use_cache},
                        trigger=RunTrigger.MANUAL,
                        owner=request.user,
                    )
                    for parameter_set in queryset
                ]
        except (ValidationError, PermissionDenied, ValueError, KeyError) as exc:
            self.message_user(request, f"Could not launch: {exc}. Nothing was launched.", messages.ERROR)
            return
        self.message_user(request, f"Launched {', '.join(run.run_id for run in launched)}.")

    @admin.action(description="Launch a simulation with these parameters")
    def launch_simulations(self, request: HttpRequest, queryset: QuerySet[ParameterSet]) -> None:
        self._launch(request, queryset, use_cache=True)

    @admin.action(description="Launch a simulation with these parameters, forcing a recompute")
    def launch_simulations_recompute(self, request: HttpRequest, queryset: QuerySet[ParameterSet]) -> None:
        self._launch(request, queryset, use_cache=False)


@admin.register(CachedResult)
class CachedResultAdmin(ReadOnlyAdmin):
    list_display = (
        "name", "short_hash", "kind", "format", "storage", "rows", "size_bytes", "hit_count", "last_hit_at",
        "created_at",
    )
    list_filter = ("kind", "format", "storage")
    search_fields = ("parameter_set__params_hash", "name", "sha256")
    list_select_related = ("parameter_set",)
    readonly_fields = (
        "parameter_set", "name", "kind", "part", "format", "storage", "path", "rows", "size_bytes", "sha256",
        "source_run", "results_checksum", "created_at", "last_hit_at", "hit_count",
    )
    fields = readonly_fields
    actions = ["evict"]

    @admin.display(description="params hash", ordering="parameter_set__params_hash")
    def short_hash(self, obj: CachedResult) -> str:
        return obj.parameter_set.params_hash[:16]

    @admin.action(description="Evict the selected entries (keeps bytes that runs use)")
    def evict(self, request: HttpRequest, queryset: QuerySet[CachedResult]) -> None:
        if not roles.can_manage_console(request.user):
            self.message_user(request, "You may not manage the cache. Nothing was evicted.", messages.ERROR)
            return
        done = cache_evict(entries=queryset)
        from accounts.services import audit_record

        audit_record(actor=request.user, action="cache.evict", target="simulation-results",
                     detail={"removed": done.entries, "files": done.files, "selected": True})
        self.message_user(request, f"Evicted {done.entries} entries; {done.files} files no longer used were deleted.")
