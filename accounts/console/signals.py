from __future__ import annotations

from typing import Any


def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """At sign-in: record the session (device, address) and load the personal settings into it."""
    if request is None or not hasattr(request, "session"):
        return
    from accounts.console.sessions import PREFS_SESSION_KEY, preference_as_dict, preference_of, session_record

    request.user = user
    session_record(request=request, force=True)
    request.session[PREFS_SESSION_KEY] = preference_as_dict(preference_of(user))
