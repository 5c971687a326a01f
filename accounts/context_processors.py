"""Template context shared by every page: what the navigation may show."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts import roles


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    return {
        "nav": {
            "runs": roles.can_view_runs(user),
            "launch": roles.can_launch_run(user),
            "admin": user.is_staff,
            "finops_batches": roles.can_view_finops_batches(user),
            "finops_costs": roles.can_view_finops_costs(user),
            "api_docs": True,
            "roles": roles.roles_of(user),
            # The Console menu: users, roles and audit for governance; everyone has their own API keys.
            "console": {
                "users": roles.can_manage_users(user),
                "audit": roles.can_view_audit(user),
                "api_keys": roles.can_create_api_key(user, user),
                # Operations: health, logs, caches (read for governance, managed by admin and ml_admin).
                "ops": roles.can_view_console(user),
            },
        }
    }


def preferences(request: HttpRequest) -> dict[str, Any]:
    """Personal settings for every template: theme and date format (kept in the session, no query)."""
    from accounts.console.sessions import PREFS_SESSION_KEY

    session = getattr(request, "session", None)
    prefs = (session.get(PREFS_SESSION_KEY) if session is not None else None) or {}
    return {"prefs": {"theme": prefs.get("theme", "light"), "date_format": prefs.get("date_format", "Y-m-d H:i"),
                      "page_size": prefs.get("page_size", 25)}}
