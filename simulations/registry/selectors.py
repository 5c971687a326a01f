"""Reads of the model registry."""
from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404

from accounts import roles
from simulations.registry.models import ModelAlias, ModelVersion, RegisteredModel

# Metrics shown side by side and charted across versions, when a version has them.
HEADLINE_METRICS = (
    "test_roc_auc", "oracle_roc_auc", "test_accuracy", "test_f1", "test_log_loss", "test_brier",
    "test_mse", "test_mae", "test_r2", "test_vs_true_variance_r2", "test_vs_true_variance_corr",
)


def models_visible(user: Any, *, include_archived: bool = False) -> QuerySet[RegisteredModel]:
    if not roles.can_view_registry(user):
        return RegisteredModel.objects.none()
    qs = RegisteredModel.objects.select_related("owner").annotate(version_count=Count("versions")).prefetch_related(
        Prefetch("aliases", queryset=ModelAlias.objects.select_related("version"))
    )
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    return qs.order_by("name")


def model_get(user: Any, name: str) -> RegisteredModel:
    """The model named `name`, archived ones included; 404 when missing or not visible."""
    model = models_visible(user, include_archived=True).filter(name=name).first()
    if model is None:
        raise Http404("No such model.")
    return model


def versions_of(model: RegisteredModel) -> list[ModelVersion]:
    return list(model.versions.select_related("run", "created_by").prefetch_related("aliases").order_by("-number"))


def version_get(model: RegisteredModel, number: int) -> ModelVersion:
    version = model.versions.select_related("run", "created_by").filter(number=number).first()
    if version is None:
        raise Http404("No such version.")
    return version


def aliases_of(model: RegisteredModel) -> dict[str, int]:
    return {a.name: a.version.number for a in model.aliases.select_related("version")}


def metric_keys(versions: list[ModelVersion]) -> list[str]:
    present = {k for v in versions for k, val in (v.metrics or {}).items() if isinstance(val, (int, float))}
    return [k for k in HEADLINE_METRICS if k in present]


def metric_history(versions: list[ModelVersion]) -> dict[str, Any]:
    """Chart data: one series per headline metric, versions in number order."""
    ordered = sorted(versions, key=lambda v: v.number)
    keys = metric_keys(ordered)
    return {
        "labels": [f"v{v.number}" for v in ordered],
        "series": [{"label": k, "data": [(v.metrics or {}).get(k) for v in ordered]} for k in keys],
    }
