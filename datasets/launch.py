"""Launching a run on a dataset: which kinds take it, the links from its page, and the launch form's prefill.

The two kinds that read a dataset name it by a parameter of their own (`training`: `dataset`,
`positions_book`: `positions_dataset`); the launch page takes the neutral query parameter
`dataset=<id>` (an id names one version) and puts it in that field. A prefilled id is checked as
a typed one is: the field's own cleaning, then "may this user read it", and a refusal is a form
error on the field, never a silent empty choice.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import roles
from simulations.training.models import Dataset


@dataclass(frozen=True)
class DatasetParam:
    """Where a kind takes its dataset: the id field and the version it records."""

    field: str
    version_field: str


DATASET_PARAMS: dict[str, DatasetParam] = {
    "training": DatasetParam("dataset", "dataset_version"),
    "positions_book": DatasetParam("positions_dataset", "positions_dataset_version"),
}


@dataclass(frozen=True)
class LaunchLink:
    kind: str
    label: str
    url: str


def is_positions_dataset(dataset: Dataset) -> bool:
    """Its columns are those of the positions format (docs/positions_format.md): the required ones, no unknown one.

    The rows themselves are validated by the run; this only decides which launch forms to offer.
    """
    from simulations.engine.schema import INPUT_COLUMN_NAMES, REQUIRED_COLUMNS

    names = set(dataset.column_names)
    return set(REQUIRED_COLUMNS) <= names and names <= set(INPUT_COLUMN_NAMES)


def kinds_for(dataset: Dataset) -> list[str]:
    """The kinds that take this dataset: a positions dataset is weighed as a book; any dataset trains a model."""
    return (["positions_book"] if is_positions_dataset(dataset) else []) + ["training"]


def readable_dataset(*, user: Any, pk: Any) -> Dataset | None:
    """The version with this id if `user` may read it (datasets are read by whoever reads runs)."""
    if not roles.can_view_datasets(user):
        return None
    try:
        return Dataset.objects.filter(pk=int(pk)).first()
    except (TypeError, ValueError, OverflowError):
        return None


def launch_links(*, dataset: Dataset, user: Any, placement: Mapping[str, Any] | None = None) -> list[LaunchLink]:
    """Links to the launch forms of the kinds that take `dataset` and that `user` may launch (none for viewers).

    `placement` ({"project": id, "experiment": id}) is carried to the launch form, which validates it
    (the user must be able to file runs under that project).
    """
    from runs.kinds import kinds_launchable_by

    launchable = {kind.name: kind for kind in kinds_launchable_by(user)}
    query = {"dataset": dataset.pk, **{k: v for k, v in (placement or {}).items() if v}}
    return [
        LaunchLink(name, launchable[name].label, f"{reverse('runs:launch', args=[name])}?{urlencode(query)}")
        for name in kinds_for(dataset) if name in launchable
    ]


def _choice_label(dataset: Dataset) -> str:
    return f"#{dataset.pk} {dataset.name} v{dataset.version} ({dataset.rows:,} rows, {dataset.sha256[:10]}…)"


def _offer(form: forms.Form, field: str, dataset: Dataset) -> None:
    """Make sure the select lists `dataset`: the forms list the 200 newest versions, and an older one
    linked from its page must still show as chosen."""
    widget = form.fields[field].widget
    choices = list(getattr(widget, "choices", []) or [])
    if choices and all(str(value) != str(dataset.pk) for value, _ in choices):
        widget.choices = [*choices, (dataset.pk, _choice_label(dataset))]


def _refuse(form: forms.Form, field: str, message: str) -> None:
    if not form.is_bound:
        # An unbound form has no cleaned data to drop the field from; give it an empty one so that
        # the error is shown beside the field like a submitted value's.
        form.full_clean()
        form.cleaned_data = {}
    form.add_error(field, message)


def launch_form_with_dataset(form: forms.Form, *, kind: str, user: Any,
                             query: Mapping[str, Any] | None = None) -> forms.Form:
    """The launch form of `kind`, with the dataset of `query` (`dataset=<id>`) prefilled on an unbound
    form, and the dataset of a submitted form checked for `user`. Other kinds pass through unchanged."""
    param = DATASET_PARAMS.get(kind)
    if param is None or param.field not in form.fields:
        return form
    if form.is_bound:
        raw = form.data.get(form.add_prefix(param.field))
    else:
        raw = (query or {}).get("dataset")
    if raw in (None, ""):
        return form
    try:
        pk = form.fields[param.field].clean(raw)  # the same cleaning as a typed value
    except ValidationError as exc:
        if not form.is_bound:  # a submitted form reports this itself
            _refuse(form, param.field, exc)
        return form
    dataset = readable_dataset(user=user, pk=pk)
    if dataset is None:
        if not (form.is_bound and form.has_error(param.field)):  # the form's own "No dataset #N." says it already
            _refuse(form, param.field, f"No dataset #{pk} that you may read.")
        return form
    _offer(form, param.field, dataset)
    if not form.is_bound:
        form.initial[param.field] = dataset.pk
        form.initial[param.version_field] = dataset.version
    return form


@dataclass(frozen=True)
class Placement:
    """The project (and experiment) a dataset page was reached from, as far as `user` may file runs there."""

    project: Any = None
    experiment: Any = None

    @property
    def query(self) -> dict[str, int]:
        return {k: v.pk for k, v in (("project", self.project), ("experiment", self.experiment)) if v is not None}


def placement_from_query(*, user: Any, query: Mapping[str, Any]) -> Placement:
    """`project=<id>` (and `experiment=<id>`) of a page reached from a project, kept only when the user may
    file runs under it and the experiment is an active one of it: the link never offers what the launch
    form would refuse (which checks them again)."""
    from projects.models import ExperimentStatus
    from projects.selectors import editable_projects

    def number(key: str) -> int | None:
        value = str(query.get(key) or "")
        return int(value) if value.isdigit() and len(value) < 19 else None

    project_id = number("project")
    if project_id is None:
        return Placement()
    project = editable_projects(user=user).filter(pk=project_id).first()
    if project is None:
        return Placement()
    experiment_id = number("experiment")
    experiment = None
    if experiment_id is not None:
        experiment = project.experiments.filter(pk=experiment_id, status=ExperimentStatus.ACTIVE).first()
    return Placement(project, experiment)
