"""Upload limits enforced before a body is read, and while it streams.

Each upload endpoint has a size limit (a setting). The middleware refuses a
request whose Content-Length already exceeds it, without reading a byte of the
body; the upload handler stops counting bytes into a file once it passes the
limit (a body may lie about its length, or come chunked under ASGI). Files that
pass are spooled to temporary files by Django's TemporaryFileUploadHandler
(FILE_UPLOAD_MAX_MEMORY_SIZE keeps only small ones in memory), never held whole.
"""
from __future__ import annotations

from typing import Any, Callable

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

# URL name of an upload endpoint that refuses early -> the setting holding its limit in bytes.
# These views read `request.upload_refused` (set while streaming) and answer with the limit.
UPLOAD_LIMIT_SETTINGS: dict[str, str] = {
    "simulations:compute": "SIMULATION_UPLOAD_MAX_BYTES",
    "api-simulations-compute": "SIMULATION_UPLOAD_MAX_BYTES",
    "datasets:upload": "DATASET_MAX_UPLOAD_BYTES",
    "api-datasets-list": "DATASET_MAX_UPLOAD_BYTES",
}
# Endpoints that answer an upload over their limit with 413 (Payload Too Large) rather than 400.
UPLOAD_LIMIT_STATUS: dict[str, int] = {
    "datasets:upload": 413, "api-datasets-list": 413, "simulations:compute": 413, "api-simulations-compute": 413,
}
# Every upload limit of the product: a request to any other endpoint streams at most
# the largest of them into a temporary file (its view then applies its own limit).
ALL_LIMIT_SETTINGS = ("SIMULATION_UPLOAD_MAX_BYTES", "RUN_IMPORT_MAX_BYTES", "DATA_UPLOAD_MAX_MEMORY_SIZE")
# Room for the multipart framing, the other form fields and a small capital file.
MULTIPART_SLACK = 1024 * 1024


def _view_name(request: HttpRequest) -> str:
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return ""


def upload_limit(request: HttpRequest) -> int:
    """The largest file, in bytes, the endpoint of this request accepts."""
    setting = UPLOAD_LIMIT_SETTINGS.get(_view_name(request))
    if setting:
        return int(getattr(settings, setting))
    return max(int(getattr(settings, name)) for name in ALL_LIMIT_SETTINGS) + MULTIPART_SLACK


def too_large_message(size: int, limit: int) -> str:
    return f"The upload is {size:,} bytes; the limit is {limit:,} bytes. Nothing was read."


class UploadLimitMiddleware:
    """Refuse an upload whose declared length passes the endpoint's limit, before reading it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            limit = upload_limit(request)
            name = _view_name(request)
            if name in UPLOAD_LIMIT_SETTINGS and declared > limit + MULTIPART_SLACK:
                return refuse(request, too_large_message(declared, limit), status=UPLOAD_LIMIT_STATUS.get(name, 400))
        return self.get_response(request)


def refuse(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    from django.http import JsonResponse
    from django.shortcuts import render

    if request.path.startswith("/api/"):
        # The same shape as the endpoints' own file errors.
        return JsonResponse({"detail": message, "field": None, "row": None, "column": None}, status=status)
    context = {"status": status, "title": "File too large", "message": message}
    return render(request, "error.html", context, status=status)


class BoundedUploadHandler(FileUploadHandler):
    """Stop reading a file into its temporary file once it passes the endpoint's limit.

    The rest of the body is read and dropped (not stored); the view then finds
    `request.upload_refused` and answers 400 with the limit.
    """

    def handle_raw_input(self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None) -> None:
        self.limit = upload_limit(self.request)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.request.upload_refused = too_large_message(start + len(raw_data), self.limit).replace(
                "Nothing was read.", "Reading stopped there."
            )
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
