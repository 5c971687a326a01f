"""Headers of the files we send: a content type from our own list, a properly encoded name.

A stored artifact's content type came from whoever produced it, an import included,
so it never reaches a header: the type is chosen here from the file's extension, and
anything we do not know is a plain download (application/octet-stream). The file name
goes through Django's content_disposition_header (RFC 6266/5987: quotes, non-ASCII and
control characters encoded, never a header of its own).
"""
from __future__ import annotations

from django.http import HttpResponseBase
from django.utils.http import content_disposition_header

OCTET_STREAM = "application/octet-stream"

CONTENT_TYPES: dict[str, str] = {
    ".parquet": "application/vnd.apache.parquet",
    ".json": "application/json",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".log": "text/plain; charset=utf-8",
    ".zip": "application/zip",
}


def download_content_type(name: str) -> str:
    """The content type we serve a file called `name` with: by its extension, from our list only."""
    lowered = name.lower()
    for extension, content_type in CONTENT_TYPES.items():
        if lowered.endswith(extension):
            return content_type
    return OCTET_STREAM


def as_attachment(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    """Mark `response` as a download named `filename`, whatever characters the name holds."""
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
