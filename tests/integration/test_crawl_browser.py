"""The crawl in a real browser: a sample of pages per role, each with no console error,
no script error and no failed request (every stylesheet, script, image and fetch loads).

Runs with the service leg (PostgreSQL, Chromium). The sample: home, run list, run
detail (a demo and a simulation run), launch (the chooser and each kind's form),
compare, saved comparisons, the compute page, the validation panel, cleanup and the
admin index, each for the roles the role matrix lets open it.
"""
from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.crawl.world import ROLES, build_world
from tests.integration.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.crawl.test_crawl import KNOWN
from tests.role_matrix_table import expected

pytestmark = [pytest.mark.browser, pytest.mark.services]


def _sample(world: Any) -> list[tuple[str, str]]:
    """(case label, path) of the pages every role's browser opens, if the matrix lets it."""
    demo, sim = world.demo_run.run_id, world.simulation_run.run_id
    from runs.kinds import all_kinds

    pages = [
        ("home", "/"),
        ("runs:list", "/runs/"),
        ("runs:detail", f"/runs/{demo}/"),
        ("runs:detail", f"/runs/{sim}/"),
        ("runs:launch_choose", "/runs/launch/"),
        *[(f"runs:launch kind={kind.name}", f"/runs/launch/{kind.name}/") for kind in all_kinds()],
        ("runs:compare", f"/runs/compare/?runs={demo}&runs={world.other_run.run_id}"),
        ("runs:comparisons", "/runs/comparisons/"),
        ("runs:comparison", f"/runs/comparisons/{world.comparison.pk}/"),
        ("runs:validation", f"/runs/{sim}/validation/"),
        ("runs:cleanup", "/runs/cleanup/"),
        ("simulations:compute", "/simulations/compute/"),
        ("admin:index", "/admin/"),
        ("admin:runs_run_changelist", "/admin/runs/run/"),
        ("finops_admin:batch_list", "/finops/admin/runs/"),
        ("finops_admin:batch_detail", f"/finops/admin/runs/{world.finops_run.run_id}/"),
        ("finops_admin:batch_launch", "/finops/admin/runs/launch/"),
        ("finops_admin:batch_reprocess", f"/finops/admin/runs/{world.finops_run.run_id}/reprocess/"),
        ("admin:finops_admin_batchrun_changelist", "/admin/finops_admin/batchrun/"),
    ]
    return pages


@pytest.fixture
def browser(live_server: Any) -> Any:
    if connection.vendor != "postgresql":
        pytest.skip("runs in the service leg on PostgreSQL")
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_sampled_pages_load_cleanly_in_a_real_browser_for_every_role(browser, live_server, transactional_db, tmp_path):
    world = build_world()
    problems: list[str] = []
    opened = 0
    for role in ROLES:
        if role == "anonymous":
            continue
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(30_000)
        context.add_cookies([{
            "name": settings.SESSION_COOKIE_NAME, "value": _session_cookie(world.users[role]), "url": live_server.url,
        }])
        page = context.new_page()
        current = {"url": ""}
        page.on("console", lambda m: m.type == "error" and problems.append(f"{role} {current['url']}: console: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"{role} {current['url']}: script error: {e}"))
        page.on("requestfailed", lambda r: problems.append(
            f"{role} {current['url']}: request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and r.request.resource_type != "document" and problems.append(
            f"{role} {current['url']}: {r.status} for {r.url}"))
        for label, path in _sample(world):
            if label in KNOWN or expected(label.split()[0], label)["GET"][role] != frozenset({200}):
                continue  # the role matrix does not let this role open it (the crawl tests that)
            current["url"] = path
            response = page.goto(path, wait_until="load")
            opened += 1
            if response is None or response.status != 200:
                problems.append(f"{role} {path}: answered {response and response.status}")
            page.wait_for_timeout(300)  # scripts that run after load (charts, live updates) get to run
        context.close()
    assert opened >= 40, f"only {opened} pages opened"
    assert not problems, "\n".join(problems)
