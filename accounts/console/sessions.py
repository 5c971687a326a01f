"""Sessions as their owners see them, and personal settings. Writes are audited."""
from __future__ import annotations

import logging
import zoneinfo
from typing import Any

from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import roles
from accounts.models import UserPreference, UserSession

logger = logging.getLogger(__name__)
SEEN_EVERY_SECONDS = 60  # last-seen is written at most once a minute per session
PREFS_SESSION_KEY = "console_prefs"


def device_of(user_agent: str) -> str:
    """A short, readable device from a user agent ("Firefox on Linux")."""
    ua = user_agent or ""
    browser = next((name for token, name in (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
                                             ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"),
                                             ("python", "Python client")) if token in ua), "Unknown browser")
    system = next((name for token, name in (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"),
                                            ("iPad", "iOS"), ("Mac OS X", "macOS"), ("Linux", "Linux")) if token in ua),
                  "unknown system")
    return f"{browser} on {system}"


def session_record(*, request: Any, force: bool = False) -> None:
    """Note this request's session (at sign-in, then at most once a minute): device, address, last seen."""
    from accounts.middleware import client_address

    key = request.session.session_key
    if not key or not request.user.is_authenticated:
        return
    try:
        if force:
            cache.set(f"session-seen:{key}", 1, timeout=SEEN_EVERY_SECONDS)
        elif not cache.add(f"session-seen:{key}", 1, timeout=SEEN_EVERY_SECONDS):
            return
    except Exception as exc:  # the cache is down: skip the write rather than write on every request
        logger.debug("session last-seen not recorded, cache unavailable: %s", exc)
        if not force:
            return
    UserSession.objects.update_or_create(session_key=key, defaults={
        "user": request.user, "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        "address": client_address(request), "last_seen": timezone.now(),
    })


def sessions_of(user: Any) -> list[UserSession]:
    live = set(Session.objects.filter(expire_date__gt=timezone.now(),
                                      session_key__in=UserSession.objects.filter(user=user).values("session_key"))
               .values_list("session_key", flat=True))
    return [s for s in UserSession.objects.filter(user=user) if s.session_key in live]


@transaction.atomic
def sessions_end(*, actor: Any, user: Any, keep: str | None = None) -> int:
    """End the user's sessions except `keep` (the current one): their own, or any user's for a manager."""
    from accounts.services import audit_record

    if actor is not None and getattr(actor, "pk", None) != user.pk and not roles.can_change_user(actor, user):
        raise PermissionDenied(f"You may not end the sessions of {user.username!r}.")
    keys = list(UserSession.objects.filter(user=user).exclude(session_key=keep or "").values_list("session_key", flat=True))
    ended, _ = Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(session_key__in=keys).delete()
    audit_record(actor=actor, action="user.sessions_end", target=user.username,
                 detail={"sessions_ended": ended, "kept_current": bool(keep)})
    return ended


def preference_of(user: Any) -> UserPreference:
    return UserPreference.objects.filter(user=user).first() or UserPreference(user=user)


def preference_as_dict(pref: UserPreference) -> dict[str, Any]:
    return {"page_size": pref.page_size, "time_zone": pref.time_zone, "date_format": pref.date_format,
            "theme": pref.theme, "run_filters": pref.run_filters}


@transaction.atomic
def preference_update(*, actor: Any, changes: dict[str, Any]) -> UserPreference:
    from accounts.services import audit_record

    pref = preference_of(actor)
    if "time_zone" in changes and changes["time_zone"] not in zoneinfo.available_timezones():
        raise ValidationError({"time_zone": f"Unknown time zone {changes['time_zone']!r}."})
    before = preference_as_dict(pref)
    for name, value in changes.items():
        setattr(pref, name, value)
    pref.full_clean(exclude=["user"])
    pref.save()
    after = preference_as_dict(pref)
    diff = {k: after[k] for k in after if after[k] != before[k]}
    if diff:
        audit_record(actor=actor, action="settings.update", target=actor.username,
                     detail={"before": {k: before[k] for k in diff}, "after": diff})
    return pref
