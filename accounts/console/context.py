"""Where the current action comes from (surface and client address), for the audit trail.

The request middleware (accounts.middleware.AuditContextMiddleware) sets it for
pages, the API and the admin; management commands set surface "command"; anything
else (workers, scheduled tasks) is "system".
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class AuditContext:
    surface: str = "system"
    address: str | None = None


_current: ContextVar[AuditContext] = ContextVar("audit_context", default=AuditContext())


def current() -> AuditContext:
    return _current.get()


@contextmanager
def audit_context(surface: str, address: str | None = None) -> Iterator[AuditContext]:
    context = AuditContext(surface=surface, address=address)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def set_surface(surface: str, address: str | None = None) -> None:
    """For code that cannot wrap a block (a DRF view learns it is the API after the middleware ran)."""
    _current.set(AuditContext(surface=surface, address=address if address is not None else _current.get().address))
