"""A request that loses the database answers 503 with Retry-After, not 500.

When PostgreSQL restarts, a request in flight loses its connection, and a new
one may wait DATABASE_POOL_TIMEOUT for a connection that does not come. The
truthful answer is "unavailable, try again shortly" (with a pool, a retry works
as soon as the server is back). Any other error stays a 500.
"""
from __future__ import annotations

import logging
from typing import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = "The database was unavailable for a moment and the request may not have been carried out. Try again in a few seconds."

# No template: rendering base.html would need the database (the user, the menu).
PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Unavailable · Runsight</title></head>\n'
    '<body style="font-family: sans-serif; margin: 3rem;">\n<h1>503 · Unavailable for a moment</h1>\n'
    f"<p>{MESSAGE}</p>\n</body></html>\n"
)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        return database_unavailable(request, exception)


def database_unavailable(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 503 answer, also for middleware that reads the database before any view runs
    (the signed-in user, the session): process_exception only sees what views raise."""
    logger.warning("database unavailable during %s %s: %s", request.method, request.path, exception)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": MESSAGE}, status=503)
    else:
        response = HttpResponse(PAGE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
