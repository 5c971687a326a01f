"""Request guards that run before any view."""
from __future__ import annotations

from typing import Callable
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL_MESSAGE = "The address contains a NUL character (%00), which no path, id or filter value may hold."


class RefuseNulMiddleware:
    """Answer 400 to any request whose path or query string holds a NUL byte.

    No id, file name or filter value of ours may contain one, and PostgreSQL
    cannot even compare a text with it, so every view that put such a value in a
    query answered 500. Refusing it here, before any view, makes that whole class
    of error impossible for the views that exist and for those to come.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw_query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or b"\x00" in unquote_to_bytes(raw_query.replace("+", " ")):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": NUL_MESSAGE}, status=400)
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
