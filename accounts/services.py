"""Writes for accounts: the role matrix, API keys, the audit trail."""
from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, AuditEvent, User
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


@transaction.atomic
def user_set_roles(*, user: User, roles: list[str], actor: User | None = None) -> None:
    unknown = sorted(set(roles) - set(Role.values))
    if unknown:
        raise ValueError(f"Unknown role(s): {', '.join(unknown)}")
    user.groups.set(Group.objects.filter(name__in=roles))
    audit_record(actor=actor, action="user.set_roles", target=user.username, detail={"roles": sorted(roles)})


# ---------------------------------------------------------------------------
# API keys
# ---------------------------------------------------------------------------
def api_key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, owner: User, name: str) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown only this once."""
    raw = "rsk_" + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        owner=owner, name=name, prefix=raw[4 : 4 + API_KEY_PREFIX_LENGTH], key_hash=api_key_hash(raw)
    )
    audit_record(actor=owner, action="api_key.create", target=str(key.pk), detail={"name": name})
    return key, raw


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: User) -> ApiKey:
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
