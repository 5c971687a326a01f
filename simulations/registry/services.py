"""Writes of the model registry: register a run's model, move aliases, archive, edit the card, retrain.

Every write checks the actor's role here (None is the system: commands and the demo)
and every change of what a name points at (alias set or removed, archive) is audited.
Only a SUCCEEDED training run computed by our engine is registered: an imported run's
model file was not produced here and is never loaded or served.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from accounts import roles
from accounts.services import audit_record
from runs.models import Run, RunOrigin, RunStatus
from simulations.registry.models import ModelAlias, ModelVersion, RegisteredModel

CHAMPION = "champion"


def _require_manage(actor: Any) -> None:
    if actor is not None and not roles.can_manage_registry(actor):
        raise PermissionDenied("Only ml_admin and admin may change the model registry.")


def _check_name(name: str, field: str = "name") -> str:
    name = (name or "").strip()
    if not name or slugify(name) != name.lower() or len(name) > 100:
        raise ValidationError({field: [f"{name!r} is not a slug (letters, digits, - and _)"]})
    return name


def _registrable(run: Run) -> None:
    """Refusals before anything is written: only an engine-computed, SUCCEEDED training run."""
    if run.kind != "training":
        raise ValidationError({"run": [f"{run.run_id} is a {run.kind} run: only training runs hold a model"]})
    if run.origin != RunOrigin.ENGINE:
        raise ValidationError({"run": [f"{run.run_id} was imported: a model not trained here is never registered"]})
    if run.status != RunStatus.SUCCEEDED:
        raise ValidationError({"run": [f"{run.run_id} is {run.status}: only a SUCCEEDED training run can be registered"]})


def model_create(*, name: str, actor: Any, description: str = "", model_card: str = "") -> RegisteredModel:
    _require_manage(actor)
    name = _check_name(name)
    if RegisteredModel.objects.filter(name=name).exists():
        raise ValidationError({"name": [f"a model named {name!r} exists"]})
    model = RegisteredModel.objects.create(name=name, description=description[:500], model_card=model_card,
                                           owner=actor if getattr(actor, "is_authenticated", False) else None)
    audit_record(actor=actor, action="registry.model_create", target=name, detail={"model": name})
    return model


def version_create(*, model: RegisteredModel, run: Run, actor: Any, notes: str = "") -> ModelVersion:
    """A new version of `model` from `run`, numbered after the last one; the model file is verified first."""
    from simulations.training.loading import ModelIntegrityError, load_fitted

    _require_manage(actor)
    _registrable(run)
    if model.archived_at is not None:
        raise ValidationError({"model": [f"{model.name} is archived"]})
    try:
        fitted = load_fitted(run)  # checks the file's SHA-256, the run checksum and the trusted types
    except ModelIntegrityError as exc:
        raise ValidationError({"run": [str(exc)]}) from None
    artifact = run.artifacts.get(name=fitted.metadata.get("model_file") or "model.skops")
    dataset = fitted.metadata.get("dataset") or {}
    with transaction.atomic():
        locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        if locked.versions.filter(source_run_id=run.run_id).exists():
            raise ValidationError({"run": [f"{run.run_id} is already a version of {model.name}"]})
        number = (locked.versions.aggregate(m=Max("number"))["m"] or 0) + 1
        version = ModelVersion.objects.create(
            model=locked, number=number, run=run, source_run_id=run.run_id, model_type=fitted.model_type,
            params=run.params, dataset_id=dataset.get("id"), dataset_name=str(dataset.get("name", ""))[:200],
            dataset_sha256=dataset.get("sha256") or run.params.get("dataset_sha256", ""),
            metrics=run.metrics, artifact_name=artifact.name, artifact_sha256=artifact.sha256,
            run_checksum=run.checksum, created_by=actor if getattr(actor, "is_authenticated", False) else None,
            notes=notes,
        )
        RegisteredModel.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
        audit_record(actor=actor, action="registry.version_create", target=f"{model.name} v{number}",
                     detail={"model": model.name, "version": number, "run_id": run.run_id,
                             "artifact_sha256": artifact.sha256})
    return version


def model_register(*, run: Run, name: str, actor: Any, description: str = "", notes: str = "") -> ModelVersion:
    """Register `run`'s model as the next version of model `name` (created when new)."""
    _require_manage(actor)
    _registrable(run)
    name = _check_name(name)
    with transaction.atomic():
        model = RegisteredModel.objects.filter(name=name).first()
        if model is None:
            model = model_create(name=name, actor=actor, description=description)
        return version_create(model=model, run=run, actor=actor, notes=notes)


def alias_set(*, model: RegisteredModel, name: str, version: ModelVersion, actor: Any) -> ModelAlias:
    """Point alias `name` of `model` at `version` (moving it if it exists); audited with from → to."""
    _require_manage(actor)
    name = _check_name(name, "alias")
    if version.model_id != model.pk:
        raise ValidationError({"version": [f"v{version.number} is not a version of {model.name}"]})
    if version.archived_at is not None:
        raise ValidationError({"version": [f"v{version.number} is archived"]})
    if model.archived_at is not None:
        raise ValidationError({"model": [f"{model.name} is archived"]})
    who = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        alias = ModelAlias.objects.select_for_update().filter(model=model, name=name).first()
        previous = alias.version.number if alias else None
        if alias is None:
            alias = ModelAlias.objects.create(model=model, name=name, version=version, updated_by=who)
        else:
            alias.version, alias.updated_by, alias.updated_at = version, who, timezone.now()
            alias.save(update_fields=["version", "updated_by", "updated_at"])
        RegisteredModel.objects.filter(pk=model.pk).update(updated_at=timezone.now())
        audit_record(actor=actor, action="registry.alias_set", target=f"{model.name}@{name}",
                     detail={"model": model.name, "alias": name, "from": previous, "to": version.number})
    return alias


def alias_delete(*, model: RegisteredModel, name: str, actor: Any) -> None:
    _require_manage(actor)
    with transaction.atomic():
        alias = ModelAlias.objects.select_for_update().filter(model=model, name=name).first()
        if alias is None:
            raise ValidationError({"alias": [f"{model.name} has no alias {name!r}"]})
        previous = alias.version.number
        alias.delete()
        RegisteredModel.objects.filter(pk=model.pk).update(updated_at=timezone.now())
        audit_record(actor=actor, action="registry.alias_delete", target=f"{model.name}@{name}",
                     detail={"model": model.name, "alias": name, "from": previous, "to": None})


def version_archive(*, version: ModelVersion, actor: Any) -> ModelVersion:
    """Archive a version: it is no longer scored, and the aliases that pointed at it are removed (audited)."""
    _require_manage(actor)
    with transaction.atomic():
        removed = list(version.aliases.values_list("name", flat=True))
        version.aliases.all().delete()
        version.archived_at = timezone.now()
        version.save(update_fields=["archived_at"])
        RegisteredModel.objects.filter(pk=version.model_id).update(updated_at=timezone.now())
        audit_record(actor=actor, action="registry.version_archive", target=f"{version.model.name} v{version.number}",
                     detail={"model": version.model.name, "version": version.number, "aliases_removed": removed})
    return version


def model_archive(*, model: RegisteredModel, actor: Any) -> RegisteredModel:
    """Archive a model: its aliases are removed and it serves no prediction any more."""
    _require_manage(actor)
    with transaction.atomic():
        removed = {a.name: a.version.number for a in model.aliases.select_related("version")}
        model.aliases.all().delete()
        model.archived_at = model.updated_at = timezone.now()
        model.save(update_fields=["archived_at", "updated_at"])
        audit_record(actor=actor, action="registry.model_archive", target=model.name,
                     detail={"model": model.name, "aliases_removed": removed})
    return model


def model_card_update(*, model: RegisteredModel, actor: Any, model_card: str | None = None,
                      description: str | None = None) -> RegisteredModel:
    _require_manage(actor)
    fields = ["updated_at"]
    if model_card is not None:
        if len(model_card) > 100_000:
            raise ValidationError({"model_card": ["longer than 100,000 characters"]})
        model.model_card = model_card
        fields.append("model_card")
    if description is not None:
        if len(description) > 500:
            raise ValidationError({"description": ["longer than 500 characters"]})
        model.description = description
        fields.append("description")
    model.updated_at = timezone.now()
    model.save(update_fields=fields)
    audit_record(actor=actor, action="registry.model_card_update", target=model.name,
                 detail={"model": model.name, "fields": fields[1:]})
    return model


def model_retrain(*, model: RegisteredModel, dataset_id: int, actor: Any) -> Run:
    """Launch a training run with the champion's parameters (or the latest version's) on another dataset."""
    from runs.services import run_create

    if actor is not None and not roles.can_train_models(actor):
        raise PermissionDenied("You may not train models.")
    alias = model.aliases.select_related("version").filter(name=CHAMPION).first()
    base = alias.version if alias else model.versions.filter(archived_at__isnull=True).order_by("-number").first()
    if base is None:
        raise ValidationError({"model": [f"{model.name} has no version to retrain from"]})
    params = dict(base.params)
    params["dataset"] = int(dataset_id)
    params["dataset_sha256"] = ""  # the chosen dataset's current checksum
    return run_create(kind="training", params=params, owner=actor,
                      notes=f"Retrain of {model.name} v{base.number} on dataset #{dataset_id}")
