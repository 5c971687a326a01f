"""A person compares four simulation runs in a real browser at 1440 × 900."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.integration.test_browser import _sign_in, page  # noqa: F401  (the Chromium page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.services]

WIDTH, HEIGHT = 1440, 900
SCREENSHOT = Path("/tmp/compare-4-runs.png")
# Four small books that differ in seed, size and settings, so every section has differences.
PARAMS = (
    {"seed": 7, "n_positions": 2_000},
    {"seed": 8, "n_positions": 2_000},
    {"seed": 7, "n_positions": 2_500},
    {"seed": 7, "n_positions": 2_000, "include_derivatives": True},
)


@pytest.fixture
def four_runs(real_services, analyst):
    from runs.models import RunStatus
    from runs.services import run_create, run_execute

    runs = []
    for params in PARAMS:
        run = run_create(kind="simulation", params=params, owner=analyst, enqueue=False)
        run_execute(run_pk=run.pk)  # executed in-process: this test is about the page
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED, run.error_message
        runs.append(run)
    return runs


def _watch_for_errors(page) -> list[str]:
    """Console errors, uncaught exceptions and failed requests of the page."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"exception: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)
    return problems


def _real_problems(problems: list[str]) -> list[str]:
    # The browser asks for /favicon.ico by itself; whether one is served is not this page's concern.
    return [p for p in problems if "/favicon.ico" not in p]


def _cell(page, table: str, row: str, column: int):
    return page.locator(f'#{table} tr[data-row="{row}"] td').nth(column)


def test_four_simulation_runs_side_by_side_at_1440_px(page, four_runs, analyst, tmp_path):  # noqa: F811
    ids = [run.run_id for run in four_runs]
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    _sign_in(page, analyst.username, "pw-for-tests-1")

    # The run page's rendering of the second run's CET1 ratio: the compare page must read the same.
    page.goto(f"/runs/{ids[1]}/")
    on_run_page = page.locator("#sim-checks tr", has_text="CET1 ratio").locator("td").nth(1).inner_text().strip()
    assert re.fullmatch(r"\d+\.\d{2}\s?%", on_run_page), on_run_page
    percent_sign = re.sub(r"[\d.]", "", on_run_page)  # "%" or " %": whatever the run page writes

    problems = _watch_for_errors(page)
    page.goto(f"/runs/compare/?runs={','.join(ids)}")
    page.wait_for_load_state("networkidle")

    # No sideways scrolling with four runs, and a page one can read through.
    width = page.evaluate("document.documentElement.scrollWidth")
    height = page.evaluate("document.documentElement.scrollHeight")
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    if SCREENSHOT.parent.exists():
        shutil.copy(tmp_path / "compare.png", SCREENSHOT)
    print(f"compare page, 4 runs at {WIDTH}x{HEIGHT}: scrollWidth={width} scrollHeight={height}")
    assert width <= WIDTH
    assert height < 6000

    # One card per run; the first run is the marked baseline.
    assert page.locator(".cmp-card").count() == 4
    assert page.locator(".cmp-card.is-baseline").get_attribute("data-run") == ids[0]

    # Only differing parameters show, all of them on request.
    differing = page.locator("#compare-params tbody tr:visible").count()
    assert differing == 3  # seed, n_positions, include_derivatives
    page.check("#params-show-all")
    assert page.locator("#compare-params tbody tr:visible").count() > differing

    # The ratio reads as on the run page; its Δ% is written the same way, with a sign.
    cet1 = _cell(page, "metrics-ratio", "cet1_ratio", 1)
    assert cet1.locator(".cmp-value").inner_text().strip() == on_run_page
    delta_pct = cet1.locator(".cmp-dpct").inner_text().strip()
    assert re.fullmatch(r"[+\-±]\d+\.\d{2}" + re.escape(percent_sign), delta_pct), delta_pct
    assert cet1.locator(".cmp-d").inner_text().strip().endswith(" pp")
    # Money has thousands separators; no cell holds a JSON blob.
    assert re.fullmatch(r"\d{1,3}(,\d{3})+", _cell(page, "metrics-amount", "total_rwa", 0).inner_text().strip())
    assert page.locator("td", has_text=re.compile(r"[\[{]")).count() == 0

    # The threshold decides what is highlighted, without a reload, and goes into the URL.
    at_default = int(page.locator("#significant-count").inner_text())
    page.fill("#threshold", "1000")
    assert page.locator("#metrics-ratio tbody tr.significant").count() == 0
    # What stays highlighted changed from zero or from one text to another: no Δ% to compare.
    assert int(page.locator("#significant-count").inner_text()) < at_default
    assert page.locator("#threshold-echo").inner_text() == "1000"
    page.fill("#threshold", "0.01")
    highlighted = page.locator("#metrics-ratio tbody tr.significant").count()
    assert highlighted > 0 and page.locator("#metrics-ratio td.significant").count() > 0
    assert "threshold=0.01" in page.url
    page.check("#changed-only")
    assert page.locator("#metrics-ratio tbody tr:visible").count() == highlighted

    # Switching the baseline: the third run becomes the reference of every Δ.
    page.select_option("#baseline-select", ids[2])
    page.wait_for_url(f"**baseline={ids[2]}**")
    page.wait_for_load_state("networkidle")
    assert page.locator(".cmp-card.is-baseline").get_attribute("data-run") == ids[2]
    assert ids[2] in page.locator("#metrics-ratio thead th.is-baseline").inner_text()
    assert _cell(page, "metrics-ratio", "cet1_ratio", 2).locator(".cmp-delta").count() == 0
    assert _cell(page, "metrics-ratio", "cet1_ratio", 0).locator(".cmp-dpct").count() == 1
    assert page.locator("#threshold").input_value() == "0.01"  # the threshold came along
    # The breakdowns show one figure at a time; the tabs switch it.
    page.click('#compare-rwa_by_class .cmp-tab[data-figure="rwa_by_class-ead"]')
    assert page.locator("#figure-rwa_by_class-ead").is_visible()
    assert not page.locator("#figure-rwa_by_class-rwa").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH

    # Saved as shown, reopened as shown: same columns, same baseline, same Δ.
    shown_delta = _cell(page, "metrics-ratio", "cet1_ratio", 0).locator(".cmp-delta").inner_text()
    page.fill("#save-comparison input[name=name]", "Four books")
    page.click("#save-comparison button[type=submit]")
    page.wait_for_url("**/runs/comparisons/*/")
    assert [c.get_attribute("data-run") for c in page.locator(".cmp-card").all()] == ids
    assert page.locator(".cmp-card.is-baseline").get_attribute("data-run") == ids[2]
    assert _cell(page, "metrics-ratio", "cet1_ratio", 0).locator(".cmp-delta").inner_text() == shown_delta
    from runs.models import RunComparison

    saved = RunComparison.objects.get(name="Four books")
    assert saved.run_order == ids and saved.baseline_id == four_runs[2].pk
    # Deleting it asks first; declining keeps it.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#delete-comparison button[type=submit]")
    assert "/runs/comparisons/" in page.url and page.locator(".cmp-card").count() == 4

    assert _real_problems(problems) == []
