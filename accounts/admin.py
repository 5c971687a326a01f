"""Django admin for accounts. Every change goes through accounts.services, which
checks the rules of accounts.roles (nobody grants what they do not hold, only a
superuser changes a superuser) and writes the audit trail."""
from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts import roles
from accounts.models import ApiKey, AuditEvent, User
from accounts.services import (
    api_key_create,
    api_key_rename,
    api_key_revoke,
    group_set_permissions,
    user_create,
    user_deactivate,
    user_delete,
    user_restore,
    user_set_groups,
    user_set_password,
    user_set_permissions,
    user_update,
)

# The person changing a password in the admin: Django builds the password form
# with the target user only, and the service needs the actor too.
_password_actor: ContextVar[Any] = ContextVar("password_actor", default=None)


class ServicePasswordChangeForm(AdminPasswordChangeForm):
    """The admin's password form, saved through user_set_password (rules and audit)."""

    def save(self, commit: bool = True) -> User:
        actor = _password_actor.get()
        if actor is None:
            raise PermissionDenied("No actor for a password change.")
        usable = self.cleaned_data.get("set_usable_password", True)
        password = self.cleaned_data.get("password1") if usable else None
        self.user = user_set_password(actor=actor, user=self.user, password=password)
        return self.user


def _grantable_groups(actor: Any) -> QuerySet[Group]:
    if roles.can_set_superuser(actor):
        return Group.objects.all()
    return Group.objects.filter(pk__in=[g.pk for g in Group.objects.all() if roles.can_grant_group(actor, g)])


def _grantable_permissions(actor: Any) -> QuerySet[Permission]:
    everything = Permission.objects.select_related("content_type")
    if roles.can_set_superuser(actor):
        return everything
    held = roles.held_permissions(actor) if roles.can_manage_users(actor) else set()
    pks = [p.pk for p in everything if f"{p.content_type.app_label}.{p.codename}" in (held or set())]
    return everything.filter(pk__in=pks)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "is_staff", "is_superuser", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    change_password_form = ServicePasswordChangeForm
    actions = ["deactivate_users", "restore_users"]

    @admin.action(description="Deactivate selected users (sign-in refused, sessions ended, API keys revoked)")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_active(request, queryset, user_deactivate, "Deactivated")

    @admin.action(description="Restore selected users")
    def restore_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_active(request, queryset, user_restore, "Restored")

    def _set_active(self, request: HttpRequest, queryset: QuerySet[User], service: Any, verb: str) -> None:
        users = list(queryset)
        refused = [u.username for u in users if not roles.can_change_user(request.user, u)]
        if refused:
            self.message_user(request, f"You may not change {', '.join(refused)}. Nothing was changed.", messages.ERROR)
            return
        try:
            from django.db import transaction

            with transaction.atomic():
                for user in users:
                    service(actor=request.user, user=user)
        except PermissionDenied as exc:
            self.message_user(request, f"{exc}", messages.ERROR)
            return
        self.message_user(request, f"{verb} {len(users)} user(s).")

    # -- what may be seen and touched ------------------------------------
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or roles.can_change_user(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or roles.can_change_user(request.user, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = ["last_login", "date_joined"]
        if not roles.can_set_superuser(request.user):
            fields.append("is_superuser")
        if not roles.can_set_staff(request.user):
            fields.append("is_staff")
        return tuple(fields)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Only what the actor holds is offered; a forged choice is "not a valid choice".
        if db_field.name == "groups":
            kwargs["queryset"] = _grantable_groups(request.user)
        elif db_field.name == "user_permissions":
            kwargs["queryset"] = _grantable_permissions(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # -- writes go through the services ------------------------------------
    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if not change:
            data = form.cleaned_data
            usable = data.get("usable_password", True) not in (False, "false")
            created = user_create(
                actor=request.user,
                username=data["username"],
                password=data.get("password1") if usable else None,
            )
            obj.pk = created.pk
            obj._state.adding = False
            obj._state.db = created._state.db
            return
        changes = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in roles.USER_PROFILE_FIELDS + roles.USER_FLAG_FIELDS
        }
        user_update(actor=request.user, user=obj, changes=changes)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # No form.save_m2m(): groups and permissions are granted by the services.
        user = User.objects.get(pk=form.instance.pk)
        if "groups" in form.cleaned_data and "groups" in form.changed_data:
            user_set_groups(user=user, groups=form.cleaned_data["groups"], actor=request.user)
        if "user_permissions" in form.cleaned_data and "user_permissions" in form.changed_data:
            user_set_permissions(user=user, permissions=form.cleaned_data["user_permissions"], actor=request.user)
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        user_delete(actor=request.user, user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = list(queryset)
        refused = [u.username for u in users if not roles.can_change_user(request.user, u)]
        if refused:
            raise PermissionDenied(f"You may not delete {', '.join(refused)}.")
        for user in users:
            user_delete(actor=request.user, user=user)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        target = self.get_object(request, unquote(id))
        if target is not None and not roles.can_change_user(request.user, target):
            raise PermissionDenied
        token = _password_actor.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_actor.reset(token)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    """Groups (roles) and their permissions: only permissions the actor holds may be added or removed."""

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "permissions":
            kwargs["queryset"] = _grantable_permissions(request.user) if not roles.can_set_superuser(request.user) \
                else Permission.objects.select_related("content_type")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if "permissions" in form.changed_data or not change:
            # Permissions outside the actor's reach that the group already holds stay.
            kept = [p for p in form.instance.permissions.all() if p not in form.fields["permissions"].queryset]
            group_set_permissions(
                group=form.instance, permissions=list(form.cleaned_data["permissions"]) + kept, actor=request.user
            )
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_model(self, request: HttpRequest, obj: Group, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        from accounts.services import audit_record

        if not change or "name" in form.changed_data:
            audit_record(actor=request.user, action="group.create" if not change else "group.rename", target=obj.name)

    def delete_model(self, request: HttpRequest, obj: Group) -> None:
        from accounts.services import audit_record

        name = obj.name
        super().delete_model(request, obj)
        audit_record(actor=request.user, action="group.delete", target=name)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Group]) -> None:
        for group in list(queryset):
            self.delete_model(request, group)


# ---------------------------------------------------------------------------
# API keys
# ---------------------------------------------------------------------------
class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("owner", "name")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created with their secret shown once; owner and revocation never change afterwards."""

    list_display = ("name", "prefix", "owner", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "owner__username")
    readonly_fields = ("owner", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at")
    fields = ("name",) + readonly_fields
    actions = ["revoke_keys"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        queryset = super().get_queryset(request).select_related("owner")
        if request.user.has_perm(roles.MANAGE_ALL_API_KEYS):
            return queryset
        return queryset.filter(owner=request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return roles.can_create_api_key(request.user, request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return roles.can_create_api_key(request.user, request.user)
        return roles.can_manage_api_key(request.user, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return roles.can_create_api_key(request.user, request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return roles.can_create_api_key(request.user, request.user)
        return roles.can_manage_api_key(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a key is revoked, never deleted: the audit trail keeps pointing at it

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
            kwargs["fields"] = ("owner", "name")
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("owner", "name") if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "owner":
            candidates = User.objects.filter(is_active=True)
            if not request.user.has_perm(roles.MANAGE_ALL_API_KEYS):
                candidates = candidates.filter(pk=request.user.pk)
            kwargs["queryset"] = candidates.filter(
                pk__in=[u.pk for u in candidates if roles.can_create_api_key(request.user, u)]
            )
            kwargs["initial"] = request.user.pk
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if not change:
            key, secret = api_key_create(owner=form.cleaned_data["owner"], name=form.cleaned_data["name"], actor=request.user)
            obj.pk = key.pk
            obj._state.adding = False
            obj._secret = secret  # shown once by response_add, never stored
            return
        if "name" in form.changed_data:
            api_key_rename(key=ApiKey.objects.get(pk=obj.pk), name=form.cleaned_data["name"], actor=request.user)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None  # no relations to save; the key was written by its service

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: Any = None) -> HttpResponse:
        """Show the secret on this page, once: it is in no redirect, message or cookie."""
        key = ApiKey.objects.select_related("owner").get(pk=obj.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "API key created",
            "opts": self.model._meta,
            "key": key,
            "secret": getattr(obj, "_secret", ""),
        }
        response = TemplateResponse(request, "admin/accounts/apikey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset)
        refused = [str(k) for k in keys if not roles.can_manage_api_key(request.user, k)]
        if refused:
            self.message_user(request, f"You may not revoke {', '.join(refused)}. Nothing was changed.", messages.ERROR)
            return
        for key in keys:
            api_key_revoke(key=key, actor=request.user)
        self.message_user(request, f"Revoked {len(keys)} key(s).")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor_name", "action", "target", "surface", "address")
    list_filter = ("surface", "action", "created_at")
    search_fields = ("target", "actor_name", "action")
    readonly_fields = ("created_at", "actor", "actor_name", "action", "target", "detail", "surface", "address",
                       "prev_hash", "entry_hash")

    def get_actions(self, request: HttpRequest) -> dict:
        return {}  # not even the bulk delete action is offered

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
