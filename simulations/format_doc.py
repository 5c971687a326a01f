"""The positions format, for people in a browser: the documentation page and an example file.

The format is documented once, in docs/positions_format.md; the page renders that
file (raw HTML in it is escaped), so the page and the repository never disagree.
The example CSV is drawn by the engine itself, so it is valid by construction.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from django.conf import settings
from django.utils.text import slugify

from simulations.engine import generate_portfolio

FORMAT_DOC = Path(settings.BASE_DIR) / "docs" / "positions_format.md"
EXAMPLE_SEED = 2026
EXAMPLE_POSITIONS = 60

_HEADING = re.compile(r"<(h[1-4])>(.*?)</\1>")


def _with_anchors(html: str) -> str:
    """Give headings the ids the document's own links (#products, #codes…) point to."""
    return _HEADING.sub(lambda m: f'<{m[1]} id="{slugify(re.sub(r"<[^>]+>", "", m[2]))}">{m[2]}</{m[1]}>', html)


@functools.lru_cache(maxsize=2)
def _rendered(mtime: float) -> str:
    from markdown_it import MarkdownIt

    markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
    return _with_anchors(markdown.render(FORMAT_DOC.read_text(encoding="utf-8")))


def positions_format_html() -> str:
    """docs/positions_format.md as HTML (re-rendered when the file changes)."""
    return _rendered(FORMAT_DOC.stat().st_mtime)


def example_positions_csv() -> str:
    """A small bank in the positions format, as CSV: every product side, valid as it is."""
    frame = generate_portfolio(EXAMPLE_SEED, EXAMPLE_POSITIONS)
    for column in frame.columns:
        if frame[column].dtype == bool:
            frame[column] = frame[column].map({True: "true", False: "false"})
    return frame.to_csv(index=False, float_format="%.2f")
