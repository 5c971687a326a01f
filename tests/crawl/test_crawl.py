"""The crawl: every role walks every URL pattern of the project with real ids.

Pages, the admin (index, app pages, the changelist, add, change, history and delete
pages of every registered model) and the API, the API both as JSON and in its
browsable HTML renderer. Every parameter takes every value the fixtures offer
(each run kind, each export format, each kind's launch form, each result file).
Asserted: no 5xx anywhere, and every answer is one the role matrix
(tests/role_matrix_table.py) allows that role. Then every link those pages show
is followed: none may answer 5xx or 404.

Patterns are enumerated from the URL resolver, so a new page or endpoint is
crawled without anyone adding it here (and tests/test_role_matrix.py insists it
gets a row in the matrix).
"""
from __future__ import annotations

import re
from collections import defaultdict
from urllib.parse import urljoin, urlsplit

import pytest

from tests.crawl.fixtures import clients, in_world, world, world_artifacts  # noqa: F401  (fixtures)
from tests.crawl.requests import HTML, JSON, describe_failure, send
from tests.crawl.urlmap import all_patterns
from tests.crawl.world import ANONYMOUS, ROLES, paths_for, paths_with_values, variant_label, variants
from tests.role_matrix_table import EXPECTED, HTML_ONLY, expected

PATTERNS = [p for p in all_patterns() if "GET" in p.methods()]
BY_KEY: dict[str, list] = defaultdict(list)
for _p in PATTERNS:
    BY_KEY[_p.key].append(_p)

# Cases whose fix is not on main yet: {case id: reason}. strict=True: once fixed, remove the entry.
KNOWN: dict[str, str] = {}


def _accepts(key: str, is_api: bool) -> tuple[str, ...]:
    if key in HTML_ONLY or not is_api:
        return (HTML,)
    return (JSON, HTML)  # the API's JSON and its browsable renderer


CASES = [
    pytest.param(key, variant, id=label, marks=[pytest.mark.xfail(strict=True, reason=KNOWN[label])] if label in KNOWN else [])
    for key in sorted(BY_KEY)
    for variant in variants(BY_KEY[key])
    for label in [variant_label(key, variant)]
]


@pytest.mark.parametrize(("key", "variant"), CASES)
def test_crawl(key, variant, in_world, clients):
    rule = expected(key, variant_label(key, variant)).get("GET") if key in EXPECTED else None
    assert rule is not None, f"{key}: no GET entry in tests/role_matrix_table.py; add one"
    problems = []
    for pattern in BY_KEY[key]:
        for path, values in paths_with_values(in_world, pattern, every_value=True):
            if any(values.get(name) != value for name, value in variant.items()):
                continue
            for accept in _accepts(key, pattern.is_api):
                for role in ROLES:
                    response = send(clients[role], "GET", path, accept=accept)
                    code = response.status_code
                    if code >= 500 or code not in rule[role]:
                        problems.append(
                            f"{role:>16} GET {path} [{accept.split(',')[0]}] -> {code} "
                            f"(matrix: {sorted(rule[role])}) {describe_failure(response)}"
                        )
    assert not problems, "\n".join(problems)


HREF = re.compile(r'''(?:href|src|action)="([^"#]+)"''')
NOT_GETTABLE = re.compile(r"^/(admin/)?logout/")  # POST-only forms


@pytest.mark.parametrize("role", [r for r in ROLES if r != ANONYMOUS])
def test_every_link_a_page_shows_leads_somewhere(role, in_world, clients):
    """Links on the pages a role sees (one hop): none is broken (404) or a server error."""
    client = clients[role]
    pages = set()
    for pattern in PATTERNS:
        if pattern.is_api or pattern.key in HTML_ONLY:
            continue
        pages.update(paths_for(in_world, pattern, every_value=False))
    links: dict[str, str] = {}
    for page in sorted(pages):
        response = send(client, "GET", page, accept=HTML)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for href in HREF.findall(response.content.decode(errors="replace")):
            url = urljoin(page, href.replace("&amp;", "&"))
            parts = urlsplit(url)
            if parts.netloc or not parts.path.startswith("/") or NOT_GETTABLE.match(parts.path):
                continue
            if parts.path.startswith("/static/"):
                continue  # the browser crawl sees every static file load
            if parts.path.startswith("/admin/"):
                # Django's own sort and filter links, one per column and value: the page is crawled once.
                url = parts.path
            links.setdefault(url, page)
    broken = []
    for url, found_on in sorted(links.items()):
        response = send(client, "GET", url, accept=HTML)
        if response.status_code >= 500 or response.status_code == 404:
            broken.append(f"{url} (on {found_on}) -> {response.status_code} {describe_failure(response)}")
    assert links, "no link found on any page"
    assert not broken, f"links shown to {role} that fail:\n" + "\n".join(broken)
