"""Writes for accounts: the role matrix, API keys, the audit trail."""
from __future__ import annotations

import hashlib
import secrets
from typing import Any, Iterable

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, AuditEvent, User
from accounts import roles
from accounts.roles import ALL, ROLE_PERMISSIONS, Role

API_KEY_PREFIX_LENGTH = 8


# ---------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------
def _permission_map() -> dict[str, Permission]:
    return {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type")
    }


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Create the role groups and give each exactly the permissions of the matrix.

    Idempotent. Permissions named in the matrix whose app is not installed yet are
    skipped; they are granted by the next sync once they exist. Returns the number
    of permissions each role now holds.
    """
    # Permissions are normally created after migrate; make sure they exist now so
    # that a sync from a command or a test sees every app's permissions.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    by_name = _permission_map()
    counts: dict[str, int] = {}
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = ROLE_PERMISSIONS.get(role.value, ())
        if ALL in wanted:
            perms = list(by_name.values())
        else:
            perms = [by_name[name] for name in wanted if name in by_name]
        group.permissions.set(perms)
        counts[role.value] = len(perms)
    return counts


def roles_sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    """post_migrate hook: sync once per migrate (roles_sync creates every app's permissions)."""
    if sender.name != "accounts":
        return
    if kwargs.get("using", "default") != "default":
        return
    roles_sync()


# ---------------------------------------------------------------------------
# Users: every surface (admin, commands, API) changes accounts through these.
# `actor` None is ops (a management command run on the server), which may do anything.
# ---------------------------------------------------------------------------
def _require_change(actor: Any, user: User) -> None:
    if actor is not None and not roles.can_change_user(actor, user):
        raise PermissionDenied(f"You may not change the account {user.username!r}.")


@transaction.atomic
def user_create(
    *, actor: Any, username: str, password: str | None, email: str = "", first_name: str = "", last_name: str = ""
) -> User:
    """Create a plain account (no role, no staff status); `password` None makes it unusable."""
    if actor is not None and not roles.can_manage_users(actor):
        raise PermissionDenied("You may not create accounts.")
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(actor=actor, action="user.create", target=user.username, detail={"email": email})
    return user


@transaction.atomic
def user_update(*, actor: Any, user: User, changes: dict[str, Any]) -> User:
    """Change profile fields and the staff and superuser flags; refuse what the actor may not give.

    `user` is read again from the database (under a row lock), so the rules are
    checked against what is stored, not against an instance a form already changed.
    """
    allowed = set(roles.USER_PROFILE_FIELDS) | set(roles.USER_FLAG_FIELDS)
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValueError(f"Not a user field that can be changed here: {', '.join(unknown)}")
    stored = User.objects.select_for_update().get(pk=user.pk)
    _require_change(actor, stored)
    diff = {name: value for name, value in changes.items() if getattr(stored, name) != value}
    if actor is not None:
        if "is_superuser" in diff and not roles.can_set_superuser(actor):
            raise PermissionDenied("Only a superuser may change the superuser status.")
        if "is_staff" in diff and not roles.can_set_staff(actor):
            raise PermissionDenied("You may not change the staff status.")
    if not diff:
        return stored
    for name, value in diff.items():
        setattr(stored, name, value)
    stored.full_clean(exclude=["password"])
    stored.save(update_fields=list(diff))
    audit_record(actor=actor, action="user.update", target=stored.username, detail={"changes": diff})
    return stored


@transaction.atomic
def user_set_password(*, actor: Any, user: User, password: str | None) -> User:
    """Set (or, with None, disable) the password of an account the actor may change."""
    stored = User.objects.select_for_update().get(pk=user.pk)
    _require_change(actor, stored)
    if password is None:
        stored.set_unusable_password()
    else:
        stored.set_password(password)
    stored.save(update_fields=["password"])
    audit_record(
        actor=actor, action="user.set_password", target=stored.username, detail={"usable": password is not None}
    )
    return stored


@transaction.atomic
def user_set_groups(*, user: User, groups: Iterable[Group], actor: Any = None) -> None:
    """Give the user exactly these groups. Every group added or removed must be one the actor may grant."""
    stored = User.objects.select_for_update().get(pk=user.pk)
    _require_change(actor, stored)
    wanted = {g.pk: g for g in groups}
    current = {g.pk: g for g in stored.groups.all()}
    touched = [wanted[pk] for pk in wanted.keys() - current.keys()] + [current[pk] for pk in current.keys() - wanted.keys()]
    if actor is not None:
        refused = sorted(g.name for g in touched if not roles.can_grant_group(actor, g))
        if refused:
            raise PermissionDenied(f"You may not grant or remove: {', '.join(refused)}. Nothing was changed.")
    if not touched:
        return
    stored.groups.set(list(wanted.values()))
    audit_record(
        actor=actor, action="user.set_groups", target=stored.username,
        detail={"groups": sorted(g.name for g in wanted.values()),
                "added": sorted(g.name for g in wanted.values() if g.pk not in current),
                "removed": sorted(g.name for g in current.values() if g.pk not in wanted)},
    )


@transaction.atomic
def user_set_roles(*, user: User, roles: list[str], actor: Any = None) -> None:
    """Give the user exactly these roles (and no other group)."""
    from accounts.roles import Role as _Role

    unknown = sorted(set(roles) - set(_Role.values))
    if unknown:
        raise ValueError(f"Unknown role(s): {', '.join(unknown)}")
    groups = list(Group.objects.filter(name__in=roles))
    stored = User.objects.get(pk=user.pk)
    before = sorted(stored.groups.values_list("name", flat=True))
    user_set_groups(user=stored, groups=groups, actor=actor)
    audit_record(actor=actor, action="user.set_roles", target=user.username, detail={"roles": sorted(roles), "before": before})


@transaction.atomic
def user_set_permissions(*, user: User, permissions: Iterable[Permission], actor: Any = None) -> None:
    """Give the user exactly these direct permissions; each added or removed must be held by the actor."""
    stored = User.objects.select_for_update().get(pk=user.pk)
    _require_change(actor, stored)
    wanted = {p.pk: p for p in permissions}
    current = {p.pk: p for p in stored.user_permissions.select_related("content_type")}
    touched = [wanted[pk] for pk in wanted.keys() - current.keys()] + [current[pk] for pk in current.keys() - wanted.keys()]
    if actor is not None:
        refused = sorted(f"{p.content_type.app_label}.{p.codename}" for p in touched if not roles.can_grant_permission(actor, p))
        if refused:
            raise PermissionDenied(f"You may not grant or remove: {', '.join(refused)}. Nothing was changed.")
    if not touched:
        return
    stored.user_permissions.set(list(wanted.values()))
    audit_record(
        actor=actor, action="user.set_permissions", target=stored.username,
        detail={"permissions": sorted(f"{p.content_type.app_label}.{p.codename}" for p in wanted.values())},
    )


@transaction.atomic
def user_delete(*, actor: Any, user: User) -> None:
    stored = User.objects.select_for_update().get(pk=user.pk)
    _require_change(actor, stored)
    if actor is not None and not actor.has_perm("accounts.delete_user"):
        raise PermissionDenied("You may not delete accounts.")
    username = stored.username
    stored.delete()
    audit_record(actor=actor, action="user.delete", target=username)


@transaction.atomic
def group_set_permissions(*, group: Group, permissions: Iterable[Permission], actor: Any = None) -> None:
    """Give a group exactly these permissions: every one added or removed must be held by the actor.

    A role group drifts from the matrix by this; `setup_roles` puts it back.
    """
    wanted = {p.pk: p for p in permissions}
    current = {p.pk: p for p in group.permissions.select_related("content_type")}
    touched = [wanted[pk] for pk in wanted.keys() - current.keys()] + [current[pk] for pk in current.keys() - wanted.keys()]
    if actor is not None:
        if not actor.has_perm("auth.change_group"):
            raise PermissionDenied("You may not change groups.")
        refused = sorted(f"{p.content_type.app_label}.{p.codename}" for p in touched if not roles.can_grant_permission(actor, p))
        if refused:
            raise PermissionDenied(f"You may not grant or remove: {', '.join(refused)}. Nothing was changed.")
    if not touched:
        return
    group.permissions.set(list(wanted.values()))
    audit_record(
        actor=actor, action="group.set_permissions", target=group.name,
        detail={"added": sorted(f"{p.content_type.app_label}.{p.codename}" for p in touched if p.pk in wanted),
                "removed": sorted(f"{p.content_type.app_label}.{p.codename}" for p in touched if p.pk not in wanted)},
    )


# ---------------------------------------------------------------------------
# API keys
# ---------------------------------------------------------------------------
def api_key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


_OWNER = object()  # default actor of api_key_create: the owner creates their own key


@transaction.atomic
def api_key_create(*, owner: User, name: str, actor: Any = _OWNER) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown only this once.

    `actor` is who asks (the owner by default; None is ops, a command on the
    server). Creating a key for someone else lets its holder act as them, so it
    needs roles.can_create_api_key.
    """
    if actor is _OWNER:
        actor = owner
    name = (name or "").strip()
    if not name or len(name) > ApiKey._meta.get_field("name").max_length:
        raise ValidationError({"name": "A key needs a name of 1 to 100 characters."})
    if actor is not None and not roles.can_create_api_key(actor, owner):
        raise PermissionDenied(f"You may not create an API key for {owner.username!r}.")
    if not owner.is_active:
        raise ValidationError({"owner": f"{owner.username!r} is inactive."})
    raw = "rsk_" + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        owner=owner, name=name, prefix=raw[4 : 4 + API_KEY_PREFIX_LENGTH], key_hash=api_key_hash(raw)
    )
    audit_record(actor=actor, action="api_key.create", target=str(key.pk), detail={"name": name, "owner": owner.username})
    return key, raw


@transaction.atomic
def api_key_rename(*, key: ApiKey, name: str, actor: Any) -> ApiKey:
    """Only the name of a key changes after creation; owner, secret and revocation never do."""
    if actor is not None and not roles.can_manage_api_key(actor, key):
        raise PermissionDenied("You may not change this API key.")
    name = (name or "").strip()
    if not name or len(name) > ApiKey._meta.get_field("name").max_length:
        raise ValidationError({"name": "A key needs a name of 1 to 100 characters."})
    old = key.name
    if old != name:
        ApiKey.objects.filter(pk=key.pk).update(name=name)
        key.name = name
        audit_record(actor=actor, action="api_key.rename", target=str(key.pk), detail={"old": old, "new": name})
    return key


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Any) -> ApiKey:
    """Revoke for good: a revoked key is never made active again."""
    if actor is not None and not roles.can_manage_api_key(actor, key):
        raise PermissionDenied("You may not revoke this API key.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_key.revoke", target=str(key.pk), detail={"name": key.name})
    return key


# ---------------------------------------------------------------------------
# Audit
# ---------------------------------------------------------------------------
def audit_record(*, actor: Any, action: str, target: str = "", detail: dict | None = None) -> AuditEvent:
    """Append one event to the audit trail (anonymous actors are stored as null)."""
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(actor=actor_obj, action=action, target=target[:200], detail=detail or {})


def audit_admin_log_entry(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """post_save of the admin's LogEntry: every change made in the admin, to any model, is audited.

    Governed objects also record their own, detailed event through their services;
    this one is the floor that no admin class can forget (scheduler entries, the
    FinOps catalogue, anything registered later).
    """
    if not created or kwargs.get("raw"):
        return
    verb = {1: "add", 2: "change", 3: "delete"}.get(instance.action_flag, "change")
    content_type = instance.content_type
    model = f"{content_type.app_label}.{content_type.model}" if content_type else "unknown"
    audit_record(
        actor=instance.user,
        action=f"admin.{verb}",
        target=f"{model}:{instance.object_id}",
        detail={"object": instance.object_repr[:200], "message": instance.get_change_message()[:1000]},
    )
