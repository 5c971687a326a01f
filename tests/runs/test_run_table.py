"""The run table's per-row tags (runs.templatetags.run_table) give the bytes the
template language gave: the same table, the same escaping."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import override_settings
from django.urls import set_script_prefix

from runs import selectors
from runs.models import Run
from runs.query.columns import parse_columns
from runs.selectors.listing import ListedRun, run_list_tag_names, run_list_values, with_columns
from runs.services import run_create, runs_set_favourite

# Run ids as a person or an import might spell them: markup, quotes, spaces, query and
# fragment characters, non-ASCII, percent signs.
AWKWARD_IDS = ["run_20261130_001", 'x"<b>&\'y', "a b?c#d", "ünï-cødé", "50%off", "~:@!$&'()*+,;="]
AWKWARD_STATUSES = ["SUCCEEDED", "RUNNING", '<script>"x"</script>', "a&b", None, ""]


def _old_table_source() -> str:
    """templates/runs/_run_table.html as it was: {% url %} and the badge's include per row."""
    path = Path(settings.BASE_DIR) / "templates" / "runs" / "_run_table.html"
    source = path.read_text()
    new_url = '<a href="{{ run.run_id|run_detail_url }}">'
    new_badge = "<td>{% status_badge run.status %}\n</td>"
    assert source.count(new_url) == 1 and source.count(new_badge) == 1
    return (
        source.replace("{% load run_table %}", "", 1)
        .replace(new_url, "<a href=\"{% url 'runs:detail' run.run_id %}\">")
        .replace(new_badge, '<td>{% include "_status_badge.html" with status=run.status %}</td>')
    )


@pytest.mark.parametrize("run_id", AWKWARD_IDS)
def test_the_detail_address_is_what_url_reverses(run_id):
    old = Template("{% url 'runs:detail' run_id %}").render(Context({"run_id": run_id}))
    new = Template("{% load run_table %}{{ run_id|run_detail_url }}").render(Context({"run_id": run_id}))
    assert new == old


def test_the_detail_address_follows_the_script_prefix():
    try:
        set_script_prefix("/console/")
        old = Template("{% url 'runs:detail' 'r1' %}").render(Context())
        new = Template("{% load run_table %}{{ 'r1'|run_detail_url }}").render(Context())
    finally:
        set_script_prefix("/")
    assert new == old == "/console/runs/r1/"
    assert Template("{% load run_table %}{{ 'r1'|run_detail_url }}").render(Context()) == "/runs/r1/"


@pytest.mark.parametrize("status", AWKWARD_STATUSES)
def test_the_status_badge_is_the_included_markup(status):
    old = Template('{% include "_status_badge.html" with status=status %}').render(Context({"status": status}))
    new = Template("{% load run_table %}{% status_badge status %}\n").render(Context({"status": status}))
    assert new == old


def test_a_status_never_becomes_markup():
    html = Template("{% load run_table %}{% status_badge status %}").render(Context({"status": '<i>"x"</i>'}))
    assert html == (
        '<span class="badge badge-&lt;i&gt;&quot;x&quot;&lt;/i&gt;" data-status="&lt;i&gt;&quot;x&quot;&lt;/i&gt;">'
        "&lt;i&gt;&quot;x&quot;&lt;/i&gt;</span>"
    )


@pytest.fixture
def awkward_runs(analyst, demo_params):
    runs = [
        run_create(kind="demo", params={**demo_params, "seed": seed}, owner=analyst, tags=["<b>t</b>", "a&b"])
        for seed in range(len(AWKWARD_IDS))
    ]
    for run, run_id in zip(runs, AWKWARD_IDS):
        Run.objects.filter(pk=run.pk).update(run_id=run_id, notes="<script>alert(1)</script>")
    runs_set_favourite(runs=runs[:2], actor=analyst, value=True)
    return runs


@pytest.mark.parametrize("listed", [True, False], ids=["listed rows", "instances"])
def test_the_table_renders_byte_for_byte_as_before(analyst, awkward_runs, listed):
    columns = parse_columns(["metrics.lcr", "params.seed"])
    queryset = with_columns(selectors.run_list(user=analyst), columns)
    if listed:
        runs = [ListedRun(row) for row in run_list_tag_names(list(run_list_values(queryset, columns)))]
    else:
        runs = list(queryset)
    for run in runs:
        run.column_values = [column.value(run) for column in columns]
    context = {"runs": runs, "columns": columns, "sortable": True, "selectable": True,
               "ordering": "-created_at", "sort_querystring": "q=%3Cb%3E"}
    expected = Template(_old_table_source()).render(Context(context))
    got = render_to_string("runs/_run_table.html", context)
    assert got == expected
    assert 'href="/runs/x%22%3Cb%3E&amp;&#x27;y/"' in got  # quoted, then escaped, as {% url %} did
    assert "<b>" not in got


@override_settings(ROOT_URLCONF="tests.runs.urls_elsewhere")
def test_a_changed_url_configuration_is_followed():
    assert Template("{% load run_table %}{{ 'r1'|run_detail_url }}").render(Context()) == "/elsewhere/r1/"
