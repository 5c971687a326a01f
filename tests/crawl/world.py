"""The objects the role matrix and the crawl walk over: one persona per role and
real objects of every sort a URL can name (runs of each kind with logs and
artifacts, a saved comparison, an API key, an audit event, admin rows).

Parameters of URL patterns are filled from these objects by name first, then by
converter, so a new pattern with a known parameter name is crawled unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType

from accounts.roles import Role
from tests.crawl.urlmap import Pattern

ANONYMOUS = "anonymous"
ROLES: tuple[str, ...] = (*[r.value for r in Role], ANONYMOUS)
# Personas with staff status: the admin site is for them (README: "the admin site needs staff status").
STAFF_ROLES = frozenset({Role.ADMIN.value, Role.GOVERNANCE_ADMIN.value, Role.ML_ADMIN.value})
PASSWORD = "pw-for-tests-1"
REGISTRY_MODEL = "crawl-model"


@dataclass
class World:
    users: dict[str, Any]
    demo_run: Any  # owned by the analyst persona, SUCCEEDED, with logs and an artifact
    other_run: Any  # owned by the ml_admin persona
    simulation_run: Any
    comparison: Any
    api_key: Any
    api_secrets: dict[str, str] = field(default_factory=dict)  # role -> an API key of that persona
    clients: dict[str, Any] = field(default_factory=dict)  # role -> a signed-in test client
    finops_run: Any = None  # a FinOps batch run, SUCCEEDED, owned by the finops_admin persona


def build_world() -> World:
    from accounts.services import api_key_create
    from runs.models import Run
    from runs.services import run_create, run_execute
    from runs.services.compare import comparison_create
    from runs.services.saved_views import saved_view_create

    User = get_user_model()
    users: dict[str, Any] = {}
    for role in Role:
        user = User.objects.create_user(
            username=f"p_{role.value}", password=PASSWORD, is_staff=role.value in STAFF_ROLES
        )
        user.groups.set(Group.objects.filter(name=role.value))
        users[role.value] = user
    analyst, ml_admin = users[Role.ANALYST], users[Role.ML_ADMIN]

    def launch(kind: str, owner: Any, params: dict[str, Any], tags: list[str]) -> Any:
        run = run_create(kind=kind, params=params, owner=owner, tags=tags, notes="crawl", enqueue=False)
        run_execute(run_pk=run.pk)
        return Run.objects.get(pk=run.pk)

    demo = launch("demo", analyst, {"steps": 2, "step_seconds": 0, "fail_at_step": 0, "seed": 7}, ["crawl"])
    other = launch("demo", ml_admin, {"steps": 2, "step_seconds": 0, "fail_at_step": 0, "seed": 8}, ["crawl"])
    simulation = launch("simulation", analyst, {"seed": 7, "n_positions": 2_000}, ["crawl-sim"])
    comparison = comparison_create(name="crawl", notes="", run_ids=[demo.run_id, other.run_id], actor=analyst)
    saved_view_create(actor=analyst, name="crawl view", query="kind = demo", columns=["metrics.mean"],
                      sort=["-created"], shared=True)
    api_key, _ = api_key_create(owner=analyst, name="crawl key")
    secrets = {role: api_key_create(owner=user, name=f"{role} key")[1] for role, user in users.items()}
    finops = _finops_run(users[Role.FINOPS_ADMIN])
    _registry_rows(launch, ml_admin)
    _project_rows(analyst, ml_admin, demo)
    _admin_rows()
    built = World(users, demo, other, simulation, comparison, api_key, secrets)
    built.finops_run = finops
    return built


def _finops_run(owner: Any) -> Any:
    """A FinOps batch run over one month and one domain (a source folder of its own), executed,
    plus an allocation rule and a reading so that every FinOps admin page has an object."""
    import tempfile
    from datetime import date
    from pathlib import Path

    from django.test import override_settings

    from finops_admin.generate import generate
    from finops_admin.models import AllocationRule, Application, CostReading
    from finops_admin.services.catalogue import catalogue_load
    from runs.models import Run
    from runs.services import run_create, run_execute

    root = Path(tempfile.mkdtemp(prefix="crawl-finops-"))
    source = root / "sources"
    generate(out=source, months=1, applications=8, rows_per_month=40, seed=3, last_month=date(2026, 11, 1))
    with override_settings(FINOPS_SOURCE_DIR=source, FINOPS_SOURCE_ROOTS=[root]):
        catalogue_load(path=source / "catalogue.csv")
        run = run_create(kind="finops_batch", params={"periods": "2026-11", "domains": "open"}, owner=owner,
                         enqueue=False)
        run_execute(run_pk=run.pk)
    if not AllocationRule.objects.exists():
        AllocationRule.objects.create(priority=1, field="provider", value="crawl",
                                      application=Application.objects.order_by("pk").first())
    assert CostReading.objects.exists()
    return Run.objects.get(pk=run.pk)


def _registry_rows(launch: Any, owner: Any) -> None:
    """A small trained model registered as crawl-model v1 with the champion alias (the registry's URLs name it)."""
    from simulations.registry.services import alias_set, model_register
    from simulations.training.datasets import dataset_generate_credit

    dataset = dataset_generate_credit(rows=1_000, seed=3)
    run = launch("training", owner, {"model_type": "pd_logistic", "dataset": dataset.pk, "seed": 1}, ["crawl-train"])
    version = model_register(run=run, name=REGISTRY_MODEL, actor=owner)
    alias_set(model=version.model, name="champion", version=version, actor=owner)


def _project_rows(analyst: Any, ml_admin: Any, run: Any) -> None:
    """The analyst's project, ml_admin a member: an experiment, the registry's dataset, the demo run
    filed under it; its lock free, so each persona's edit meets the rules rather than a lock."""
    from projects import services
    from simulations.training.models import Dataset

    project = services.project_create(actor=analyst, name="crawl-project", description="crawl",
                                      members=[ml_admin])
    experiment = services.experiment_create(actor=analyst, project=project, name="crawl-experiment")
    dataset = Dataset.objects.order_by("pk").first()
    if dataset is not None:
        services.project_dataset_attach(actor=analyst, project=project, dataset_name=dataset.name)
    services.run_place(actor=analyst, run=run, project=project, experiment=experiment)
    services.project_lock_release(actor=analyst, project=project)


def _admin_rows() -> None:
    """One row of every model registered in the admin, so change pages have an object."""
    from django_celery_beat.models import (
        ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule,
    )
    from django.utils import timezone

    interval, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    CrontabSchedule.objects.get_or_create(minute="0", hour="3")
    SolarSchedule.objects.get_or_create(event="sunrise", latitude=48.85, longitude=2.35)
    ClockedSchedule.objects.get_or_create(clocked_time=timezone.now())
    PeriodicTask.objects.get_or_create(name="crawl task", defaults={"task": "runs.reap_stale_runs", "interval": interval})
    if apps.is_installed("axes"):  # login lock-out records
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        seen = {"user_agent": "crawl", "ip_address": "127.0.0.1", "username": "p_viewer", "http_accept": "*/*",
                "path_info": "/login/"}
        AccessAttempt.objects.create(**seen, get_data="", post_data="", failures_since_start=1)
        AccessLog.objects.create(**seen)
        AccessFailureLog.objects.create(**seen)
    empty = [
        model._meta.label for model in admin.site._registry if not model._default_manager.exists()
    ]
    assert not empty, f"no row of {empty}: create one in tests/crawl/world.py so its admin pages are crawled"


# ---------------------------------------------------------------------------
# Filling URL parameters
# ---------------------------------------------------------------------------
def _admin_model(pattern: Pattern) -> Any:
    parts = pattern.route.split("/")
    if len(parts) > 2 and parts[0] == "admin":
        try:
            return apps.get_model(parts[1], parts[2])
        except (LookupError, ValueError):
            return None
    return None


def parameter_values(world: World, pattern: Pattern, name: str, converter: str) -> list[str]:
    """Real values for one parameter of a pattern, most typical first."""
    from runs.kinds import all_kinds
    from runs.services.exchange import EXPORT_FORMATS

    sim = world.simulation_run
    model = _admin_model(pattern)
    if model is not None and name in ("object_id", "id"):
        obj = model._default_manager.order_by("pk").first()
        if model is get_user_model():
            obj = world.users[Role.VIEWER]
        elif model is type(world.api_key):
            obj = world.api_key  # the analyst's: whose key it is decides who sees it
        elif model is type(world.demo_run):
            obj = world.demo_run  # a run every run viewer sees (ids are random: "first" is any kind)
        return [str(obj.pk)]
    if name == "user_id":  # console: the viewer persona's account
        return [str(world.users[Role.VIEWER].pk)]
    if name == "key_id":  # console: the analyst's key (whose key it is decides who sees it)
        return [str(world.api_key.pk)]
    if name == "event_id":  # console: an audit entry
        from accounts.models import AuditEvent

        return [str(AuditEvent.objects.order_by("pk").values_list("pk", flat=True).first())]
    if name == "run_id":
        if "finops" in pattern.route:
            return [world.finops_run.run_id]
        if "simulations" in pattern.route:
            return [sim.run_id]
        return [world.demo_run.run_id, sim.run_id]
    if name == "name" and "caches" in pattern.route:  # console: a cache whose clearing harms nothing
        return ["run-list-counts"]
    if name == "name" and "simulations" in pattern.route:
        return list(sim.artifacts.order_by("name").values_list("name", flat=True)[:2])
    if name == "model_name":  # the model registry
        return [REGISTRY_MODEL]
    if name == "number" and "models" in pattern.route:
        return ["1"]
    if name == "alias" and "models" in pattern.route:
        return ["champion"]
    if name == "pk" and pattern.route.startswith(("datasets/", "api/datasets/")):
        # The registry's training dataset: a run used it, so its page lists a run and deleting it is refused.
        from simulations.training.models import Dataset

        return [str(Dataset.objects.order_by("pk").values_list("pk", flat=True).first())]
    if name in ("project_id", "pk") and ("projects/" in pattern.route):
        from projects.models import Project

        return [str(Project.objects.get(name="crawl-project").pk)]
    if name in ("experiment_id", "pk") and ("experiments/" in pattern.route) and "mlflow" not in pattern.route:
        from projects.models import Experiment

        return [str(Experiment.objects.get(name="crawl-experiment").pk)]
    if name == "pk" and pattern.route.startswith(("runs/views/", "api/views/")):
        from runs.models import SavedView

        return [str(SavedView.objects.get(name="crawl view").pk)]
    if name == "pk" and "comparison" in pattern.route:
        return [str(world.comparison.pk)]
    if name == "kind":
        return [k.name for k in all_kinds()]
    if name == "fmt":
        return list(EXPORT_FORMATS)
    if name == "format":
        return [".json"] if converter == "drf_format_suffix" else ["json"]
    if name == "content_type_id":
        return [str(ContentType.objects.get_for_model(type(world.demo_run)).pk)]
    if name == "object_id" and pattern.route.startswith("admin/r/"):
        return [str(world.demo_run.pk)]
    if name == "app_label":
        return ["runs"]
    if name == "url":  # the admin's catch-all
        return ["no-such-page/"]
    # Unknown name: a value by converter, from the fixtures.
    by_converter = {
        "int": str(world.comparison.pk),
        "uuid": str(world.api_key.pk),
        "slug": "demo",
        "str": world.demo_run.run_id,
        "path": world.demo_run.run_id,
    }
    if converter in by_converter:
        return [by_converter[converter]]
    raise LookupError(
        f"{pattern.key}: no value for parameter {name!r} (converter {converter!r}); "
        "teach tests/crawl/world.py:parameter_values where to find one"
    )


def paths_with_values(world: World, pattern: Pattern, *, every_value: bool) -> list[tuple[str, dict[str, str]]]:
    """Real paths of a pattern with the value given to each parameter: the first value of
    each parameter, or every combination."""
    from itertools import product

    from tests.crawl.urlmap import build_path

    names: list[tuple[str, str]] = []
    build_path(pattern, lambda n, c: names.append((n, c)) or "x")
    choices = [parameter_values(world, pattern, n, c) for n, c in names]
    if not every_value:
        choices = [c[:1] for c in choices]
    out = []
    for combo in product(*choices):
        values = iter(combo)
        out.append((build_path(pattern, lambda n, c: next(values)), {n: v for (n, _), v in zip(names, combo)}))
    return out


def paths_for(world: World, pattern: Pattern, *, every_value: bool) -> list[str]:
    return [path for path, _ in paths_with_values(world, pattern, every_value=every_value)]


# Parameters whose values are known before any object exists: a case per value.
def static_parameter_values() -> dict[str, list[str]]:
    from runs.kinds import all_kinds
    from runs.services.exchange import EXPORT_FORMATS

    return {"kind": [k.name for k in all_kinds()], "fmt": list(EXPORT_FORMATS)}


def variants(patterns: list[Pattern]) -> list[dict[str, str]]:
    """One dict per combination of the static parameters these patterns take ({} if none)."""
    from itertools import product

    from tests.crawl.urlmap import build_path

    static = static_parameter_values()
    used: list[str] = []
    for pattern in patterns:
        build_path(pattern, lambda n, c: (n in static and n not in used and used.append(n)) or "x")
    return [dict(zip(used, combo)) for combo in product(*(static[n] for n in used))]


def variant_label(key: str, variant: dict[str, str]) -> str:
    return " ".join([key, *(f"{k}={v}" for k, v in variant.items())])
