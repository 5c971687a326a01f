""""Launch a run on this dataset": the links of a dataset's page, and the launch forms they open, prefilled
with the dataset (and the project and experiment the page was reached from) and checked as if typed."""
from __future__ import annotations

import html
import re
from typing import Any

import pytest

from accounts.roles import Role
from projects import services as project_services
from projects.models import RunPlacement
from runs.models import Run
from simulations.format_doc import example_positions_csv
from simulations.training.models import Dataset

pytestmark = pytest.mark.django_db

LAUNCH_TEXT = "Launch a run on this dataset"


def links_of(page: str) -> dict[str, str]:
    """The launch links of a dataset page: kind → URL (unescaped)."""
    return {kind: html.unescape(url) for url, kind in
            re.findall(r'<a href="([^"]*)" id="dataset-launch-([a-z_]+)"', page)}


def selected(page: str, name: str) -> str | None:
    """The value of the selected option of the select named `name`, or None."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no select {name}"
    chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(1))
    return chosen.group(1) if chosen else None


@pytest.fixture
def table(upload: Any) -> Dataset:
    from tests.datasets.conftest import CSV

    return upload(CSV, name="sales")


@pytest.fixture
def book(upload: Any) -> Dataset:
    return upload(example_positions_csv().encode(), name="bank book", filename="book.csv")


@pytest.fixture
def credit(analyst: Any) -> Dataset:
    from simulations.training.datasets import dataset_generate_credit

    return dataset_generate_credit(rows=300, seed=3, user=analyst, name="credit-book")


@pytest.fixture
def project(analyst: Any) -> Any:
    project = project_services.project_create(actor=analyst, name="Book review")
    project_services.experiment_create(actor=analyst, project=project, name="q4")
    project_services.project_lock_release(actor=analyst, project=project)
    return project


# --- the dataset page ----------------------------------------------------------------------
def test_an_analyst_gets_the_training_link_for_any_dataset(table: Dataset, analyst: Any, client_for: Any) -> None:
    page = client_for(analyst).get(f"/datasets/{table.pk}/").content.decode()
    assert LAUNCH_TEXT in page
    assert links_of(page) == {"training": f"/runs/launch/training/?dataset={table.pk}"}


def test_a_positions_dataset_also_links_to_the_book_kind(book: Dataset, analyst: Any, client_for: Any) -> None:
    page = client_for(analyst).get(f"/datasets/{book.pk}/").content.decode()
    assert links_of(page) == {
        "positions_book": f"/runs/launch/positions_book/?dataset={book.pk}",
        "training": f"/runs/launch/training/?dataset={book.pk}",
    }


def test_a_viewer_sees_no_launch_link(book: Dataset, viewer: Any, client_for: Any) -> None:
    page = client_for(viewer).get(f"/datasets/{book.pk}/").content.decode()
    assert "dataset-title" in page  # the page itself is readable
    assert LAUNCH_TEXT not in page and not links_of(page) and "/runs/launch/" not in page


def test_a_viewer_following_a_link_is_refused(book: Dataset, viewer: Any, client_for: Any) -> None:
    assert client_for(viewer).get(f"/runs/launch/positions_book/?dataset={book.pk}").status_code == 403


def test_a_version_page_links_that_version(upload: Any, analyst: Any, client_for: Any) -> None:
    from tests.datasets.conftest import CSV

    first = upload(CSV, name="sales")
    upload(CSV + b"6,west,1,false\n", name="sales")
    page = client_for(analyst).get(f"/datasets/{first.pk}/").content.decode()
    assert links_of(page)["training"] == f"/runs/launch/training/?dataset={first.pk}" and "(v1)" in page


def test_reached_from_a_project_the_link_carries_the_project_and_experiment(
    book: Dataset, project: Any, analyst: Any, client_for: Any
) -> None:
    experiment = project.experiments.get()
    page = client_for(analyst).get(f"/datasets/{book.pk}/?project={project.pk}&experiment={experiment.pk}").content.decode()
    assert links_of(page)["positions_book"] == (
        f"/runs/launch/positions_book/?dataset={book.pk}&project={project.pk}&experiment={experiment.pk}"
    )
    assert "filed under Book review / q4" in page
    # the preview's filter form keeps the project, so the link survives filtering
    assert f'<input type="hidden" name="project" value="{project.pk}">' in page


def test_a_project_the_reader_may_not_file_under_is_not_carried(
    book: Dataset, project: Any, make_user: Any, client_for: Any
) -> None:
    outsider = make_user(Role.ANALYST, username="outsider")
    page = client_for(outsider).get(f"/datasets/{book.pk}/?project={project.pk}").content.decode()
    assert links_of(page)["positions_book"] == f"/runs/launch/positions_book/?dataset={book.pk}"


def test_the_project_page_links_its_datasets_with_the_project(
    book: Dataset, project: Any, analyst: Any, client_for: Any
) -> None:
    project_services.project_dataset_attach(actor=analyst, project=project, dataset_name="bank book")
    page = client_for(analyst).get(f"/projects/{project.pk}/").content.decode()
    assert f'href="/datasets/{book.pk}/?project={project.pk}"' in page


def test_the_experiment_page_links_the_project_datasets_with_the_experiment(
    book: Dataset, project: Any, analyst: Any, client_for: Any
) -> None:
    project_services.project_dataset_attach(actor=analyst, project=project, dataset_name="bank book")
    experiment = project.experiments.get()
    page = client_for(analyst).get(f"/projects/experiments/{experiment.pk}/").content.decode()
    assert f'href="/datasets/{book.pk}/?project={project.pk}&amp;experiment={experiment.pk}"' in page


# --- the launch form it opens ---------------------------------------------------------------
def test_the_launch_form_is_prefilled_and_launches_on_the_dataset(
    book: Dataset, project: Any, analyst: Any, client_for: Any
) -> None:
    client = client_for(analyst)
    experiment = project.experiments.get()
    url = links_of(client.get(f"/datasets/{book.pk}/?project={project.pk}&experiment={experiment.pk}")
                   .content.decode())["positions_book"]
    form = client.get(url)
    assert form.status_code == 200
    page = form.content.decode()
    assert selected(page, "p-positions_dataset") == str(book.pk)
    assert selected(page, "project") == str(project.pk) and selected(page, "experiment") == str(experiment.pk)
    assert 'class="errorlist' not in page

    answer = client.post(url, {"p-positions_dataset": book.pk, "p-positions_dataset_sha256": "", "p-capital": "",
                               "project": project.pk, "experiment": experiment.pk})
    assert answer.status_code == 302
    run = Run.objects.get()
    assert run.params["positions_dataset"] == book.pk and run.params["positions_dataset_version"] == 1
    assert run.params["positions_dataset_sha256"] == book.sha256
    placement = RunPlacement.objects.get(run=run)
    assert placement.project == project and placement.experiment == experiment


def test_the_training_form_is_prefilled_with_the_dataset_and_its_version(
    credit: Dataset, analyst: Any, client_for: Any
) -> None:
    client = client_for(analyst)
    url = links_of(client.get(f"/datasets/{credit.pk}/").content.decode())["training"]
    page = client.get(url).content.decode()
    assert selected(page, "p-dataset") == str(credit.pk)
    assert f'name="p-dataset_version" value="{credit.version}"' in page
    answer = client.post(url, {"p-model_type": "pd_logistic", "p-dataset": credit.pk, "p-hyperparameters": "{}",
                               "p-train_fraction": 0.6, "p-validation_fraction": 0.2, "p-test_fraction": 0.2,
                               "p-seed": 1})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    run = Run.objects.get()
    assert run.params["dataset"] == credit.pk and run.params["dataset_sha256"] == credit.sha256


def test_an_older_version_beyond_the_newest_listed_still_shows_as_chosen(
    table: Dataset, analyst: Any, client_for: Any
) -> None:
    # The forms list the 200 newest versions; the link to an older one must still select it.
    Dataset.objects.bulk_create([
        Dataset(name=f"filler-{i}", kind=table.kind, format=table.format, path=table.path, sha256=table.sha256,
                size_bytes=table.size_bytes, rows=table.rows, columns=table.columns)
        for i in range(201)
    ])
    page = client_for(analyst).get(f"/runs/launch/training/?dataset={table.pk}").content.decode()
    assert selected(page, "p-dataset") == str(table.pk)


@pytest.mark.parametrize("value, message", [
    ("999999", "No dataset #999999 that you may read."),
    ("abc", "Enter a whole number."),
])
def test_a_prefilled_dataset_is_checked_like_a_typed_one(
    value: str, message: str, analyst: Any, client_for: Any, table: Dataset
) -> None:
    page = client_for(analyst).get(f"/runs/launch/training/?dataset={value}").content.decode()
    assert message in page and not selected(page, "p-dataset")


def test_a_submitted_dataset_that_does_not_exist_is_a_form_error(analyst: Any, client_for: Any) -> None:
    answer = client_for(analyst).post("/runs/launch/positions_book/?dataset=999999",
                                      {"p-positions_dataset": 999999, "p-positions_dataset_sha256": "", "p-capital": ""})
    assert answer.status_code == 400 and "No dataset #999999" in answer.content.decode()
    assert not Run.objects.exists()


def test_a_user_who_may_not_read_datasets_is_refused_the_prefill(table: Dataset, make_user: Any) -> None:
    """Checked on the form itself: every role that launches runs reads datasets, so no persona can reach the
    page without reading them; the rule is still the launch form's own."""
    from django.contrib.auth.models import AnonymousUser

    from datasets.launch import launch_form_with_dataset
    from datasets.book_kind import PositionsBookForm

    form = launch_form_with_dataset(PositionsBookForm(prefix="p"), kind="positions_book", user=AnonymousUser(),
                                    query={"dataset": str(table.pk)})
    assert form.errors["positions_dataset"] == [f"No dataset #{table.pk} that you may read."]
    submitted = launch_form_with_dataset(
        PositionsBookForm({"p-positions_dataset": table.pk}, prefix="p"), kind="positions_book", user=AnonymousUser()
    )
    assert not submitted.is_valid() and "that you may read" in str(submitted.errors["positions_dataset"])
