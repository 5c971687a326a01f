"""The "Who has access" panel of a run's page, computed from the predicates of accounts/roles.py."""
from __future__ import annotations

from typing import Any

from django import template

from accounts import roles
from accounts.roles import Role

register = template.Library()

# (label, predicate asked about the run)
RUN_ACTIONS: list[tuple[str, Any]] = [
    ("see", lambda user, run: roles.can_view_runs(user) and _kind_visible(user, run)),
    ("annotate", roles.can_annotate_run),
    ("cancel", roles.can_cancel_run),
    ("delete", roles.can_delete_run),
    ("export", roles.can_export_run),
]


def _kind_visible(user: Any, run: Any) -> bool:
    from runs.kinds import kinds_visible_to

    return run.kind in kinds_visible_to(user)


class _Holder:
    """One role's permissions, as an account that does not own the run (owners are asked about separately)."""

    is_authenticated = True
    is_active = True
    is_superuser = False
    is_staff = False
    pk = id = -1

    def __init__(self, permissions: set[str]) -> None:
        self.permissions = permissions

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return perm in self.permissions


@register.simple_tag
def run_access(run: Any, viewer: Any) -> dict[str, Any] | None:
    """{actions, rows: [(role label, {action: bool})], owner: (username, {action: bool})}.

    Roles, not people: which accounts hold a role is for the console's Roles page."""
    rows = []
    for role in Role:
        holder = _Holder(roles.held_permissions_of_role(role.value))
        answers = {}
        for label, check in RUN_ACTIONS:
            try:
                answers[label] = bool(check(holder, run))
            except Exception:  # a predicate that needs a real account: answered for the owner below
                answers[label] = False
        rows.append((role.label, answers))
    owner = None
    if run.owner_id is not None and run.owner is not None:
        owner = (run.owner.username, {label: bool(run.owner.is_active and check(run.owner, run))
                                      for label, check in RUN_ACTIONS})
    return {"actions": [label for label, _ in RUN_ACTIONS], "rows": rows, "owner": owner}

