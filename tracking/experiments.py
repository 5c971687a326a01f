"""MLflow experiments, mapped onto Runsight's projects and their experiments.

An MLflow experiment is a `projects.Experiment`: its id is the experiment's id, its
MLflow name is `<project>/<experiment>` (a name without a slash means an experiment of
the project named by TRACKING_DEFAULT_PROJECT, "MLflow"). A run created in it is filed
there (`projects.services.run_place`), so the project's pages list it. Archived
experiments read as MLflow's "deleted": no new runs.

Experiment "0", MLflow's "Default", is every run the caller may see, whatever its kind
and project: `search_runs(["0"], …)` searches the whole installation, simulations included.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q

from projects import selectors as project_selectors
from projects import services as project_services
from projects.models import Experiment as ProjectExperiment
from projects.models import ExperimentStatus, Project
from tracking.errors import TrackingError, denied, invalid, not_found

DEFAULT_ID = "0"
DEFAULT_NAME = "Default"


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    model: ProjectExperiment | None = None  # None: the Default experiment
    created_at: datetime | None = None
    updated_at: datetime | None = None
    active: bool = True
    tags: dict[str, Any] = field(default_factory=dict)

    def as_mlflow(self) -> dict[str, Any]:
        def millis(moment: datetime | None) -> int:
            return int(moment.timestamp() * 1000) if moment else 0

        return {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "artifact_location": "",
            "lifecycle_stage": "active" if self.active else "deleted",
            "creation_time": millis(self.created_at),
            "last_update_time": millis(self.updated_at),
            "tags": [{"key": str(k), "value": str(v)} for k, v in sorted(self.tags.items())],
        }


DEFAULT = Experiment(DEFAULT_ID, DEFAULT_NAME)


def _default_project() -> str:
    return settings.TRACKING_DEFAULT_PROJECT


def mlflow_name(experiment: ProjectExperiment) -> str:
    return f"{experiment.project.name}/{experiment.name}"


def _split(name: str) -> tuple[str, str]:
    project, slash, rest = name.partition("/")
    return (project.strip(), rest.strip()) if slash else (_default_project(), name.strip())


def _view(experiment: ProjectExperiment) -> Experiment:
    return Experiment(
        str(experiment.pk), mlflow_name(experiment), experiment, experiment.created_at, experiment.updated_at,
        experiment.status == ExperimentStatus.ACTIVE, dict(experiment.tags or {}),
    )


def experiment_list(*, user: Any) -> list[Experiment]:
    """Default first, then every experiment by project and name."""
    found = project_selectors.experiment_list(user=user).order_by("project__name", "name")
    return [DEFAULT, *(_view(e) for e in found)]


def experiment_get(*, user: Any, experiment_id: str) -> Experiment:
    if experiment_id == DEFAULT_ID:
        return DEFAULT
    found = None
    if experiment_id.isdigit() and len(experiment_id) < 19:
        found = project_selectors.experiment_list(user=user).filter(pk=int(experiment_id)).first()
    if found is None:
        raise not_found(f"No experiment with id '{experiment_id}'.")
    return _view(found)


def experiment_get_by_name(*, user: Any, name: str) -> Experiment:
    if name == DEFAULT_NAME:
        return DEFAULT
    project, experiment = _split(name)
    found = (
        project_selectors.experiment_list(user=user)
        .filter(project__name__iexact=project, name=experiment).first()
    )
    if found is None:
        raise not_found(f"Could not find experiment with name '{name}'.")
    return _view(found)


def experiment_create(*, actor: Any, name: Any, tags: dict[str, str] | None = None) -> Experiment:
    """A new experiment `<project>/<experiment>` (the project is created too when it does not exist,
    with the caller as its owner); the projects app's rules and editing lock apply."""
    if not isinstance(name, str) or not name.strip():
        raise invalid("Experiment name must be a non-empty string.")
    if name == DEFAULT_NAME:
        raise TrackingError("RESOURCE_ALREADY_EXISTS", f"Experiment '{name}' already exists.")
    project_name, experiment_name = _split(name)
    if not project_name or not experiment_name:
        raise invalid(f"Invalid experiment name {name!r}: name it '<project>/<experiment>'.")
    try:
        project = Project.objects.filter(name__iexact=project_name).first()
        if project is None:
            project = project_services.project_create(actor=actor, name=project_name)
        elif project.experiments.filter(name=experiment_name).exists():
            raise TrackingError("RESOURCE_ALREADY_EXISTS", f"Experiment '{name}' already exists.")
        created = project_services.experiment_create(actor=actor, project=project, name=experiment_name, tags=tags)
    except project_services.ProjectLocked as exc:
        raise TrackingError("RESOURCE_CONFLICT", str(exc)) from None
    except PermissionDenied as exc:
        raise denied(str(exc) or "You may not create experiments.") from None
    except ValidationError as exc:
        raise invalid("; ".join(exc.messages)) from None
    return _view(ProjectExperiment.objects.select_related("project").get(pk=created.pk))


def run_file(*, actor: Any, run: Any, experiment: Experiment) -> None:
    """File a new run under its experiment's project (membership of the project is needed)."""
    if experiment.model is None:
        return
    if not experiment.active:
        raise invalid(f"Experiment '{experiment.name}' is archived: it takes no new runs.")
    try:
        project_services.run_place(actor=actor, run=run, project=experiment.model.project, experiment=experiment.model)
    except PermissionDenied as exc:
        raise denied(str(exc)) from None
    except ValidationError as exc:
        raise invalid("; ".join(exc.messages)) from None


def experiment_runs_q(experiment_ids: list[str]) -> Q:
    """Runs of these experiments. Default holds every run."""
    if DEFAULT_ID in experiment_ids:
        return Q()
    return Q(placement__experiment_id__in=[int(e) for e in experiment_ids if e.isdigit()])


def experiment_of(run: Any) -> str:
    """A run's experiment id (Default when it is filed under none); reads run.placement."""
    try:
        placement = run.placement
    except Exception:  # RelatedObjectDoesNotExist: not filed anywhere
        return DEFAULT_ID
    return str(placement.experiment_id) if placement.experiment_id else DEFAULT_ID


def check_ids(*, user: Any, experiment_ids: list[str]) -> None:
    """Every id names an experiment the caller may see (MLflow answers 404 otherwise)."""
    for experiment_id in experiment_ids:
        experiment_get(user=user, experiment_id=experiment_id)


__all__ = ["DEFAULT", "DEFAULT_ID", "DEFAULT_NAME", "Experiment", "TrackingError"]
