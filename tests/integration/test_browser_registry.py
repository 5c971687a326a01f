"""The model registry in a real browser: register a trained run, promote it to champion, score a CSV."""
from __future__ import annotations

import csv
import io

import pytest

from simulations.registry.models import ModelAlias
from tests.integration.test_browser import _sign_in, page  # noqa: F401  (the Chromium page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.services]


def test_register_promote_and_score_a_csv(page, real_services, ml_admin, tmp_path):  # noqa: F811
    from runs.services import run_create, run_execute
    from simulations.training.datasets import dataset_generate_credit, dataset_read_frame

    dataset = dataset_generate_credit(rows=2_000, seed=4)
    run = run_create(kind="training", params={"model_type": "pd_logistic", "dataset": dataset.pk, "seed": 1},
                     owner=ml_admin, enqueue=False)
    run_execute(run_pk=run.pk)  # trained in-process: this test is about the registry's pages
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    # A response saved as a download ends its navigation as "aborted": that one is not a failure.
    page.on("requestfailed", lambda r: None if r.url.endswith("/score/") else problems.append(f"failed: {r.url}"))

    _sign_in(page, ml_admin.username, "pw-for-tests-1")
    page.goto(f"/runs/{run.run_id}/")
    page.fill("#register-name", "pd-browser")
    page.click("#register-form button[type=submit]")
    page.wait_for_url("**/models/pd-browser/versions/1/")
    assert run.run_id in page.locator("#version-facts").inner_text()

    page.click("nav >> text=Models")
    page.click("#model-list >> text=pd-browser")
    page.wait_for_url("**/models/pd-browser/")
    page.fill("#id_alias", "champion")
    page.fill("#id_version", "1")
    page.click("#alias-form button[type=submit]")
    page.wait_for_selector("#version-table tr.champion")
    assert "★ champion" in page.locator("#version-table").inner_text()
    assert ModelAlias.objects.get(model__name="pd-browser", name="champion").version.number == 1
    page.wait_for_selector("#registry-chart-history")
    page.screenshot(path=str(tmp_path / "model.png"), full_page=True)

    frame = dataset_read_frame(dataset=dataset).head(25)
    book = tmp_path / "book.csv"
    frame.to_csv(book, index=False)
    page.click("text=Score a CSV")
    page.wait_for_url("**/models/pd-browser/score/")
    page.set_input_files("#id_file", str(book))
    with page.expect_download() as download:
        page.click("#score-form button[type=submit]")
    scored = download.value.path().read_text()
    rows = list(csv.DictReader(io.StringIO(scored)))
    assert len(rows) == 25 and {"prediction", "probability_0", "probability_1"} <= set(rows[0])
    assert not problems, problems
