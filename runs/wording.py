"""Counts and sizes in messages, as a person writes them: "1 step", "2 steps", "0 bytes"."""
from __future__ import annotations

from django.template.defaultfilters import filesizeformat


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`3 steps`, `1 step`; `plural_form` for irregular words."""
    return f"{count:,} {singular if count == 1 else (plural_form or singular + 's')}"


def size_text(n_bytes: int) -> str:
    """`2.3 MB (2,411,724 bytes)`; below a kilobyte the byte count alone (`0 bytes`, `1 byte`)."""
    if n_bytes < 1024:
        return plural(n_bytes, "byte")
    return f"{filesizeformat(n_bytes)} ({n_bytes:,} bytes)".replace("\xa0", " ")
