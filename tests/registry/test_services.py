"""Registering runs, moving aliases (audited), archiving, and scoring from what an alias points at."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import AuditEvent
from runs.models import Run, RunOrigin, RunStatus
from simulations.registry.models import ModelVersion, RegisteredModel
from simulations.registry.scoring import ScoringError, resolve_version, score
from simulations.registry.services import alias_set, model_archive, model_register, version_archive

pytestmark = pytest.mark.django_db


def test_register_a_succeeded_training_run(logistic_run, users):
    version = model_register(run=logistic_run, name="pd-credit", actor=users["ml_admin"], notes="first")
    assert version.number == 1 and version.model.name == "pd-credit"
    assert version.source_run_id == logistic_run.run_id
    assert version.artifact_sha256 == logistic_run.artifacts.get(name="model.skops").sha256
    assert version.dataset_sha256 == logistic_run.params["dataset_sha256"]
    assert version.metrics["test_roc_auc"] == logistic_run.metrics["test_roc_auc"]
    assert AuditEvent.objects.filter(action="registry.version_create", target="pd-credit v1").exists()


def test_register_refuses_failed_imported_and_non_training_runs(logistic_run, users):
    actor = users["admin"]
    failed = Run.objects.get(pk=logistic_run.pk)
    Run.objects.filter(pk=failed.pk).update(status=RunStatus.FAILED)
    failed.refresh_from_db()
    with pytest.raises(ValidationError, match="FAILED"):
        model_register(run=failed, name="m", actor=actor)
    Run.objects.filter(pk=failed.pk).update(status=RunStatus.SUCCEEDED, origin=RunOrigin.IMPORT,
                                            imported_at=failed.created_at)
    failed.refresh_from_db()
    with pytest.raises(ValidationError, match="imported"):
        model_register(run=failed, name="m", actor=actor)
    Run.objects.filter(pk=failed.pk).update(origin=RunOrigin.ENGINE, imported_at=None, kind="demo")
    failed.refresh_from_db()
    with pytest.raises(ValidationError, match="training"):
        model_register(run=failed, name="m", actor=actor)
    assert not RegisteredModel.objects.exists() and not ModelVersion.objects.exists()


def test_only_ml_admin_and_admin_register(logistic_run, users):
    for role in ("analyst", "viewer", "finops_admin", "governance_admin"):
        with pytest.raises(PermissionDenied):
            model_register(run=logistic_run, name="m", actor=users[role])
    assert not RegisteredModel.objects.exists()


def test_alias_move_is_audited_and_predict_answers_from_the_new_version(train, credit, logistic_run, users,
                                                                         credit_rows):
    actor = users["ml_admin"]
    v1 = model_register(run=logistic_run, name="pd", actor=actor)
    gbm = train(model_type="pd_gbm", dataset=credit.pk, seed=1, hyperparameters={"max_iter": 20})
    v2 = model_register(run=gbm, name="pd", actor=actor)
    assert v2.number == 2
    model = v1.model
    alias_set(model=model, name="champion", version=v1, actor=actor)
    frame = pd.DataFrame(credit_rows)
    first = score(resolve_version(model), frame)
    assert first.version.number == 1
    alias_set(model=model, name="champion", version=v2, actor=actor)
    event = AuditEvent.objects.filter(action="registry.alias_set").order_by("-id").first()
    assert event.detail["from"] == 1 and event.detail["to"] == 2 and event.actor == actor
    second = score(resolve_version(model), frame)
    assert second.version.number == 2
    assert second.probabilities != first.probabilities
    with pytest.raises(PermissionDenied):
        alias_set(model=model, name="champion", version=v1, actor=users["analyst"])


def test_an_altered_model_file_is_refused_even_after_it_was_loaded(logistic_run, users, credit_rows):
    version = model_register(run=logistic_run, name="pd", actor=users["admin"])
    frame = pd.DataFrame(credit_rows)
    assert len(score(version, frame).predictions) == len(frame)
    artifact = logistic_run.artifacts.get(name="model.skops")
    path = Path(settings.STORAGES["artifacts"]["OPTIONS"]["location"]) / artifact.path
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ScoringError) as info:
        score(version, frame)
    assert info.value.status == 409 and "altered" in str(info.value)


def test_register_refuses_an_altered_model_file(logistic_run, users):
    artifact = logistic_run.artifacts.get(name="model.skops")
    path = Path(settings.STORAGES["artifacts"]["OPTIONS"]["location"]) / artifact.path
    path.write_bytes(b"PK not a model")
    with pytest.raises(ValidationError, match="altered"):
        model_register(run=logistic_run, name="pd", actor=users["admin"])
    assert not RegisteredModel.objects.exists()


def test_missing_columns_are_named(logistic_run, users, credit_rows):
    version = model_register(run=logistic_run, name="pd", actor=users["admin"])
    frame = pd.DataFrame(credit_rows).drop(columns=["ltv"])
    with pytest.raises(ScoringError) as info:
        score(version, frame)
    assert info.value.status == 400 and info.value.extra["missing"] == ["ltv"]


def test_archiving_a_version_removes_its_aliases_and_stops_scoring(logistic_run, users, credit_rows):
    actor = users["admin"]
    version = model_register(run=logistic_run, name="pd", actor=actor)
    alias_set(model=version.model, name="champion", version=version, actor=actor)
    version_archive(version=version, actor=actor)
    assert not version.model.aliases.exists()
    with pytest.raises(ScoringError):
        resolve_version(version.model, version=1)
    model_archive(model=version.model, actor=actor)
    with pytest.raises(ScoringError, match="archived"):
        resolve_version(version.model)
