"""The run table's per-row tags (runs.templatetags.run_table) give the bytes the
template language gave: the same table, the same escaping."""
from __future__ import annotations

import zoneinfo
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import override_settings
from django.urls import set_script_prefix
from django.utils import timezone

from runs import selectors
from runs.models import Run, RunOrigin
from runs.query.columns import parse_columns
from runs.selectors.listing import ListedRun, run_list_tag_names, run_list_values, with_columns
from runs.services import run_create, runs_set_favourite

# Run ids as a person or an import might spell them: markup, quotes, spaces, query and
# fragment characters, non-ASCII, percent signs.
AWKWARD_IDS = ["run_20261130_001", 'x"<b>&\'y', "a b?c#d", "ünï-cødé", "50%off", "~:@!$&'()*+,;="]
AWKWARD_STATUSES = ["SUCCEEDED", "RUNNING", '<script>"x"</script>', "a&b", None, ""]


# The table's row as the template language wrote it, before runs.templatetags.run_table.
OLD_ROW = (
    '    <tr>\n'
    '      {% if selectable %}<td><input type="checkbox" name="runs" value="{{ run.run_id }}" form="bulk-form"></td>{% endif %}\n'
    '      <td><a href="{% url \'runs:detail\' run.run_id %}">{{ run.run_id }}</a>{% if run.is_imported %} <span class="pill pill-imported" title="Imported{% if run.imported_at %} on {{ run.imported_at|date:\'Y-m-d H:i\' }}{% endif %}: not computed here">{% if run.is_data_only %}imported · data only{% else %}imported{% endif %}</span>{% endif %}</td>\n'
    '      <td>{% if run.kind == "demo" %}<span class="pill pill-demo" title="The run core\'s self-test kind">demo</span>{% else %}{{ run.kind }}{% endif %}</td>\n'
    '      <td>{% include "_status_badge.html" with status=run.status %}</td>\n'
    '      <td>{{ run.trigger }}</td>\n'
    '      <td>{{ run.owner.username|default:"—" }}</td>\n'
    '      <td title="{{ run.created_at|date:\'c\' }}">{{ run.created_at|date:"Y-m-d H:i" }}</td>\n'
    '      <td class="num">{% if run.duration_seconds is not None %}{{ run.duration_seconds|floatformat:2 }} s{% else %}—{% endif %}</td>\n'
    '      <td><progress max="100" value="{{ run.progress }}">{{ run.progress }}%</progress></td>\n'
    '      <td>{% for tag in run.tags.all %}<span class="pill">{{ tag.name }}</span>{% endfor %}</td>\n'
    '      <td>{% if run.is_my_favourite %}<span title="Your favourite">★</span>{% elif run.is_favourite %}<span class="muted" title="Someone else\'s favourite: kept by cleanup">☆</span>{% endif %}</td>\n'
    '      {% for value in run.column_values %}<td class="num">{% if value is None %}—{% else %}{{ value }}{% endif %}</td>{% endfor %}\n'
    '    </tr>\n'
)


def _old_table_source() -> str:
    """templates/runs/_run_table.html with its row as it was: a {% url %}, the badge's
    include, the date and floatformat filters and some forty nodes per run."""
    path = Path(settings.BASE_DIR) / "templates" / "runs" / "_run_table.html"
    source = path.read_text()
    new_row = "    <tr>{% run_cells run selectable %}\n    </tr>\n"
    assert source.count(new_row) == 1
    return source.replace("{% load run_table %}", "", 1).replace(new_row, OLD_ROW)


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
def awkward_runs(analyst, make_user, demo_params):
    """Runs that take every branch of the row: awkward ids, tags, kinds and metric values;
    imported (a table of data only, or a run); no owner; a duration or none; starred
    by the caller, by someone else, by no one; created at a time that is another day in another time zone's yesterday."""
    from accounts.roles import Role

    now = timezone.now()
    runs = [
        run_create(kind="demo", params={**demo_params, "seed": seed}, owner=analyst, tags=["<b>t</b>", "a&b"])
        for seed in range(len(AWKWARD_IDS))
    ]
    metrics = [{"lcr": 1.25, "x": "<i>"}, {"lcr": 10**7, "x": 3}, {"lcr": -0.000012345, "x": True}, {}, {"lcr": None},
               {"lcr": 12345678901.25, "x": [1, "<a>"]}]
    for i, (run, run_id) in enumerate(zip(runs, AWKWARD_IDS)):
        Run.objects.filter(pk=run.pk).update(
            run_id=run_id, notes="<script>alert(1)</script>", metrics=metrics[i],
            created_at=now.replace(hour=20, minute=45, second=7, microsecond=123456) - timedelta(days=i),
            duration_seconds=None if i % 2 else 1234.5678 * i, progress=[0, 7, 100, 55, 1, 99][i],
            kind="demo" if i < 2 else "simulation",
            status=["SUCCEEDED", "RUNNING", "FAILED", "PENDING", "CANCELLED", "SUCCEEDED"][i],
        )
    Run.objects.filter(pk=runs[2].pk).update(origin=RunOrigin.IMPORT, imported_at=now, import_format="parquet")
    Run.objects.filter(pk=runs[3].pk).update(origin=RunOrigin.IMPORT, imported_at=now - timedelta(days=400), owner=None)
    Run.objects.filter(pk=runs[4].pk).update(owner=None)
    runs_set_favourite(runs=runs[:2], actor=analyst, value=True)
    runs_set_favourite(runs=runs[1:4], actor=make_user(Role.ANALYST), value=True)
    return runs


def _table_runs(analyst, columns, listed: bool, with_columns_values: bool = True) -> list:
    queryset = with_columns(selectors.run_list(user=analyst), columns)
    if listed:
        runs = [ListedRun(row) for row in run_list_tag_names(list(run_list_values(queryset, columns)))]
    else:
        runs = list(queryset)
    if with_columns_values:
        for run in runs:
            run.column_values = [column.value(run) for column in columns]
    return runs


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
@pytest.mark.parametrize("selectable", [True, False])
@pytest.mark.parametrize("listed", [True, False], ids=["listed rows", "instances"])
def test_the_table_renders_byte_for_byte_as_before(analyst, awkward_runs, listed, selectable, zone):
    columns = parse_columns(["metrics.lcr", "metrics.x", "params.seed"])
    runs = _table_runs(analyst, columns, listed)
    context = {"runs": runs, "columns": columns, "sortable": selectable, "selectable": selectable,
               "ordering": "-created_at", "sort_querystring": "q=%3Cb%3E"}
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        expected = Template(_old_table_source()).render(Context(context))
        got = render_to_string("runs/_run_table.html", context)
    assert got == expected
    assert 'href="/runs/x%22%3Cb%3E&amp;&#x27;y/"' in got  # quoted, then escaped, as {% url %} did
    assert "<b>" not in got and "<i>" not in got and "<a>" not in got
    assert "pill-imported" in got and "data only" in got and "Your favourite" in got and "kept by cleanup" in got


def test_a_table_without_columns_renders_as_before(analyst, awkward_runs):
    """The home page and the project pages list runs without metric columns."""
    runs = _table_runs(analyst, [], listed=False, with_columns_values=False)
    context = {"runs": runs, "sortable": False}
    assert render_to_string("runs/_run_table.html", context) == Template(_old_table_source()).render(Context(context))
    assert render_to_string("runs/_run_table.html", {"runs": []}) == Template(_old_table_source()).render(Context({"runs": []}))


@override_settings(ROOT_URLCONF="tests.runs.urls_elsewhere")
def test_a_changed_url_configuration_is_followed():
    assert Template("{% load run_table %}{{ 'r1'|run_detail_url }}").render(Context()) == "/elsewhere/r1/"
