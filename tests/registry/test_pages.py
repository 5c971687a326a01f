"""Registry pages: list, model page (chart data, champion, lineage, safe card), version page, scoring a CSV,
registering from the run page, retrain, and who may do what."""
from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import AuditEvent
from runs.models import Run
from simulations.registry.models import ModelVersion
from simulations.registry.services import alias_set, model_card_update, model_register

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def registered(logistic_run, users):
    version = model_register(run=logistic_run, name="pd", actor=users["admin"])
    alias_set(model=version.model, name="champion", version=version, actor=users["admin"])
    return version


def test_register_from_the_run_page(logistic_run, users):
    ml = _client(users["ml_admin"])
    page = ml.get(f"/runs/{logistic_run.run_id}/").content.decode()
    assert 'id="register-form"' in page
    r = ml.post(f"/models/register/{logistic_run.run_id}/", {"name": "pd-credit", "notes": "first"})
    assert r.status_code == 302 and r["Location"] == "/models/pd-credit/versions/1/"
    assert 'Registered as' in ml.get(f"/runs/{logistic_run.run_id}/").content.decode()
    analyst = _client(users["analyst"])
    assert 'id="register-form"' not in analyst.get(f"/runs/{logistic_run.run_id}/").content.decode()
    assert analyst.post(f"/models/register/{logistic_run.run_id}/", {"name": "x"}).status_code == 403


def test_model_page_shows_versions_champion_lineage_chart_data_and_a_safe_card(registered, users):
    model_card_update(model=registered.model, actor=users["admin"],
                      model_card="# PD model\n\n<script>alert(1)</script> **bold** [x](javascript:alert(1))")
    r = _client(users["viewer"]).get("/models/pd/")
    assert r.status_code == 200
    page = r.content.decode()
    assert "<h1>PD model</h1>" in page and "<strong>bold</strong>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert 'href="javascript:' not in page
    assert 'class="champion"' in page and registered.source_run_id in page and "Last updated" in page
    assert 'id="registry-history"' in page and "js/registry.js" in page
    history = json.loads(page.split('id="registry-history" type="application/json">')[1].split("</script>")[0])
    assert history["labels"] == ["v1"] and any(s["label"] == "test_roc_auc" for s in history["series"])
    # Viewers read: no promote, retrain or archive form.
    assert 'id="alias-form"' not in page and 'id="retrain-form"' not in page
    admin_page = _client(users["ml_admin"]).get("/models/pd/").content.decode()
    assert 'id="alias-form"' in admin_page and 'id="retrain-form"' in admin_page
    assert _client(users["viewer"]).get("/models/pd/versions/1/").status_code == 200
    assert _client(users["viewer"]).get("/models/").status_code == 200


def test_promote_from_the_page_is_audited_and_refused_to_analysts(train, credit, registered, users):
    v2 = model_register(run=train(model_type="pd_gbm", dataset=credit.pk, seed=1, hyperparameters={"max_iter": 20}),
                        name="pd", actor=users["admin"])
    r = _client(users["analyst"]).post("/models/pd/", {"action": "alias", "alias": "champion", "version": 2})
    assert r.status_code == 403
    r = _client(users["ml_admin"]).post("/models/pd/", {"action": "alias", "alias": "champion", "version": 2})
    assert r.status_code == 302
    assert v2.aliases.filter(name="champion").exists()
    event = AuditEvent.objects.filter(action="registry.alias_set").order_by("-id").first()
    assert (event.detail["from"], event.detail["to"]) == (1, 2)
    page = _client(users["viewer"]).get("/models/pd/").content.decode()
    assert "/runs/compare/?runs=" in page


def test_score_a_csv_returns_it_with_the_prediction_column_formula_safe(registered, users, credit_rows):
    rows = [dict(r) for r in credit_rows[:5]]
    rows[0]["note"] = "=HYPERLINK(\"http://x\")"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    upload = SimpleUploadedFile("book.csv", out.getvalue().encode(), content_type="text/csv")
    r = _client(users["viewer"]).post("/models/pd/score/", {"alias": "champion", "file": upload})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    back = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert len(back) == 5 and {"prediction", "probability_0", "probability_1"} <= set(back[0])
    assert back[0]["note"].startswith("'=")


def test_score_a_csv_with_missing_columns_names_them(registered, users, credit_rows):
    upload = SimpleUploadedFile("book.csv", b"rating,foo\n1,2\n", content_type="text/csv")
    r = _client(users["viewer"]).post("/models/pd/score/", {"alias": "champion", "file": upload})
    assert r.status_code == 400 and "missing column(s)" in r.content.decode() and "ltv" in r.content.decode()


def test_retrain_launches_a_training_run_with_the_champions_parameters(registered, users, credit):
    from simulations.training.datasets import dataset_generate_credit

    other = dataset_generate_credit(rows=2_000, seed=99)
    r = _client(users["analyst"]).post("/models/pd/", {"action": "retrain", "dataset": other.pk})
    assert r.status_code == 302
    run = Run.objects.exclude(pk=registered.run_id).filter(kind="training").order_by("-created_at").first()
    assert run.params["dataset"] == other.pk and run.params["dataset_sha256"] == other.sha256
    assert run.params["model_type"] == registered.params["model_type"]
    assert run.params["hyperparameters"] == registered.params["hyperparameters"]
    assert _client(users["viewer"]).post("/models/pd/", {"action": "retrain", "dataset": other.pk}).status_code == 403


def test_finops_roles_see_nothing_of_the_registry(registered, users):
    for role in ("finops_admin", "finops_user"):
        client = _client(users[role])
        for url in ("/models/", "/models/pd/", "/models/pd/versions/1/", "/models/pd/score/"):
            assert client.get(url).status_code == 403, (role, url)
    assert ModelVersion.objects.count() == 1
