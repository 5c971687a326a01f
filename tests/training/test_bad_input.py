"""Bad input is refused clearly and leaves nothing behind: no run, no dataset, no artifact."""
from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from runs.models import Run, RunArtifact, RunStatus
from runs.services import run_create, run_execute
from simulations.training.datasets import dataset_upload
from simulations.training.loading import ModelIntegrityError, load_fitted
from simulations.training.models import Dataset

pytestmark = pytest.mark.django_db


def _refused(params, field):
    with pytest.raises(ValidationError) as info:
        run_create(kind="training", params=params, owner=None)
    assert field in info.value.message_dict, info.value.message_dict
    assert not Run.objects.exists()
    return " ".join(info.value.message_dict[field])


def _csv(analyst, text, name="t.csv"):
    return dataset_upload(name="t", filename=name, data=text.encode(), user=analyst)


def test_unknown_feature_and_target(credit):
    assert "no column(s) 'nope'" in _refused({"model_type": "pd_logistic", "dataset": credit.pk, "features": "ltv,nope"}, "features")
    assert "no column 'flag'" in _refused({"model_type": "pd_logistic", "dataset": credit.pk, "target": "flag"}, "target")


def test_a_target_with_one_class(analyst):
    ds = _csv(analyst, "x,y\n" + "".join(f"{i},1\n" for i in range(50)))
    assert "single class" in _refused({"model_type": "pd_logistic", "dataset": ds.pk, "target": "y", "features": "x"}, "target")


def test_nan_in_features(analyst):
    ds = _csv(analyst, "x,z,y\n" + "".join(f"{'' if i == 7 else i},{i % 3},{i % 2}\n" for i in range(50)))
    assert "missing value" in _refused({"model_type": "pd_logistic", "dataset": ds.pk, "target": "y", "features": "x,z"}, "features")


def test_truth_columns_are_not_features(credit):
    assert "true_pd" in _refused({"model_type": "pd_logistic", "dataset": credit.pk, "features": "ltv,true_pd"}, "features")


def test_bad_hyperparameters_and_split(credit):
    assert "unknown hyperparameter" in _refused(
        {"model_type": "pd_gbm", "dataset": credit.pk, "hyperparameters": {"depth": 3}}, "hyperparameters")
    assert "between" in _refused(
        {"model_type": "pd_gbm", "dataset": credit.pk, "hyperparameters": {"learning_rate": 5}}, "hyperparameters")
    assert "add up to 1" in _refused(
        {"model_type": "pd_gbm", "dataset": credit.pk, "train_fraction": 0.9}, "test_fraction")


def test_a_checksum_that_does_not_match_is_refused_at_launch(credit):
    assert "has checksum" in _refused({"model_type": "pd_logistic", "dataset": credit.pk, "dataset_sha256": "0" * 64},
                                      "dataset_sha256")


def test_stored_bytes_altered_after_launch_fail_the_run_with_the_reason(credit):
    run = run_create(kind="training", params={"model_type": "pd_logistic", "dataset": credit.pk}, owner=None, enqueue=False)
    store = storages["artifacts"]
    with store.open(credit.path, "rb") as fh:
        data = bytearray(fh.read())
    data[-100] ^= 0xFF
    store.delete(credit.path)
    store.save(credit.path, io.BytesIO(bytes(data)))
    run_execute(run_pk=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "no longer match its checksum" in run.error_message
    assert not RunArtifact.objects.filter(run=run).exists() and run.metrics == {}


def test_uploads_that_are_not_tables_are_refused(analyst):
    for name, data, why in (
        ("a.txt", b"x,y\n1,2\n", ".csv or .parquet"),
        ("a.parquet", b"not parquet at all", "Could not read"),
        ("a.csv", b"", "empty"),
        ("a.csv", b"only\n1\n2\n", "two columns"),
    ):
        with pytest.raises(ValidationError) as info:
            dataset_upload(name="", filename=name, data=data, user=analyst)
        assert why in " ".join(info.value.messages)
    assert not Dataset.objects.exists()


def test_an_altered_model_file_is_refused_on_load(train, credit):
    run = train(model_type="pd_logistic", dataset=credit.pk)
    assert run.status == RunStatus.SUCCEEDED
    load_fitted(run)  # fine as stored
    artifact = run.artifacts.get(name="model.skops")
    store = storages["artifacts"]
    with store.open(artifact.path, "rb") as fh:
        data = bytearray(fh.read())
    data[len(data) // 2] ^= 0xFF
    store.delete(artifact.path)
    store.save(artifact.path, io.BytesIO(bytes(data)))
    with pytest.raises(ModelIntegrityError, match="altered"):
        load_fitted(run)
    from simulations.training.kind import validate_training

    assert validate_training(run)[0][1] is False


def test_only_succeeded_training_runs_are_loaded(credit):
    run = run_create(kind="training", params={"model_type": "pd_logistic", "dataset": credit.pk}, owner=None, enqueue=False)
    with pytest.raises(ModelIntegrityError, match="PENDING"):
        load_fitted(run)


def test_commands_refuse_bad_input_clearly(credit):
    with pytest.raises(CommandError, match="no column"):
        call_command("train_model", "--type", "pd_logistic", "--dataset", str(credit.pk), "--features", "nope",
                     "--in-process")
    with pytest.raises(CommandError, match="not JSON"):
        call_command("train_model", "--type", "pd_gbm", "--dataset", str(credit.pk), "--hyperparameters", "{bad")
    with pytest.raises(CommandError, match="--rows"):
        call_command("generate_credit_data", "--rows", "0")
    assert not Run.objects.exists()
