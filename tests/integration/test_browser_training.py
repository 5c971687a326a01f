"""Training in a real browser, on a real worker: launch from the form, watch the loss curve grow
while the run is RUNNING (no reload), register the version, promote it to champion, score a CSV."""
from __future__ import annotations

import csv
import io
import time

import pytest

from runs.models import Run, RunStatus
from simulations.registry.models import ModelAlias, ModelVersion
from tests.integration.test_browser import _sign_in, page  # noqa: F401  (the Chromium page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.services]

EPOCHS = 200


def _curve_points(page) -> int:  # noqa: F811
    return int(page.get_attribute("#training-chart-curves", "data-points") or 0)


def _badge(page) -> str:  # noqa: F811
    return page.get_attribute(".run-header .badge", "data-status") or ""


def test_train_from_the_form_watch_the_curve_grow_register_promote_and_score(
        page, start_worker, ml_admin, tmp_path):  # noqa: F811
    from simulations.training.datasets import dataset_generate_market, dataset_read_frame

    market = dataset_generate_market(days=3_000, seed=8)
    start_worker("trainer")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    # A response saved as a download ends its navigation as "aborted": that one is not a failure.
    page.on("requestfailed", lambda r: None if r.url.endswith("/score/") else problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 500 else None)

    _sign_in(page, ml_admin.username, "pw-for-tests-1")
    page.goto("/runs/launch/training/")
    page.select_option("#id_p-model_type", "regime_mlp")
    page.select_option("#id_p-dataset", str(market.pk))
    page.fill("#id_p-hyperparameters", f'{{"epochs": {EPOCHS}}}')
    page.fill("#id_p-seed", "3")
    page.click("#launch-form button[type=submit]")
    page.wait_for_url("**/runs/run_*/")
    run = Run.objects.get(kind="training")
    assert run.run_id in page.url and run.params["model_type"] == "regime_mlp"

    # The curve grows in place while the run is RUNNING: the page is never reloaded meanwhile
    # (a mark set on the window now would be gone after a reload).
    page.wait_for_selector('#training-chart-curves[data-live="1"]')
    page.evaluate("window.__sameDocument = true")
    seen: list[int] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(set(seen)) < 3:
        if _badge(page) != RunStatus.RUNNING and not page.locator('#training-chart-curves[data-live="1"]').count():
            break  # the run ended and the page reloaded
        if _badge(page) == RunStatus.RUNNING:
            points = _curve_points(page)
            if points and (not seen or points != seen[-1]):
                seen.append(points)
        time.sleep(0.2)
    assert len(set(seen)) >= 3, f"the curve did not grow while the run was RUNNING: {seen}"
    assert seen == sorted(seen) and seen[-1] > seen[0] > 0, seen
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded while the curve grew"
    assert page.locator("#training-live-points").inner_text() == str(seen[-1])

    # When the run ends, the page shows its final state and the whole curve, one point per epoch.
    page.wait_for_selector('.run-header .badge[data-status="SUCCEEDED"]', timeout=240_000)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.worker.startswith("trainer@")
    assert len(run.metrics["curves"]["step"]) == EPOCHS
    page.wait_for_selector("#training-metrics")
    assert not page.locator('#training-chart-curves[data-live="1"]').count()
    assert page.evaluate("Chart.getChart(document.getElementById('training-chart-curves')).data.labels.length") == EPOCHS
    page.screenshot(path=str(tmp_path / "training-run.png"), full_page=True)

    page.fill("#register-name", "regime-browser")
    # The first request that loads a model imports the scientific stack into this web process
    # (tens of seconds on a busy 2-core host): allowed more than the default 30 s.
    page.click("#register-form button[type=submit]", timeout=180_000)
    page.wait_for_url("**/models/regime-browser/versions/1/")
    assert run.run_id in page.locator("#version-facts").inner_text()
    assert ModelVersion.objects.get(model__name="regime-browser", number=1).source_run_id == run.run_id

    page.goto("/models/regime-browser/")
    page.fill("#id_alias", "champion")
    page.fill("#id_version", "1")
    page.click("#alias-form button[type=submit]")
    page.wait_for_selector("#version-table tr.champion")
    assert ModelAlias.objects.get(model__name="regime-browser", name="champion").version.number == 1

    frame = dataset_read_frame(dataset=market).iloc[100:130]
    book = tmp_path / "days.csv"
    frame.to_csv(book, index=False)
    page.click("text=Score a CSV")
    page.wait_for_url("**/models/regime-browser/score/")
    page.set_input_files("#id_file", str(book))
    with page.expect_download() as download:
        page.click("#score-form button[type=submit]")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert len(rows) == 30
    classes = run.metrics["classes"]
    assert {"prediction", *(f"probability_{c}" for c in classes)} <= set(rows[0])
    assert {r["prediction"] for r in rows} <= set(classes)
    for r in rows:
        assert abs(sum(float(r[f"probability_{c}"]) for c in classes) - 1.0) < 1e-5  # six significant digits each
    assert not problems, problems
