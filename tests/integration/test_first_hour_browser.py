"""The run pages in a real browser: what a new user sees change while a run runs, and after an edit."""
from __future__ import annotations

import pytest

from runs.models import Run, RunStatus
from tests.integration.test_browser import page  # noqa: F401  (the Chromium page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.services]


def _sign_in(page, user, path: str) -> None:  # noqa: F811
    page.goto(path)
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"**{path}")


def _poll(condition, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting on the page"
        time.sleep(0.2)


def test_the_live_page_shows_the_worker_and_counts_log_lines_while_the_run_runs(page, start_worker, analyst):  # noqa: F811
    from runs.services import run_create

    start_worker("live")
    run = run_create(kind="demo", params={"steps": 8, "step_seconds": 1, "seed": 1}, owner=analyst)
    _sign_in(page, analyst, f"/runs/{run.run_id}/")
    page.wait_for_selector('.run-header .badge[data-status="RUNNING"]', timeout=60_000)
    # Polled from Python: a page-side predicate (wait_for_function) is a string the page's
    # Content-Security-Policy (script-src 'self', no eval) does not let run.
    _poll(lambda: page.locator("#run-worker").inner_text().strip() not in ("", "—"))
    _poll(lambda: int(page.locator("#run-log-count").get_attribute("data-count") or 0) >= 4)
    assert page.locator(".run-header .badge").get_attribute("data-status") == "RUNNING"
    assert page.locator("#run-log-count").inner_text().endswith(" lines")
    assert Run.objects.get(pk=run.pk).worker in page.locator("#run-worker").inner_text()


def test_tag_chips_follow_an_inline_save_and_cancel_asks_first(page, real_services, analyst):  # noqa: F811
    from runs.services import run_create, run_execute

    done = run_create(kind="demo", params={"steps": 1, "step_seconds": 0, "seed": 2}, owner=analyst, enqueue=False)
    run_execute(run_pk=done.pk)
    _sign_in(page, analyst, f"/runs/{done.run_id}/")
    page.fill("#id_tags", "alpha, beta")
    page.locator("#id_notes").click()  # leaving the field saves it
    page.wait_for_selector("#annotate-status >> text=Tags saved.")
    assert page.locator("#run-tags .pill").all_inner_texts() == ["alpha", "beta"]

    pending = run_create(kind="demo", params={"steps": 1, "step_seconds": 0, "seed": 3}, owner=analyst, enqueue=False)
    page.goto(f"/runs/{pending.run_id}/")
    messages: list[str] = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.dismiss()))
    page.click("#cancel-form button")
    page.wait_for_timeout(500)
    assert messages and pending.run_id in messages[0]
    assert not Run.objects.get(pk=pending.pk).cancel_requested
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-form button")
    page.wait_for_url(f"**/runs/{pending.run_id}/")
    page.wait_for_load_state()
    pending.refresh_from_db()
    assert pending.cancel_requested or pending.status == RunStatus.CANCELLED


def test_the_run_list_filters_by_ticking_boxes(page, real_services, analyst):  # noqa: F811
    _sign_in(page, analyst, "/runs/")
    page.check("#filter-status input[value=FAILED]")
    page.check("#filter-status input[value=SUCCEEDED]")
    page.click("#filter-form button[type=submit]")
    page.wait_for_url("**/runs/?*")
    assert "status=FAILED" in page.url and "status=SUCCEEDED" in page.url
    assert page.locator("#filter-status input[value=FAILED]").is_checked()


def test_launch_form_checkboxes_sit_at_the_left_under_their_label(page, real_services, analyst):  # noqa: F811
    _sign_in(page, analyst, "/runs/launch/simulation/")
    box = page.locator("#id_p-include_off_balance").bounding_box()
    label = page.locator("label[for=id_p-include_off_balance]").bounding_box()
    number = page.locator("#id_p-total_assets_eur")
    assert box and label and abs(box["x"] - label["x"]) < 8 and box["width"] < 40
    assert number.input_value() == "10000000000"
