"""The roles and what they may do: the one place where access rules live.

Roles are Django groups. Each role holds a set of permissions; predicates below
answer questions such as "may this user delete this run?" and every view,
viewset, admin class and bulk operation asks them rather than checking groups.
Permission names are plain strings so that this module imports no other app.
"""
from __future__ import annotations

from typing import Any, Protocol

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    GOVERNANCE_ADMIN = "governance_admin", "Governance admin"
    ML_ADMIN = "ml_admin", "ML admin"
    ANALYST = "analyst", "Analyst"
    VIEWER = "viewer", "Viewer"
    FINOPS_ADMIN = "finops_admin", "FinOps admin"
    FINOPS_USER = "finops_user", "FinOps user"


# Permissions of the run core (runs.Run Meta.permissions and default ones).
VIEW_RUNS = "runs.view_run"
LAUNCH_RUNS = "runs.launch_run"
ANNOTATE_RUNS = "runs.annotate_run"  # tag, note, favourite, save comparisons
IMPORT_RUNS = "runs.import_run"
DELETE_ANY_RUN = "runs.delete_run"
DELETE_OWN_RUN = "runs.delete_own_run"
CLEANUP_RUNS = "runs.cleanup_runs"
CANCEL_ANY_RUN = "runs.cancel_run"
# Capabilities that belong to no table (accounts.Capability).
VIEW_CONSOLE = "accounts.view_console"
MANAGE_CONSOLE = "accounts.manage_console"
MANAGE_USERS = "accounts.manage_users"
VIEW_AUDIT = "accounts.view_audit"
MANAGE_ALL_API_KEYS = "accounts.manage_all_api_keys"

ALL = "*"  # every permission in the database

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.ADMIN: (ALL,),
    Role.GOVERNANCE_ADMIN: (
        VIEW_RUNS,
        VIEW_CONSOLE,
        MANAGE_USERS,
        VIEW_AUDIT,
        MANAGE_ALL_API_KEYS,
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "accounts.view_auditevent",
        "accounts.view_apikey",
        "auth.view_group",
    ),
    Role.ML_ADMIN: (
        VIEW_RUNS,
        LAUNCH_RUNS,
        ANNOTATE_RUNS,
        IMPORT_RUNS,
        DELETE_ANY_RUN,
        CLEANUP_RUNS,
        CANCEL_ANY_RUN,
        VIEW_CONSOLE,
        MANAGE_CONSOLE,
        "simulations.train_model",
        "simulations.manage_registry",
    ),
    Role.ANALYST: (VIEW_RUNS, LAUNCH_RUNS, ANNOTATE_RUNS, IMPORT_RUNS, DELETE_OWN_RUN),
    Role.VIEWER: (VIEW_RUNS,),
    Role.FINOPS_ADMIN: ("finops_admin.view_batchrun", "finops_admin.trigger_batchrun"),
    Role.FINOPS_USER: (),
}


class _User(Protocol):
    id: Any
    is_authenticated: bool

    def has_perm(self, perm: str, obj: Any = None) -> bool: ...


class _Owned(Protocol):
    owner_id: Any


def _has(user: _User | None, perm: str) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_perm(perm))


def roles_of(user: Any) -> list[str]:
    """Names of the roles a user holds (superusers hold admin implicitly)."""
    if not getattr(user, "is_authenticated", False):
        return []
    names = set(user.groups.values_list("name", flat=True))
    if user.is_superuser:
        names.add(Role.ADMIN)
    return [role.value for role in Role if role.value in names]


# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------
def can_view_runs(user: _User | None) -> bool:
    return _has(user, VIEW_RUNS)


def can_launch_run(user: _User | None, permission: str = LAUNCH_RUNS) -> bool:
    """May the user launch a run whose kind requires `permission`?"""
    return _has(user, permission)


def can_annotate_run(user: _User | None, run: _Owned | None = None) -> bool:
    return _has(user, ANNOTATE_RUNS)


def can_import_runs(user: _User | None) -> bool:
    return _has(user, IMPORT_RUNS)


def can_delete_run(user: _User | None, run: _Owned) -> bool:
    if _has(user, DELETE_ANY_RUN):
        return True
    return _has(user, DELETE_OWN_RUN) and run.owner_id is not None and run.owner_id == user.id


def can_cancel_run(user: _User | None, run: _Owned) -> bool:
    """Owners may stop their own runs; operators may stop any."""
    if _has(user, CANCEL_ANY_RUN):
        return True
    return _has(user, LAUNCH_RUNS) and run.owner_id is not None and run.owner_id == user.id


def can_cleanup_runs(user: _User | None) -> bool:
    return _has(user, CLEANUP_RUNS)


def can_export_run(user: _User | None, run: _Owned | None = None) -> bool:
    """Exporting only reads: whoever may see runs may export the ones they see."""
    return _has(user, VIEW_RUNS)


def can_compare_runs(user: _User | None) -> bool:
    return _has(user, VIEW_RUNS)


def can_save_comparison(user: _User | None) -> bool:
    return _has(user, ANNOTATE_RUNS)


def can_change_comparison(user: _User | None, comparison: _Owned) -> bool:
    """Owners change and delete their saved comparisons; run deleters may change any."""
    if _has(user, DELETE_ANY_RUN):
        return True
    return _has(user, ANNOTATE_RUNS) and comparison.owner_id is not None and comparison.owner_id == user.id


# ---------------------------------------------------------------------------
# Governance and console
# ---------------------------------------------------------------------------
def can_manage_users(user: _User | None) -> bool:
    return _has(user, MANAGE_USERS)


def can_view_audit(user: _User | None) -> bool:
    return _has(user, VIEW_AUDIT)


def can_view_console(user: _User | None) -> bool:
    return _has(user, VIEW_CONSOLE)


def can_manage_console(user: _User | None) -> bool:
    return _has(user, MANAGE_CONSOLE)


def can_manage_api_key(user: _User | None, key: _Owned) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return key.owner_id == user.id or _has(user, MANAGE_ALL_API_KEYS)
