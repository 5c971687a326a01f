"""The request id and run id of the code running now, for every log line.

A request sets the request id (RequestIdMiddleware); an executing run sets the run id
(runs.context.RunContext). ContextFilter copies both, and the process role, onto
each record so the JSON formatter writes them.
"""
from __future__ import annotations

import logging
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
run_id_var: ContextVar[str | None] = ContextVar("run_id", default=None)

# A request id a proxy sends is kept only if it is short and plain (it goes into logs and a header).
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@contextmanager
def run_logging(run_id: str) -> Iterator[None]:
    token = run_id_var.set(str(run_id))
    try:
        yield
    finally:
        run_id_var.reset(token)


class ContextFilter(logging.Filter):
    def __init__(self, role: str = "web") -> None:
        super().__init__()
        self.role = role

    def filter(self, record: logging.LogRecord) -> bool:
        record.process_name = self.role
        record.run_id = getattr(record, "run_id", None) or run_id_var.get()
        record.request_id = getattr(record, "request_id", None) or request_id_var.get()
        return True


class RequestIdMiddleware:
    """Gives each request an id (the proxy's X-Request-ID when it is plain), logged and echoed back."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if _SAFE_ID.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response
