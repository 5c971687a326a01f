"""MLflow experiments, mapped onto Runsight tags.

An MLflow experiment named N is the Runsight tag `mlflow:N` (its id is the tag's id):
a run created in it carries the tag, so the run list's tag filter shows the
experiment's runs on every surface. Experiment "0", MLflow's "Default", is every run
the caller may see, whatever its kind: `search_runs(["0"], …)` searches the whole
installation, simulations included.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Min, Q

from runs.models import Tag

DEFAULT_ID = "0"
DEFAULT_NAME = "Default"
TAG_PREFIX = "mlflow:"
MAX_NAME = Tag._meta.get_field("name").max_length - len(TAG_PREFIX)


class ExperimentNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    tag_id: int | None  # None: the Default experiment
    created_at: datetime | None = None

    def as_mlflow(self) -> dict[str, Any]:
        millis = int(self.created_at.timestamp() * 1000) if self.created_at else 0
        return {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "artifact_location": "",
            "lifecycle_stage": "active",
            "creation_time": millis,
            "last_update_time": millis,
            "tags": [],
        }


DEFAULT = Experiment(DEFAULT_ID, DEFAULT_NAME, None)


def _from_tag(tag: Tag, created_at: datetime | None = None) -> Experiment:
    return Experiment(str(tag.pk), tag.name[len(TAG_PREFIX):], tag.pk, created_at)


def experiment_list() -> list[Experiment]:
    """Default first, then every experiment by name; its time is its first run's."""
    tags = Tag.objects.filter(name__startswith=TAG_PREFIX).annotate(first=Min("runs__created_at")).order_by("name")
    return [DEFAULT, *(_from_tag(tag, tag.first) for tag in tags)]


def experiment_get(experiment_id: str) -> Experiment:
    if experiment_id == DEFAULT_ID:
        return DEFAULT
    if not experiment_id.isdigit():
        raise ExperimentNotFound(f"No experiment with id {experiment_id!r}.")
    tag = Tag.objects.filter(pk=int(experiment_id), name__startswith=TAG_PREFIX).first()
    if tag is None:
        raise ExperimentNotFound(f"No experiment with id {experiment_id!r}.")
    return _from_tag(tag)


def experiment_get_by_name(name: str) -> Experiment:
    if name == DEFAULT_NAME:
        return DEFAULT
    tag = Tag.objects.filter(name=TAG_PREFIX + name).first()
    if tag is None:
        raise ExperimentNotFound(f"Could not find experiment with name {name!r}.")
    return _from_tag(tag)


def experiment_tag_name(name: str) -> str:
    return TAG_PREFIX + name


def experiment_runs_q(experiment_ids: list[str]) -> Q:
    """Runs of these experiments. Default holds every run."""
    if DEFAULT_ID in experiment_ids:
        return Q()
    ids = [int(e) for e in experiment_ids if e.isdigit()]
    return Q(tags__in=Tag.objects.filter(pk__in=ids, name__startswith=TAG_PREFIX))


def experiment_of(tag_names: list[str], tag_ids: dict[str, int]) -> str:
    """The experiment id of a run from its tag names (Default when it is in none)."""
    for name in tag_names:
        if name.startswith(TAG_PREFIX) and name in tag_ids:
            return str(tag_ids[name])
    return DEFAULT_ID
