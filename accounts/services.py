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


def _is_admin(user: User) -> bool:
    """An account that holds the admin role now (read from the database): active, superuser or in the group."""
    fresh = User.objects.filter(pk=user.pk).first()
    if fresh is None or not fresh.is_active:
        return False
    return fresh.is_superuser or fresh.groups.filter(name=Role.ADMIN.value).exists()


def _active_admin_count() -> int:
    from django.db.models import Q

    return User.objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(groups__name=Role.ADMIN.value)).distinct().count()


def _keep_an_admin(*, actor: Any, user: User, was_admin: bool) -> None:
    """Called after a change, inside its transaction: refusing rolls the change back.

    Nobody removes the last admin, and nobody takes their own admin role away
    (they would lock themselves out of the console in one click).
    """
    if not was_admin or _is_admin(user):
        return
    if actor is not None and getattr(actor, "pk", None) == user.pk:
        raise PermissionDenied("You may not remove your own admin role or deactivate yourself. Nothing was changed.")
    if _active_admin_count() == 0:
        raise PermissionDenied(f"{user.username!r} is the last admin: give the role to someone else first. "
                               "Nothing was changed.")


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
    before = {name: getattr(stored, name) for name in diff}
    was_admin = _is_admin(stored)
    for name, value in diff.items():
        setattr(stored, name, value)
    stored.full_clean(exclude=["password"])
    stored.save(update_fields=list(diff))
    _keep_an_admin(actor=actor, user=stored, was_admin=was_admin)
    if diff.get("is_active") is False:
        _end_access(stored)
    audit_record(actor=actor, action="user.update", target=stored.username,
                 detail={"changes": diff, "before": before, "after": diff})
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
    was_admin = _is_admin(stored)
    stored.groups.set(list(wanted.values()))
    _keep_an_admin(actor=actor, user=stored, was_admin=was_admin)
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
    if _is_admin(stored):
        if actor is not None and getattr(actor, "pk", None) == stored.pk:
            raise PermissionDenied("You may not delete your own account.")
        if _active_admin_count() <= 1:
            raise PermissionDenied(f"{username!r} is the last admin: give the role to someone else first.")
    stored.delete()
    audit_record(actor=actor, action="user.delete", target=username)


def _end_access(user: User) -> tuple[int, int]:
    """End every session of the account and revoke its API keys: (sessions ended, keys revoked)."""
    from django.contrib.sessions.models import Session

    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    revoked = ApiKey.objects.filter(owner=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return ended, revoked


@transaction.atomic
def user_deactivate(*, actor: Any, user: User) -> User:
    """Soft delete: the account can no longer sign in, its sessions end and its API keys are revoked.

    The row stays, so runs it owns and the audit trail keep naming it; user_restore reactivates it
    (its keys stay revoked: a revoked key is never made active again).
    """
    stored = User.objects.select_for_update().get(pk=user.pk)
    _require_change(actor, stored)
    if not stored.is_active:
        return stored
    was_admin = _is_admin(stored)
    stored.is_active = False
    stored.save(update_fields=["is_active"])
    _keep_an_admin(actor=actor, user=stored, was_admin=was_admin)
    ended, revoked = _end_access(stored)
    audit_record(actor=actor, action="user.deactivate", target=stored.username,
                 detail={"before": {"is_active": True}, "after": {"is_active": False},
                         "sessions_ended": ended, "api_keys_revoked": revoked})
    return stored


@transaction.atomic
def user_restore(*, actor: Any, user: User) -> User:
    stored = User.objects.select_for_update().get(pk=user.pk)
    _require_change(actor, stored)
    if stored.is_active:
        return stored
    stored.is_active = True
    stored.save(update_fields=["is_active"])
    audit_record(actor=actor, action="user.restore", target=stored.username,
                 detail={"before": {"is_active": False}, "after": {"is_active": True}})
    return stored


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
def api_key_create(*, owner: User, name: str, actor: Any = _OWNER, expires_at: Any = None) -> tuple[ApiKey, str]:
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
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    raw = "rsk_" + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        owner=owner, name=name, prefix=raw[4 : 4 + API_KEY_PREFIX_LENGTH], key_hash=api_key_hash(raw),
        expires_at=expires_at,
    )
    audit_record(actor=actor, action="api_key.create", target=str(key.pk),
                 detail={"name": name, "owner": owner.username, "prefix": key.prefix,
                         "expires_at": expires_at.isoformat() if expires_at else None})
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
        audit_record(actor=actor, action="api_key.revoke", target=str(key.pk),
                     detail={"name": key.name, "owner": key.owner.username, "prefix": key.prefix})
    return key


# ---------------------------------------------------------------------------
# Audit
# ---------------------------------------------------------------------------
_AUDIT_CHAIN_LOCK = 0x52554E5349474854  # "RUNSIGHT": the advisory lock that orders the chain on PostgreSQL


@transaction.atomic
def audit_record(*, actor: Any, action: str, target: str = "", detail: dict | None = None) -> AuditEvent:
    """Append one event to the audit trail (anonymous actors are stored as null).

    The surface (page, API, admin, command) and the client address come from the
    request context (accounts.console.context). The entry is chained to the last
    one: on PostgreSQL a transaction-scoped advisory lock makes concurrent writers
    take turns (a row lock on the last entry would not: a waiter would then chain
    to the entry that is no longer last); SQLite serialises writers already.
    """
    from django.db import connection

    from accounts.console.audit_chain import canonical_detail, entry_digest
    from accounts.console.context import current

    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    context = current()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_CHAIN_LOCK])
    previous = AuditEvent.objects.order_by("-id").values_list("entry_hash", flat=True).first() or ""
    event = AuditEvent(
        created_at=timezone.now(), actor=actor_obj, actor_name=getattr(actor_obj, "username", "") or "",
        action=action, target=(target or "")[:200], detail=canonical_detail(detail),
        surface=context.surface, address=context.address, prev_hash=previous,
    )
    event.entry_hash = entry_digest(
        created_at=event.created_at, actor_name=event.actor_name, action=event.action, target=event.target,
        detail=event.detail, surface=event.surface, address=event.address, prev_hash=previous,
    )
    event.save(force_insert=True)
    return event


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
