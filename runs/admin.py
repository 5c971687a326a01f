"""Django admin for runs: every queryset and action goes through the roles module."""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import roles
from runs import services
from runs.admin_actions import cleanup_selected_runs, delete_runs_with_artifacts, recompute_checksums
from runs.models import Run, RunLog, Tag
from runs.services.manage import run_delete, runs_delete


class RunLogInline(admin.TabularInline):
    model = RunLog
    fields = ("created_at", "level", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    max_num = 0
    ordering = ("id",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("run_id", "kind", "status", "trigger", "owner", "progress", "created_at", "duration_seconds", "is_favourite")
    list_filter = ("status", "kind", "trigger", "origin", ("created_at", admin.DateFieldListFilter), "is_favourite")
    search_fields = ("run_id", "tags__name")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "id", "run_id", "kind", "status", "trigger", "owner", "params", "params_hash", "seed", "metrics",
        "checksum", "parent", "created_at", "started_at", "finished_at", "duration_seconds", "progress",
        "heartbeat_at", "error_message", "code_version", "worker", "cancel_requested",
        # Provenance is the import's to set, never an editor's: an imported run stays imported.
        "origin", "imported_at", "imported_from",
    )
    fields = readonly_fields + ("is_favourite", "tags", "notes")
    inlines = [RunLogInline]
    actions = ["cancel_runs", "mark_favourite", "unmark_favourite", delete_runs_with_artifacts, cleanup_selected_runs, recompute_checksums]
    autocomplete_fields = ("tags",)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        # Django's own bulk delete would leave artifact files behind; ours removes them.
        actions.pop("delete_selected", None)
        return actions

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        return super().get_queryset(request).filter(pk__in=Run.objects.visible_to(request.user).values("pk"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are launched through the launch form, the API or commands

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_view_runs(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_annotate_run(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return request.user.has_perm(roles.DELETE_ANY_RUN) or request.user.has_perm(roles.DELETE_OWN_RUN)
        # An active run is still written by its worker: it is cancelled first, as the API says.
        return roles.can_delete_run(request.user, obj) and not obj.is_active

    def delete_model(self, request: HttpRequest, obj: Run) -> None:
        """The per-object delete is the run delete service: roles, active runs, shared files, audit."""
        run_delete(run=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        runs_delete(runs=list(queryset), actor=request.user)

    def save_model(self, request: HttpRequest, obj: Run, form: Any, change: bool) -> None:
        """Annotations go through the service (roles, tag rules, audit), not a raw save."""
        # The form has already copied its values onto `obj`; compare against the stored row.
        services.run_annotate(
            run=Run.objects.get(pk=obj.pk),
            actor=request.user,
            is_favourite=form.cleaned_data.get("is_favourite"),
            notes=form.cleaned_data.get("notes"),
            tags=[t.name for t in form.cleaned_data.get("tags", [])],
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Tags were saved by run_annotate, so no form.save_m2m(); the read-only log
        # inline still goes through its (empty) save for the admin's change message.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def _set_favourite(self, request: HttpRequest, queryset: QuerySet[Run], value: bool) -> None:
        try:
            count = services.runs_set_favourite(runs=list(queryset), actor=request.user, value=value)
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"{count} run(s) {'marked' if value else 'unmarked'} as favourite.")

    @admin.action(description="Mark selected runs as favourite")
    def mark_favourite(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._set_favourite(request, queryset, True)

    @admin.action(description="Unmark selected runs as favourite")
    def unmark_favourite(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._set_favourite(request, queryset, False)

    @admin.action(description="Cancel selected runs")
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        runs = list(queryset)
        refused = [r.run_id for r in runs if not roles.can_cancel_run(request.user, r)]
        if refused:
            # All or nothing: a bulk action never half-applies.
            self.message_user(request, f"Not allowed to cancel: {', '.join(refused)}. Nothing was changed.", messages.ERROR)
            return
        done, skipped = 0, []
        for run in runs:
            try:
                services.run_cancel(run=run, actor=request.user)
                done += 1
            except (ValidationError, PermissionDenied):
                skipped.append(run.run_id)
        self.message_user(request, f"Cancel requested for {done} run(s).")
        if skipped:
            self.message_user(request, f"Already finished, left as they were: {', '.join(skipped)}", messages.WARNING)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """Read-only: tags change through the runs they label (run_annotate, audited), never here."""

    search_fields = ("name",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_view_runs(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
