"""Determinism, cancel between iterations, commands, roles and the run page panel."""
from __future__ import annotations

import io
import threading
import time

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client

from accounts.roles import Role
from runs.models import Run, RunArtifact, RunLog, RunStatus
from runs.services import run_cancel, run_create, run_execute
from simulations.training.datasets import dataset_generate_credit, dataset_generate_market

pytestmark = pytest.mark.django_db


def test_same_params_and_data_give_the_same_metrics(train, market, credit):
    for params in ({"model_type": "regime_hmm", "dataset": market.pk, "seed": 4},
                   {"model_type": "pd_gbm", "dataset": credit.pk, "seed": 4, "hyperparameters": {"max_iter": 30}}):
        a, b = train(**params), train(**params)
        assert a.status == b.status == RunStatus.SUCCEEDED
        assert a.metrics == b.metrics
        assert a.params_hash == b.params_hash


def test_generated_datasets_are_reproducible(db):
    assert dataset_generate_credit(rows=500, seed=3).sha256 == dataset_generate_credit(rows=500, seed=3).sha256
    assert dataset_generate_market(days=300, seed=3).sha256 != dataset_generate_market(days=300, seed=4).sha256


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_the_fit_between_epochs(make_user):
    analyst = make_user(Role.ANALYST)
    market = dataset_generate_market(days=3_000, seed=1)
    run = run_create(kind="training", owner=analyst, enqueue=False,
                     params={"model_type": "regime_mlp", "dataset": market.pk, "hyperparameters": {"epochs": 2000}})
    cancelled_at: list[float] = []

    def cancel_after_a_few_epochs() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            # On SQLite's shared in-memory test database a write of the executing thread can
            # hold a table for a moment ("database table is locked"): the watcher tries again.
            try:
                if RunLog.objects.filter(run=run, message__startswith="epoch 3/").exists():
                    run_cancel(run=Run.objects.get(pk=run.pk), actor=analyst)
                    cancelled_at.append(time.monotonic())
                    return
            except OperationalError:
                pass
            time.sleep(0.05)

    canceller = threading.Thread(target=cancel_after_a_few_epochs)
    canceller.start()
    run_execute(run_pk=run.pk, worker="test")
    ended = time.monotonic()
    canceller.join()
    run.refresh_from_db()
    assert cancelled_at and run.status == RunStatus.CANCELLED
    assert ended - cancelled_at[0] < 5
    assert run.progress < 100 and not RunArtifact.objects.filter(run=run).exists()
    assert not RunLog.objects.filter(run=run, message__startswith="epoch 2000/").exists()


def test_commands_generate_and_train_in_process(db):
    out = io.StringIO()
    call_command("generate_credit_data", "--rows", "3000", "--seed", "2", stdout=out)
    dataset_id = out.getvalue().split()[1].rstrip(":")
    out = io.StringIO()
    call_command("train_model", "--type", "pd_logistic", "--dataset", dataset_id, "--in-process", stdout=out,
                 stderr=io.StringIO())
    assert "succeeded" in out.getvalue() and "oracle_roc_auc" in out.getvalue()
    run = Run.objects.get(kind="training")
    assert run.status == RunStatus.SUCCEEDED
    out = io.StringIO()
    call_command("generate_market_series", "--days", "400", "--seed", "2", stdout=out)
    assert "400 rows" in out.getvalue()


def test_viewers_cannot_train_analysts_can(viewer, analyst, ml_admin, credit):
    params = {"model_type": "pd_logistic", "dataset": credit.pk}
    with pytest.raises(PermissionDenied):
        run_create(kind="training", params=params, owner=viewer, enqueue=False)
    assert run_create(kind="training", params=params, owner=analyst, enqueue=False).status == RunStatus.PENDING
    assert run_create(kind="training", params=params, owner=ml_admin, enqueue=False).status == RunStatus.PENDING
    c = Client()
    c.force_login(viewer)
    assert c.get("/runs/launch/training/").status_code == 403
    assert c.get("/training/datasets/").status_code == 200
    assert c.post("/training/datasets/", {"file": io.BytesIO(b"x,y\n1,0\n")}).status_code == 403
    c.force_login(analyst)
    page = c.get("/runs/launch/training/")
    assert page.status_code == 200 and f"#{credit.pk} credit book" in page.content.decode()


def test_finops_roles_see_nothing_of_training(make_user, train, credit):
    run = train(model_type="pd_logistic", dataset=credit.pk)
    for role in (Role.FINOPS_ADMIN, Role.FINOPS_USER):
        c = Client()
        c.force_login(make_user(role))
        assert c.get(f"/runs/{run.run_id}/").status_code in (403, 404)
        assert c.get("/training/datasets/").status_code == 403
        assert c.get("/api/training/datasets/").status_code == 403
        assert c.get("/runs/launch/training/").status_code == 403


def test_upload_through_page_and_api_then_train(analyst, train):
    c = Client()
    c.force_login(analyst)
    rows = "".join(f"{i % 7},{(i * 37) % 11},{'a' if i % 3 else 'b'},{int((i % 7) + (i * 37) % 11 > 9)}\n" for i in range(600))
    f = io.BytesIO(("x1,x2,cat,label\n" + rows).encode())
    f.name = "book.csv"
    assert c.post("/training/datasets/", {"file": f, "name": "my book"}).status_code == 302
    f2 = io.BytesIO(b"garbage")
    f2.name = "x.parquet"
    response = c.post("/api/training/datasets/", {"file": f2})
    assert response.status_code == 400 and "Could not read" in str(response.json())
    listed = c.get("/api/training/datasets/").json()
    assert [d["name"] for d in listed] == ["my book"]
    run = train(owner=analyst, model_type="pd_gbm", dataset=listed[0]["id"], target="label", features="x1,x2,cat",
                hyperparameters={"max_iter": 20})
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.metrics["test_roc_auc"] > 0.9
    page = c.get(f"/runs/{run.run_id}/").content.decode()
    assert 'id="training-panel"' in page and 'id="training-charts"' in page and "training.js" in page
    assert "Confusion matrix" in page and "Feature importance" in page


def test_api_launch_with_a_list_of_features_and_a_bad_one(analyst, credit, django_capture_on_commit_callbacks):
    c = Client()
    c.force_login(analyst)
    bad = c.post("/api/runs/", {"kind": "training", "params": {"model_type": "pd_logistic", "dataset": credit.pk,
                                                                 "features": ["ltv", "nope"]}},
                 content_type="application/json")
    assert bad.status_code == 400 and "nope" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        ok = c.post("/api/runs/", {"kind": "training", "params": {"model_type": "pd_logistic", "dataset": credit.pk,
                                                                    "features": ["ltv", "rating", "sector"]}},
                    content_type="application/json")
    assert ok.status_code == 201, ok.content
    run = Run.objects.get(kind="training")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.params["features"] == ["ltv", "rating", "sector"]
    assert run.params["dataset_sha256"] == credit.sha256


def test_run_and_clone_pages_of_series_models(analyst, train, market):
    c = Client()
    c.force_login(analyst)
    for model_type in ("vol_garch", "regime_hmm"):
        run = train(owner=analyst, model_type=model_type, dataset=market.pk)
        page = c.get(f"/runs/{run.run_id}/")
        assert page.status_code == 200
        html = page.content.decode()
        assert 'id="training-metrics"' in html and 'id="training-charts"' in html
        assert "<script>" not in html  # data through json_script only; code from static files (CSP)
        clone = c.get(f"/runs/{run.run_id}/clone/")
        assert clone.status_code == 200 and 'value="return"' in clone.content.decode()
