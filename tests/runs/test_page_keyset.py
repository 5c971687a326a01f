"""The run list page continues by cursor: its "Next" names the last run by its sort keys,
so a deep page costs what the first does. Followed from page 1, the cursors give the
same runs in the same order as the numbered (OFFSET) pages, and each cursor page holds
exactly the runs the API gives for that cursor, sort and filter."""
import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from runs.models import Run, RunStatus

pytestmark = pytest.mark.django_db

SIZE = 10
STATUSES = [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.PENDING]


@pytest.fixture
def ledger():
    """35 runs (four pages of ten): distinct dates, four statuses, a metric that a third
    of them lack and that ties between others, a filter that leaves some out."""
    now = timezone.now()
    for i in range(35):
        metrics = {} if i % 3 == 0 else {"score": float(i % 7)}
        run = Run.objects.create(
            run_id=f"run_{i:02d}", kind="demo", status=STATUSES[i % 4], metrics=metrics,
            params={"steps": i}, params_hash="0" * 64, duration_seconds=None if i % 5 == 0 else float(i),
        )
        Run.objects.filter(pk=run.pk).update(created_at=now - timedelta(minutes=i))


def next_link(response) -> str | None:
    match = re.search(r'<a href="([^"]*)" id="next-page">', response.content.decode())
    return "/runs/" + unescape(match.group(1)) if match else None  # the page's links are relative: ?…


def shown(response) -> list[str]:
    return [run.run_id for run in response.context["runs"]]


def by_offset(client, query: str) -> list[str]:
    seen, number = [], 1
    while True:
        response = client.get(f"/runs/?{query}&page={number}")
        seen += shown(response)
        if not response.context["page_obj"].has_next():
            return seen
        number += 1


def api_rows(user, query: str, cursor: str) -> list[str]:
    client = APIClient()
    client.force_authenticate(user)
    body = client.get(f"/api/runs/?{query}&cursor={cursor}").json()
    return [row["run_id"] for row in body["results"]]


SORTS = [
    "",  # newest first, the page's default
    "ordering=-created_at",
    "ordering=-metrics.score",  # missing scores last, ties broken newest first
    "ordering=metrics.score",
    "ordering=status",
    "ordering=-status,metrics.score",
    "ordering=-metrics.score&filter=" + quote("status != FAILED"),
]


@pytest.mark.parametrize("sort", SORTS)
def test_next_by_cursor_walks_the_same_runs_as_the_numbered_pages(ledger, client_for, viewer, sort):
    client = client_for(viewer)
    query = f"page_size={SIZE}&{sort}".rstrip("&")
    want = by_offset(client, query)
    assert len(want) == len(set(want)) and len(want) >= 26

    response = client.get(f"/runs/?{query}")
    seen, cursors = shown(response), 0
    link = next_link(response)
    while link:
        params = parse_qs(urlsplit(link).query)
        assert "page" not in params and len(params["cursor"]) == 1
        # Every other parameter of the list is kept: sort, filter, rows per page.
        assert {k: v for k, v in params.items() if k != "cursor"} == parse_qs(query)
        response = client.get(link)
        assert response.status_code == 200 and response.context["by_cursor"]
        rows = shown(response)
        assert rows == api_rows(viewer, query, params["cursor"][0])  # the API's runs for the same cursor
        seen += rows
        cursors += 1
        link = next_link(response)
    assert seen == want
    assert cursors == (len(want) - 1) // SIZE


def test_a_cursor_page_links_to_the_first_page_and_shows_the_total(ledger, client_for, viewer):
    client = client_for(viewer)
    first = client.get(f"/runs/?page_size={SIZE}&ordering=status")
    second = client.get(next_link(first))
    html = second.content.decode()
    assert re.search(rf'<a href="\?page_size={SIZE}&amp;ordering=status" id="first-page">', html)
    assert 'id="previous-page"' not in html
    assert re.search(r'id="run-count">[^<]*35 runs<', html)
    # The sort links of a cursor page start again from the first page of their own sort.
    assert "cursor=" not in second.context["sort_querystring"]


def test_the_last_page_has_no_next(ledger, client_for, viewer):
    client = client_for(viewer)
    link, pages = f"/runs/?page_size={SIZE}", 0
    while link:
        response = client.get(link)
        pages += 1
        link = next_link(response)
    assert pages == 4 and len(shown(response)) == 5


@pytest.mark.parametrize("cursor", [
    "bm90LWEtY3Vyc29y",  # base64 of "not-a-cursor"
    "%25%25%25",  # not base64 at all
    "eyJrIjpbIi1jcmVhdGVkIl0sInYiOlt7IngiOjF9LDFdfQ",  # the right keys, a value of no known type
])
def test_a_forged_cursor_shows_the_first_page_and_says_so(ledger, client_for, viewer, cursor):
    client = client_for(viewer)
    response = client.get(f"/runs/?page_size={SIZE}&cursor={cursor}")
    assert response.status_code == 200
    assert response.context["cursor_error"] and 'id="cursor-error"' in response.content.decode()
    assert shown(response) == shown(client.get(f"/runs/?page_size={SIZE}"))
    assert not response.context["by_cursor"] and response.context["page_obj"].number == 1


def test_a_cursor_of_another_sort_shows_the_first_page_of_this_one(ledger, client_for, viewer):
    client = client_for(viewer)
    link = next_link(client.get(f"/runs/?page_size={SIZE}&ordering=status"))
    cursor = parse_qs(urlsplit(link).query)["cursor"][0]
    response = client.get(f"/runs/?page_size={SIZE}&ordering=-metrics.score&cursor={cursor}")
    assert response.status_code == 200
    assert "another sort" in response.context["cursor_error"]
    assert shown(response) == shown(client.get(f"/runs/?page_size={SIZE}&ordering=-metrics.score"))


def test_a_stale_cursor_still_continues_after_its_run(ledger, client_for, viewer):
    """The run a cursor names may be deleted: the cursor holds its keys, not its id."""
    client = client_for(viewer)
    first = client.get(f"/runs/?page_size={SIZE}")
    link = next_link(first)
    Run.objects.filter(run_id=shown(first)[-1]).delete()
    assert shown(client.get(link)) == [f"run_{i:02d}" for i in range(10, 20)]


def test_a_sort_on_a_nullable_column_keeps_numbered_pages(ledger, client_for, viewer):
    """Numbered pages leave missing durations where the database puts them; a cursor
    puts them last. So "Next" stays a page number for such a sort."""
    client = client_for(viewer)
    link = next_link(client.get(f"/runs/?page_size={SIZE}&ordering=duration"))
    assert parse_qs(urlsplit(link).query) == {"page_size": [str(SIZE)], "ordering": ["duration"], "page": ["2"]}


def test_anonymous_visitors_are_sent_to_login_as_for_the_list(ledger, client, client_for, viewer):
    link = next_link(client_for(viewer).get(f"/runs/?page_size={SIZE}"))
    response = client.get(link)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_a_user_without_a_role_is_refused_the_cursor_page_as_the_list(ledger, client_for, viewer, make_user):
    link = next_link(client_for(viewer).get(f"/runs/?page_size={SIZE}"))
    nobody = client_for(make_user())
    assert nobody.get(link).status_code == nobody.get("/runs/").status_code


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's estimate is PostgreSQL's")
def test_a_cursor_page_marks_an_estimated_total_as_the_numbered_pages_do(ledger, client_for, viewer, settings):
    settings.RUN_LIST_EXACT_COUNT_MAX = 1  # every list of more than one run counts as large here
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE runs_run")
    client = client_for(viewer)
    response = client.get(next_link(client.get(f"/runs/?page_size={SIZE}")))
    assert response.context["by_cursor"] and response.context["paginator"].count_is_estimate
    assert re.search(r'id="run-count">.*\(estimate\)</span>', response.content.decode())


@pytest.mark.parametrize("sort", ["", "&ordering=-created_at"])
def test_runs_created_at_the_same_instant_are_walked_once_each_across_pages(ledger, client_for, viewer, sort):
    """The cursor bounds its first key (created_at <= the last run's) for the index to start
    there: runs sharing that instant, split by the page boundary, are all still reached, in
    the default order (no `ordering=`) as in the explicit one."""
    instant = timezone.now() - timedelta(days=1)
    Run.objects.filter(run_id__in=[f"run_{i:02d}" for i in range(5, 25)]).update(created_at=instant)
    client = client_for(viewer)
    query = f"page_size={SIZE}{sort}"
    want = by_offset(client, query)
    response = client.get(f"/runs/?{query}")
    seen, link = shown(response), next_link(response)
    while link:
        response = client.get(link)
        seen += shown(response)
        link = next_link(response)
    assert seen == want and sorted(seen) == [f"run_{i:02d}" for i in range(35)]
