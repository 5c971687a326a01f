"""The run table's rows (templates/runs/_run_table.html) at a fraction of the template
language's cost, with the same bytes.

A 100-row table cost 30-50 ms of CPU: some forty nodes per run, of which a per-row
`{% include %}` of the status badge and a per-row `{% url %}` were about half.
`run_cells` builds a row in one call through the template's own conversions; the
badge's markup is built with format_html (every value escaped); the detail address is
reversed once and each run id quoted into it the way reverse() quotes it.
"""
from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.template.base import render_value_in_context
from django.template.defaultfilters import date, floatformat
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime

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


def _text(value: Any, context: template.Context) -> str:
    """`{{ value }}`: localised, then escaped when the context escapes. A plain str
    (not marked safe) needs no localising, and Django's escape() is html.escape."""
    kind = type(value)
    if kind is str and context.autoescape:
        return html.escape(value)
    if kind is int and not settings.USE_THOUSAND_SEPARATOR:  # what number_format gives an int then
        return str(value)
    return render_value_in_context(value, context)


def _date(value: Any, arg: str, context: template.Context) -> str:
    """`{{ value|date:arg }}` (the filter reads the value in the current time zone)."""
    return render_value_in_context(date(template_localtime(value, context.use_tz), arg), context)


@register.simple_tag(takes_context=True)
def run_cells(context: template.Context, run: Any, selectable: Any = False) -> str:
    """One run's cells in runs/_run_table.html, with the line breaks and indents between
    them: the markup the template's row gave (tests/runs/test_run_table.py keeps that
    row and compares), built in one call instead of some forty template nodes.

    Every value goes through the template's own conversions (render_value_in_context:
    localised, escaped; Django's date and floatformat filters), never into markup."""
    run_id = _text(run.run_id, context)
    parts = ["\n      "]
    if selectable:
        parts.append(f'<td><input type="checkbox" name="runs" value="{run_id}" form="bulk-form"></td>')
    parts.append(f'\n      <td><a href="{_text(run_detail_url(run.run_id), context)}">{run_id}</a>')
    if run.is_imported:
        imported_at = run.imported_at
        on = f" on {_date(imported_at, 'Y-m-d H:i', context)}" if imported_at else ""
        label = "imported · data only" if run.is_data_only else "imported"
        parts.append(f' <span class="pill pill-imported" title="Imported{on}: not computed here">{label}</span>')
    parts.append("</td>\n      <td>")
    if run.kind == "demo":
        parts.append('<span class="pill pill-demo" title="The run core\'s self-test kind">demo</span>')
    else:
        parts.append(_text(run.kind, context))
    parts.append(f"</td>\n      <td>{status_badge(run.status)}\n</td>")
    parts.append(f"\n      <td>{_text(run.trigger, context)}</td>")
    owner = getattr(run.owner, "username", "") if run.owner is not None else ""
    parts.append(f"\n      <td>{_text(owner or '—', context)}</td>")
    created = run.created_at
    if isinstance(created, datetime):
        # The date filter's "c" is the local time's isoformat(); "Y-m-d H:i" its fields, zero-padded.
        local = template_localtime(created, context.use_tz)
        parts.append(
            f'\n      <td title="{local.isoformat()}">'
            f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}</td>"
        )
    else:
        parts.append(f'\n      <td title="{_date(created, "c", context)}">{_date(created, "Y-m-d H:i", context)}</td>')
    duration = run.duration_seconds
    parts.append(f'\n      <td class="num">{"—" if duration is None else floatformat(duration, 2) + " s"}</td>')
    progress = _text(run.progress, context)
    parts.append(f'\n      <td><progress max="100" value="{progress}">{progress}%</progress></td>')
    tags = "".join(f'<span class="pill">{_text(tag.name, context)}</span>' for tag in run.tags.all())
    parts.append(f"\n      <td>{tags}</td>\n      <td>")
    if getattr(run, "is_my_favourite", None):
        parts.append('<span title="Your favourite">★</span>')
    elif run.is_favourite:
        parts.append('<span class="muted" title="Someone else\'s favourite: kept by cleanup">☆</span>')
    parts.append("</td>\n      ")
    for value in getattr(run, "column_values", None) or ():
        parts.append(f'<td class="num">{"—" if value is None else _text(value, context)}</td>')
    return mark_safe("".join(parts))  # every value above is escaped
