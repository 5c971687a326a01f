"""What the run table does once per row, at a fraction of the template language's cost.

A 100-row table spent about half its rendering time in a per-row `{% include %}` of the
status badge and a per-row `{% url %}`. These give the same bytes: the badge's markup
is built with format_html (every value escaped), the detail address is reversed once
and each run id is quoted the way reverse() quotes it.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html
from django.utils.http import RFC3986_SUBDELIMS

register = template.Library()

# reverse() quotes the substituted arguments with these characters kept (django.urls.resolvers).
_URL_SAFE = RFC3986_SUBDELIMS + "/~:@"
_PLACEHOLDER = "RUNSIGHTRUNIDPLACEHOLDER"
# (script prefix, urlconf) -> (before the run id, after it)
_detail_parts: dict[tuple[str, Any], tuple[str, str]] = {}


def _clear_detail_parts(**kwargs: Any) -> None:
    _detail_parts.clear()


setting_changed.connect(_clear_detail_parts)


@register.filter
def run_detail_url(run_id: Any) -> str:
    """`{% url 'runs:detail' run_id %}`: the address reversed once (per script prefix and
    URL configuration), the run id quoted into it. Returned unescaped, as {% url %}
    returns it: autoescaping escapes it where it is shown."""
    key = (get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    parts = _detail_parts.get(key)
    if parts is None:
        before, _, after = reverse("runs:detail", args=[_PLACEHOLDER]).partition(_PLACEHOLDER)
        parts = _detail_parts[key] = (before, after)
    text = str(run_id)
    if not text or "/" in text:  # what <str:run_id> refuses: let reverse() say so
        return reverse("runs:detail", args=[text])
    return parts[0] + quote(text, safe=_URL_SAFE) + parts[1]


@register.simple_tag
def status_badge(status: Any) -> str:
    """The markup of templates/_status_badge.html (without its final line break)."""
    text = str(status)
    return format_html('<span class="badge badge-{}" data-status="{}">{}</span>', text.lower(), text, text)
