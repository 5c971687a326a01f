"""Reads of the console: users, the role matrix, API keys, the audit trail."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from django.contrib.auth.models import Group
from django.db.models import Count, QuerySet

from accounts import roles
from accounts.console.usage import usage_days
from accounts.models import ApiKey, AuditEvent, User
from accounts.roles import ROLE_PERMISSIONS, Role


def user_list() -> QuerySet[User]:
    return (User.objects.annotate(runs_owned=Count("runs", distinct=True))
            .prefetch_related("groups").order_by("username"))


class _RoleProbe:
    """A stand-in account holding exactly one role's permissions, to ask the predicates about the role."""

    is_authenticated = True
    is_active = True
    is_superuser = False
    is_staff = False
    pk = id = None

    def __init__(self, permissions: set[str]) -> None:
        self.permissions = permissions

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return perm in self.permissions


def role_predicates() -> list[tuple[str, Callable[[Any], bool]]]:
    """The predicates of accounts/roles.py that ask about a user alone (one required argument)."""
    found = []
    for name, function in inspect.getmembers(roles, inspect.isfunction):
        if not name.startswith("can_") or function.__module__ != roles.__name__:
            continue
        required = [p for p in inspect.signature(function).parameters.values()
                    if p.default is inspect.Parameter.empty]
        if len(required) == 1:
            found.append((name, function))
    return found


@dataclass
class RoleRow:
    role: str
    label: str
    permissions: list[str]
    answers: dict[str, bool]
    holders: list[str]


def role_matrix() -> tuple[list[str], list[RoleRow]]:
    """(predicate names, one row per role): what each role's permissions (as stored in its group,
    which the code checks) answer to each predicate, and who holds the role."""
    predicates = role_predicates()
    rows = []
    for role in Role:
        group = Group.objects.filter(name=role.value).first()
        held = roles.held_permissions_of_role(role.value) if group else set()
        probe = _RoleProbe(held)
        holders = list(group.user_set.filter(is_active=True).order_by("username").values_list("username", flat=True)) \
            if group else []
        if role == Role.ADMIN:
            supers = User.objects.filter(is_active=True, is_superuser=True).values_list("username", flat=True)
            holders = sorted(set(holders) | set(supers))
        rows.append(RoleRow(role.value, role.label, list(ROLE_PERMISSIONS.get(role.value, ())),
                            {name: bool(fn(probe)) for name, fn in predicates}, holders))
    return [name for name, _ in predicates], rows


def user_capabilities(user: User) -> dict[str, bool]:
    """What this account may do, from the same predicates (an inactive account may do nothing)."""
    return {name: bool(user.is_active and fn(user)) for name, fn in role_predicates()}


def api_keys_visible_to(user: Any, *, everyone: bool = False) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.select_related("owner").order_by("-created_at")
    if everyone and user.has_perm(roles.MANAGE_ALL_API_KEYS):
        return keys
    return keys.filter(owner=user)


def api_keys_with_usage(keys: list[ApiKey]) -> Iterator[tuple[ApiKey, list[tuple[Any, int]] | None, int | None]]:
    usage = usage_days([k.pk for k in keys])
    for key in keys:
        days = usage.get(key.pk)
        yield key, days, (sum(n for _, n in days) if days is not None else None)


def audit_list() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.order_by("-id")
