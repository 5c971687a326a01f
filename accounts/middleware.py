"""Request context for the audit trail: which surface a request came through, and from which address."""
from __future__ import annotations

from typing import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.console.context import audit_context


def client_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind the TLS proxy the address it forwarded (as the throttles and axes read it)."""
    if settings.REST_FRAMEWORK.get("NUM_PROXIES"):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def surface_of(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "page"


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_context(surface_of(request.path_info), client_address(request)):
            return self.get_response(request)


class ConsoleSessionMiddleware:
    """Per request, for a signed-in user: note the session's last use (throttled) and apply the
    personal settings kept in the session (time zone). No database read: the settings were
    copied into the session at sign-in and when saved."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        import zoneinfo

        from django.utils import timezone

        from accounts.console.sessions import PREFS_SESSION_KEY, session_record

        from django.db import InterfaceError, OperationalError

        from config.database_errors import database_unavailable

        user = getattr(request, "user", None)
        try:
            # Reading the signed-in user and the session is the first database access of a
            # request: a lost database here is the same 503 a view would give.
            if user is not None and user.is_authenticated:
                session_record(request=request)
                zone = (request.session.get(PREFS_SESSION_KEY) or {}).get("time_zone")
                if zone:
                    try:
                        timezone.activate(zoneinfo.ZoneInfo(zone))
                    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                        timezone.deactivate()
        except (OperationalError, InterfaceError) as exc:
            return database_unavailable(request, exc)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
