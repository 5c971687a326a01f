"""Projects in a real browser, with a real worker: create a project, upload a dataset, filter its
preview, launch a training run on it under an experiment (from the dataset's "Launch a run on this
dataset" link, reached from the project), and find the run in the project and in the dataset's
"used by" list."""
from __future__ import annotations

import re

import pytest

from projects.models import Project, RunPlacement
from runs.models import Run, RunStatus
from simulations.models import Dataset
from tests.integration.test_browser import _sign_in, page  # noqa: F401  (the Chromium page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.services]


def test_a_project_holds_a_dataset_an_experiment_and_the_run_trained_on_it(
    page, start_worker, analyst, tmp_path  # noqa: F811
):
    from simulations.training.data import generate_credit_data

    start_worker("projects")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    _sign_in(page, analyst.username, "pw-for-tests-1")

    # A project: its creator holds the lock and may edit straight away.
    page.click("nav >> text=Projects")
    page.click("#project-create-link")
    page.fill("#id_name", "Browser credit project")
    page.fill("#id_description", "PD models on an uploaded book")
    page.click("#project-create-form button[type=submit]")
    page.wait_for_selector("#project-name")
    project = Project.objects.get(name="Browser credit project")
    assert "You hold the lock" in page.locator("#project-lock").inner_text()

    # A dataset, uploaded as CSV, and its preview filtered on the server.
    book = tmp_path / "credit_book.csv"
    generate_credit_data(rows=3_000, seed=11).to_csv(book, index=False)
    page.goto("/datasets/upload/")
    page.set_input_files("#id_file", str(book))
    page.fill("#id_name", "browser-credit-book")
    page.click("#dataset-upload button[type=submit]")
    page.wait_for_selector("#dataset-title")
    dataset_url = page.url
    total = int(re.sub(r"\D", "", page.locator("#preview-count").inner_text().split("of")[1].split("matching")[0]))
    assert total == 3_000
    page.select_option("#preview-filters select[name=col] >> nth=0", "default")
    page.select_option("#preview-filters select[name=op] >> nth=0", "eq")
    page.fill("#preview-filters input[name=val] >> nth=0", "1")
    page.click("#preview-filters button[type=submit]")
    page.wait_for_url("**col=default**")
    matching = int(re.sub(r"\D", "", page.locator("#preview-count").inner_text().split("of")[1].split("matching")[0]))
    assert 0 < matching < total

    # The dataset and an experiment join the project.
    page.goto(f"/projects/{project.pk}/")
    page.fill("#dataset-attach-form input[name=dataset]", "browser-credit-book")
    page.click("#dataset-attach-form button[value=attach]")
    page.wait_for_selector("#project-datasets >> text=browser-credit-book")
    page.click("#project-experiments summary")
    page.fill("#experiment-create-form #id_name", "logistic-baseline")
    page.fill("#experiment-create-form #id_purpose", "A first PD model")
    page.click("#experiment-create-form button[type=submit]")
    page.wait_for_selector("#project-experiments >> text=logistic-baseline")
    experiment = project.experiments.get(name="logistic-baseline")

    # From the project, its dataset's page offers "Launch a run on this dataset": the training form opens
    # with the dataset (that version) and the project already chosen; the run is filed under the experiment.
    dataset = Dataset.objects.get(name="browser-credit-book", version=1)
    page.click("#project-datasets a >> text=browser-credit-book")
    page.wait_for_selector("#dataset-title")
    assert f"project={project.pk}" in page.url
    assert "Launch a run on this dataset" in page.locator("#dataset-launch").inner_text()
    assert "filed under Browser credit project" in page.locator("#dataset-launch").inner_text()
    page.click("#dataset-launch-training")
    page.wait_for_selector("#launch-form")
    assert page.input_value("#id_p-dataset") == str(dataset.pk)
    assert page.input_value("#id_project") == str(project.pk)
    page.select_option("#id_p-model_type", "pd_logistic")
    page.select_option("#id_experiment", str(experiment.pk))
    page.click("#launch-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/runs/run_\d{8}_\d{3}/$"))
    run_id = page.url.rstrip("/").rsplit("/", 1)[1]
    placement = RunPlacement.objects.get(run__run_id=run_id)
    assert placement.project == project and placement.experiment == experiment
    page.wait_for_selector('.run-header .badge[data-status="SUCCEEDED"]', timeout=120_000)
    assert Run.objects.get(run_id=run_id).status == RunStatus.SUCCEEDED

    # The run is in the project (and its experiment), and in the dataset's "used by" list.
    page.goto(f"/projects/{project.pk}/")
    assert run_id in page.locator("#project-runs").inner_text()
    assert "1" in page.locator("#project-experiments").inner_text()
    page.click("#project-run-list")
    page.wait_for_url(f"**/runs/?project={project.pk}")
    assert run_id in page.locator("#run-table").inner_text()
    page.goto(dataset_url)
    assert run_id in page.locator("#dataset-runs").inner_text()
    timeline = page.goto(f"/projects/{project.pk}/") and page.locator("#project-timeline").inner_text()
    assert "project.run_place" in timeline and "project.dataset_attach" in timeline
    page.screenshot(path=str(tmp_path / "project.png"), full_page=True)
    assert not problems, problems
