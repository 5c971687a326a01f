"""Admin of projects and experiments: every save, delete and lock action goes through the services,
so roles and the editing lock hold here as on the pages and the API (and each change is audited)."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import roles
from projects import services
from projects.models import Experiment, Project
from projects.selectors import editable_projects, project_lock_state


def _checked_form(base: type[forms.ModelForm], actor: Any, project_of: Any) -> type[forms.ModelForm]:
    """`base` with a clean() that refuses, as a form error, an edit the services would refuse."""

    class Checked(base):  # type: ignore[valid-type, misc]
        def clean(self) -> dict[str, Any]:
            data = super().clean()
            project = project_of(self.instance, data)
            if project is not None:
                try:
                    services.project_edit_check(actor=actor, project=project)
                except PermissionDenied as exc:
                    raise ValidationError(str(exc) or "You may not edit this project.") from None
            return data

    return Checked


class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "lock_state", "created_at", "updated_at")
    search_fields = ("name", "description")
    readonly_fields = ("uid", "owner", "created_at", "updated_at", "imported_at", "lock_state")
    actions = ["take_lock", "release_lock", "break_lock"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["name", "description"] if obj is None else ["name", "description", *self.readonly_fields]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return _checked_form(form, request.user, lambda instance, data: instance if instance.pk else None)

    @admin.display(description="Editing lock")
    def lock_state(self, obj: Project) -> str:
        state = project_lock_state(project=obj, user=None)
        return f"{state.holder} since {state.taken_at:%Y-%m-%d %H:%M}" if state.held else "free"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return roles.can_view_projects(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_view_projects(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return roles.can_create_project(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return roles.can_edit_some_projects(request.user)
        return roles.can_edit_project(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Project, form: Any, change: bool) -> None:
        if not change:
            created = services.project_create(actor=request.user, name=form.cleaned_data["name"],
                                              description=form.cleaned_data.get("description", ""))
            obj.pk = created.pk
            return
        current = Project.objects.get(pk=obj.pk)
        changes = {k: form.cleaned_data[k] for k in ("name", "description") if k in form.changed_data}
        services.project_update(actor=request.user, project=current, changes=changes)

    def delete_model(self, request: HttpRequest, obj: Project) -> None:
        services.project_delete(actor=request.user, project=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        for project in queryset:
            services.project_delete(actor=request.user, project=project)

    def _each(self, request: HttpRequest, queryset: QuerySet[Project], service: Any, done: str) -> None:
        for project in queryset:
            try:
                service(actor=request.user, project=project)
            except PermissionDenied as exc:
                self.message_user(request, f"{project.name}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{project.name}: {done}")

    @admin.action(description="Take the editing lock")
    def take_lock(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        self._each(request, queryset, services.project_lock_take, "you hold the lock.")

    @admin.action(description="Release my editing lock")
    def release_lock(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        self._each(request, queryset, services.project_lock_release, "lock released.")

    @admin.action(description="Break the editing lock (admin)")
    def break_lock(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        if not roles.can_break_project_lock(request.user):
            self.message_user(request, "Only an admin may break a project's editing lock.", messages.ERROR)
            return
        self._each(request, queryset, services.project_lock_break, "lock broken.")


class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "status", "created_by", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "purpose", "project__name")
    readonly_fields = ("uid", "created_by", "created_at", "updated_at")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        editable = ["name", "purpose", "parameters", "tags", "status"]
        return ["project", *editable] if obj is None else [*editable, *self.readonly_fields]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and "project" in form.base_fields:
            form.base_fields["project"].queryset = editable_projects(user=request.user)
        return _checked_form(
            form, request.user,
            lambda instance, data: instance.project if instance.pk else data.get("project"),
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return roles.can_view_projects(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_view_projects(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return roles.can_edit_some_projects(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return roles.can_edit_some_projects(request.user)
        return roles.can_edit_project(request.user, obj.project)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Experiment, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = services.experiment_create(
                actor=request.user, project=data["project"], name=data["name"], purpose=data.get("purpose", ""),
                parameters=data.get("parameters") or {}, tags=data.get("tags") or {},
            )
            if data.get("status") and data["status"] != created.status:
                services.experiment_update(actor=request.user, experiment=created, changes={"status": data["status"]})
            obj.pk = created.pk
            return
        current = Experiment.objects.select_related("project").get(pk=obj.pk)
        changes = {k: data[k] for k in ("name", "purpose", "parameters", "tags", "status") if k in form.changed_data}
        services.experiment_update(actor=request.user, experiment=current, changes=changes)

    def delete_model(self, request: HttpRequest, obj: Experiment) -> None:
        services.experiment_delete(actor=request.user, experiment=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset.select_related("project"):
            services.experiment_delete(actor=request.user, experiment=experiment)


admin.site.register(Project, ProjectAdmin)
admin.site.register(Experiment, ExperimentAdmin)
