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
# Model training (simulations.ParameterSet Meta.permissions).
TRAIN_MODELS = "simulations.train_model"
MANAGE_REGISTRY = "simulations.manage_registry"

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
        "projects.add_project",
        "projects.change_project",
    ),
    # Analysts may train models too (the training run kind); promoting in a registry stays with ml_admin.
    Role.ANALYST: (VIEW_RUNS, LAUNCH_RUNS, ANNOTATE_RUNS, IMPORT_RUNS, DELETE_OWN_RUN, "simulations.train_model",
                   "projects.add_project", "projects.change_project"),
    Role.VIEWER: (VIEW_RUNS,),
    Role.FINOPS_ADMIN: (
        "finops_admin.view_batchrun",
        "finops_admin.trigger_batchrun",
        # The catalogue and allocation rules (edited in the admin, with staff status); readings read-only.
        *(f"finops_admin.{action}_{model}" for model in ("domain", "family", "application", "allocationrule",
                                                          "currency") for action in ("view", "add", "change", "delete")),
        "finops_admin.view_costreading",
    ),
    # The cost views (dashboard, drill-down, rankings, history, their API): read only.
    Role.FINOPS_USER: ("finops_admin.view_costreading",),
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


def can_view_datasets(user: _User | None) -> bool:
    """Training datasets are read by whoever reads runs (viewers included)."""
    return _has(user, VIEW_RUNS)


def can_train_models(user: _User | None) -> bool:
    """Launch training runs and upload datasets: ml_admin, admin and analysts."""
    return _has(user, VIEW_RUNS) and _has(user, TRAIN_MODELS)


def can_edit_datasets(user: _User | None) -> bool:
    """Upload datasets (a new name or a new version of one) and edit their descriptions: analysts,
    ml_admin and admin, who hold the training permission since datasets feed training. A project's
    membership and lock are checked on top of this by the datasets services."""
    return _has(user, VIEW_RUNS) and _has(user, TRAIN_MODELS)


def can_edit_dataset(user: _User | None, dataset: Any) -> bool:
    """Edit this dataset (its description); the same people as `can_edit_datasets`."""
    return can_edit_datasets(user)


def can_delete_dataset(user: _User | None, dataset: Any) -> bool:
    """Delete a dataset version: admin only (runs that read it keep its id and checksum)."""
    return _has(user, VIEW_RUNS) and _has(user, "simulations.delete_dataset")


def can_view_registry(user: _User | None) -> bool:
    """The model registry (models, versions, aliases, scoring with a model) is read by whoever reads runs."""
    return _has(user, VIEW_RUNS)


def can_manage_registry(user: _User | None) -> bool:
    """Register versions, move aliases (promote), archive, edit model cards: ml_admin and admin."""
    return _has(user, VIEW_RUNS) and _has(user, MANAGE_REGISTRY)


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


def can_delete_some_runs(user: _User | None) -> bool:
    """May the user delete any run at all (their own at least)? Deletion surfaces refuse the
    others before reading what they were sent."""
    return _has(user, DELETE_ANY_RUN) or _has(user, DELETE_OWN_RUN)


# Each run kind's launch permission, registered by the run core as kinds register, so that
# "may stop their own run" follows who may launch that kind (a FinOps batch is launched with
# finops_admin.trigger_batchrun, not runs.launch_run) without this module importing runs.
_KIND_LAUNCH_PERMISSIONS: dict[str, str] = {}


def register_launch_permission(kind: str, permission: str) -> None:
    _KIND_LAUNCH_PERMISSIONS[kind] = permission


def can_cancel_run(user: _User | None, run: _Owned) -> bool:
    """Owners may stop their own runs if they may still launch runs of that kind; operators
    may stop any."""
    if _has(user, CANCEL_ANY_RUN):
        return True
    permission = _KIND_LAUNCH_PERMISSIONS.get(getattr(run, "kind", ""), LAUNCH_RUNS)
    return _has(user, permission) and run.owner_id is not None and run.owner_id == user.id


def can_track_runs(user: _User | None) -> bool:
    """Create runs through the MLflow-compatible tracking API (and experiments for them):
    whoever may see and launch runs."""
    return _has(user, VIEW_RUNS) and _has(user, LAUNCH_RUNS)


def can_log_to_run(user: _User | None, run: _Owned) -> bool:
    """Log metrics, parameters and tags into a tracked run, or end it: its owner (the client
    that created it), or an operator who may delete any run."""
    if not can_track_runs(user):
        return False
    return _has(user, DELETE_ANY_RUN) or (run.owner_id is not None and run.owner_id == user.id)


def can_cleanup_runs(user: _User | None) -> bool:
    return _has(user, CLEANUP_RUNS)


def can_export_run(user: _User | None, run: _Owned | None = None) -> bool:
    """Exporting only reads: whoever may see runs may export the ones they see."""
    return _has(user, VIEW_RUNS)


def can_compare_runs(user: _User | None) -> bool:
    return _has(user, VIEW_RUNS)


def can_save_comparison(user: _User | None) -> bool:
    return _has(user, ANNOTATE_RUNS)


def can_save_view(user: _User | None) -> bool:
    """A saved run list view is a person's own query: whoever may see runs may keep some."""
    return _has(user, VIEW_RUNS)


def can_change_view(user: _User | None, view: _Owned) -> bool:
    """Only its owner changes, shares or deletes a saved view; others may open it when shared."""
    return _has(user, VIEW_RUNS) and view.owner_id is not None and view.owner_id == user.id


def can_change_comparison(user: _User | None, comparison: _Owned) -> bool:
    """Owners change and delete their saved comparisons; run deleters may change any."""
    if _has(user, DELETE_ANY_RUN):
        return True
    return _has(user, ANNOTATE_RUNS) and comparison.owner_id is not None and comparison.owner_id == user.id


# ---------------------------------------------------------------------------
# Projects (experiments, datasets and runs grouped; edited under an exclusive lock)
# ---------------------------------------------------------------------------
ADD_PROJECT = "projects.add_project"
CHANGE_PROJECT = "projects.change_project"
MANAGE_ALL_PROJECTS = "projects.manage_all_projects"


class _Membered(Protocol):
    owner_id: Any

    def has_member(self, user: Any) -> bool: ...


def can_view_projects(user: _User | None) -> bool:
    """Projects, their experiments, datasets, timeline and bundles are read by whoever reads runs."""
    return _has(user, VIEW_RUNS)


def can_create_project(user: _User | None) -> bool:
    """Analysts, ml_admin and admin create projects (and become their owner and first member)."""
    return _has(user, VIEW_RUNS) and _has(user, ADD_PROJECT)


def can_edit_project(user: _User | None, project: _Membered) -> bool:
    """Edit metadata, members, experiments, datasets, and file runs: members who may edit projects
    at all; admin edits every project. Editing also needs the project's lock (projects.services)."""
    if _has(user, MANAGE_ALL_PROJECTS):
        return True
    return _has(user, VIEW_RUNS) and _has(user, CHANGE_PROJECT) and project.has_member(user)


def can_edit_some_projects(user: _User | None) -> bool:
    """May the user edit any project at all (its own memberships aside)? Surfaces show edit controls on it."""
    return _has(user, MANAGE_ALL_PROJECTS) or (_has(user, VIEW_RUNS) and _has(user, CHANGE_PROJECT))


def can_edit_every_project(user: _User | None) -> bool:
    """Admin edits every project, member or not."""
    return _has(user, MANAGE_ALL_PROJECTS)


def can_break_project_lock(user: _User | None) -> bool:
    """Only an admin breaks another member's editing lock (audited)."""
    return _has(user, MANAGE_ALL_PROJECTS)


def can_import_projects(user: _User | None) -> bool:
    """A project bundle creates a project and imports runs: whoever may do both."""
    return can_create_project(user) and _has(user, IMPORT_RUNS)


# ---------------------------------------------------------------------------
# FinOps batch (Admin › Batch Runs)
# ---------------------------------------------------------------------------
VIEW_FINOPS_BATCHES = "finops_admin.view_batchrun"
TRIGGER_FINOPS_BATCH = "finops_admin.trigger_batchrun"


def can_view_finops_batches(user: _User | None) -> bool:
    """The Batch Runs section (pages, API, menu): finops_admin and admin; finops_user never."""
    return _has(user, VIEW_FINOPS_BATCHES)


def can_trigger_finops_batch(user: _User | None) -> bool:
    """Launch or reprocess a FinOps batch: needs to see the section as well."""
    return _has(user, VIEW_FINOPS_BATCHES) and _has(user, TRIGGER_FINOPS_BATCH)


VIEW_FINOPS_COSTS = "finops_admin.view_costreading"


def can_view_finops_costs(user: _User | None) -> bool:
    """FinOps cost views (pages, API, menu): finops_user, finops_admin, admin, or whoever is granted it."""
    return _has(user, VIEW_FINOPS_COSTS)


def can_manage_finops_catalogue(user: _User | None, action: str = "change", model: str = "application") -> bool:
    """Domains, families, applications, allocation rules, currencies: `action` is view, add, change or delete."""
    return _has(user, f"finops_admin.{action}_{model}")


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


def can_create_api_key(actor: Any, owner: Any) -> bool:
    """Everyone may make keys for themselves; a key for someone else lets its holder act as them,
    so only a manager of all keys who may change that account makes one."""
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return False
    if getattr(owner, "pk", None) == actor.pk:
        return True
    return _has(actor, MANAGE_ALL_API_KEYS) and can_change_user(actor, owner)


def can_manage_api_key(user: _User | None, key: _Owned) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return key.owner_id == user.id or _has(user, MANAGE_ALL_API_KEYS)


# ---------------------------------------------------------------------------
# Users, roles and permissions: nobody grants what they do not hold
# ---------------------------------------------------------------------------
# User fields a manager may change; the password, roles and permissions have their own services.
USER_PROFILE_FIELDS = ("username", "first_name", "last_name", "email", "is_active")
USER_FLAG_FIELDS = ("is_staff", "is_superuser")


def held_permissions(user: Any) -> set[str] | None:
    """Every permission the account holds ("app.codename"), or None for a superuser (all of them).

    Read from the database whether the account is active or not: ModelBackend
    answers an empty set for an inactive account, which would let a manager
    "change" a deactivated administrator and then reactivate it.
    """
    if getattr(user, "is_superuser", False):
        return None
    if getattr(user, "pk", None) is None:
        return set()
    from django.contrib.auth.models import Permission

    direct = Permission.objects.filter(user=user)
    via_groups = Permission.objects.filter(group__user=user)
    return {f"{app}.{codename}" for app, codename in (direct | via_groups).values_list("content_type__app_label", "codename")}


def _permission_names(permissions: Any) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions.select_related("content_type")}


def _actor_holds(actor: Any, names: set[str]) -> bool:
    """Does an active, signed-in actor hold every permission in `names`?"""
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return False
    held = held_permissions(actor)
    return held is None or names <= held


def can_grant_permission(actor: Any, permission: Any) -> bool:
    """May the actor give (or take away) this Permission object? Only one they hold themselves."""
    if getattr(actor, "is_superuser", False) and getattr(actor, "is_active", False):
        return True
    return can_manage_users(actor) and _actor_holds(actor, {f"{permission.content_type.app_label}.{permission.codename}"})


def can_grant_group(actor: Any, group: Any) -> bool:
    """May the actor put users into (or take them out of) this group? Only if it holds all of the group's permissions."""
    if getattr(actor, "is_superuser", False) and getattr(actor, "is_active", False):
        return True
    return can_manage_users(actor) and _actor_holds(actor, _permission_names(group.permissions.all()))


def can_grant_role(actor: Any, role: str) -> bool:
    """May the actor grant the role named `role` (a group of the role matrix)?"""
    from django.contrib.auth.models import Group

    group = Group.objects.filter(name=str(role)).first()
    return group is not None and can_grant_group(actor, group)


def can_set_superuser(actor: Any) -> bool:
    """Only a superuser makes or unmakes a superuser."""
    return bool(getattr(actor, "is_superuser", False) and getattr(actor, "is_active", False))


def can_set_staff(actor: Any) -> bool:
    """Staff status opens the admin site: a superuser, or a staff member holding the admin role, gives it.

    A governance admin manages users but does not hand out admin access: that
    would let it build accounts stronger than the rules it is trusted with.
    """
    if can_set_superuser(actor):
        return True
    return bool(getattr(actor, "is_staff", False)) and can_manage_users(actor) and _actor_holds(actor, held_permissions_of_role(Role.ADMIN))


def held_permissions_of_role(role: str) -> set[str]:
    from django.contrib.auth.models import Group

    group = Group.objects.filter(name=str(role)).first()
    return _permission_names(group.permissions.all()) if group is not None else {"<missing role>"}


def can_change_user(actor: Any, target: Any) -> bool:
    """May the actor change this account (profile, password, roles, deletion)?

    Only a superuser changes a superuser. Otherwise the actor must manage users
    and hold every permission the target holds (an account stronger than the
    actor is out of reach, so resetting its password cannot take it over), and a
    staff target needs an actor who may give staff status.
    """
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return False
    if can_set_superuser(actor):
        return True
    if getattr(target, "is_superuser", False):
        return False
    if not can_manage_users(actor):
        return False
    if getattr(target, "is_staff", False) and not can_set_staff(actor) and getattr(target, "pk", None) != actor.pk:
        return False
    target_held = held_permissions(target)
    return target_held is not None and _actor_holds(actor, target_held)
