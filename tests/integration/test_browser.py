"""A person in a real browser: signs in, launches a demo run, watches it finish."""
import os
import shutil
import tempfile

import pytest

from runs.models import Run, RunStatus

pytestmark = [pytest.mark.browser, pytest.mark.services]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the networking flags Chromium keeps trying to reach hosts this machine cannot.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def page(live_server, tmp_path):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the
    # test itself are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(30_000)
        yield context.new_page()
        context.close()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _sign_in(page, username: str, password: str) -> None:
    page.goto("/runs/")
    assert "/login/" in page.url  # anonymous visitors are sent to sign in
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/runs/")


def test_a_person_launches_a_demo_run_and_sees_it_finish(page, start_worker, analyst, tmp_path):
    start_worker("browser")
    _sign_in(page, analyst.username, "pw-for-tests-1")
    page.click("nav >> text=Launch")
    page.click("text=Demo")
    page.fill("#id_p-steps", "4")
    page.fill("#id_p-step_seconds", "0.5")
    page.fill("#id_tags", "browser")
    page.click("#launch-form button[type=submit]")
    page.wait_for_url("**/runs/run_*/")
    run = Run.objects.get()
    assert run.run_id in page.url
    # The page follows the run live and ends on its final state without a manual reload.
    page.wait_for_selector('.run-header .badge[data-status="SUCCEEDED"]', timeout=60_000)
    assert page.locator("#run-progress-text").inner_text() == "100%"
    assert page.locator("#run-logs").inner_text().count("Step ") == 4
    page.screenshot(path=str(tmp_path / "run-detail.png"), full_page=True)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


def test_a_person_filters_selects_compares_and_saves_a_comparison(page, real_services, analyst, tmp_path):
    from runs.models import RunComparison
    from runs.services import run_create, run_execute

    runs = []
    for seed, tag in ((1, "cmp"), (2, "cmp"), (3, "other")):
        run = run_create(kind="demo", params={"steps": 3, "step_seconds": 0, "seed": seed}, owner=analyst,
                         tags=[tag], enqueue=False)
        run_execute(run_pk=run.pk)  # executed in-process: this test is about the pages
        runs.append(run)
    _sign_in(page, analyst.username, "pw-for-tests-1")
    page.fill("input[name=tag]", "cmp")
    page.click("#filter-form button[type=submit]")
    page.wait_for_url("**/runs/?*tag=cmp*")
    boxes = page.locator("input[name=runs][form=bulk-form]")
    assert boxes.count() == 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.select_option("#bulk-action", "compare")
    page.click("#bulk-submit")
    page.wait_for_url("**/runs/compare/?*")
    assert page.locator("#compare-metrics").is_visible()
    rows_differing = page.locator("#compare-params tbody tr:visible").count()  # only the seed differs
    page.check("#params-show-all")
    assert page.locator("#compare-params tbody tr:visible").count() > rows_differing
    page.fill("#save-comparison input[name=name]", "Seeds 1 vs 2")
    page.fill("#save-comparison textarea[name=notes]", "same steps, other seed")
    page.click("#save-comparison button[type=submit]")
    page.wait_for_url("**/runs/comparisons/*/")
    assert "Seeds 1 vs 2" in page.content()
    page.screenshot(path=str(tmp_path / "comparison.png"), full_page=True)
    saved = RunComparison.objects.get(name="Seeds 1 vs 2")
    assert sorted(saved.runs.values_list("run_id", flat=True)) == sorted(r.run_id for r in runs[:2])


def test_a_person_clones_a_run_and_the_clone_runs_to_completion(page, start_worker, analyst, tmp_path):
    from runs.services import run_create, run_execute

    source = run_create(kind="demo", params={"steps": 2, "step_seconds": 0, "seed": 4}, owner=analyst, enqueue=False)
    run_execute(run_pk=source.pk)
    start_worker("clone")
    _sign_in(page, analyst.username, "pw-for-tests-1")
    page.goto(f"/runs/{source.run_id}/")
    page.click("#clone-link")
    page.fill("#id_p-seed", "5")
    page.fill("#id_p-steps", "3")
    page.fill("#id_p-step_seconds", "0.3")
    page.click("#clone-form button[type=submit]")
    page.wait_for_url("**/runs/run_*/")
    clone = Run.objects.exclude(pk=source.pk).get()
    assert clone.run_id in page.url and clone.parent_id == source.pk
    page.wait_for_selector('.run-header .badge[data-status="SUCCEEDED"]', timeout=60_000)
    assert source.run_id in page.locator(".meta").inner_text()
    clone.refresh_from_db()
    assert clone.status == RunStatus.SUCCEEDED and clone.trigger == "CLONE" and clone.params["seed"] == 5
