"""The registry API: register, promote (audited), predict from the alias's version, refusals, roles."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from simulations.registry.models import RegisteredModel
from simulations.registry.services import alias_set, model_register

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _nan_free(rows):
    return json.loads(json.dumps(rows, default=str))


def test_register_promote_and_predict_through_the_api(logistic_run, users, credit_rows):
    ml = _client(users["ml_admin"])
    r = ml.post("/api/models/", {"name": "pd-credit", "run_id": logistic_run.run_id, "notes": "v1"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["number"] == 1
    r = ml.put("/api/models/pd-credit/aliases/champion/", {"version": 1}, format="json")
    assert r.status_code == 200 and r.json() == {"alias": "champion", "version": 1, "previous": None}
    assert AuditEvent.objects.filter(action="registry.alias_set", target="pd-credit@champion").exists()
    viewer = _client(users["viewer"])
    r = viewer.post("/api/models/pd-credit/predict", {"rows": _nan_free(credit_rows)}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["version"] == 1 and len(body["predictions"]) == len(credit_rows)
    assert set(body["predictions"]) <= {0, 1} and body["classes"] == [0, 1]
    assert all(abs(sum(p) - 1) < 1e-5 for p in body["probabilities"])
    r = viewer.post("/api/models/pd-credit/predict?version=1", {"rows": _nan_free(credit_rows[:2])}, format="json")
    assert r.status_code == 200 and r.json()["version"] == 1
    detail = viewer.get("/api/models/pd-credit/").json()
    assert detail["aliases"] == {"champion": 1} and detail["version_count"] == 1


def test_predict_answers_from_the_promoted_version(train, credit, logistic_run, users, credit_rows):
    actor = users["admin"]
    v1 = model_register(run=logistic_run, name="pd", actor=actor)
    v2 = model_register(run=train(model_type="pd_gbm", dataset=credit.pk, seed=1, hyperparameters={"max_iter": 20}),
                        name="pd", actor=actor)
    alias_set(model=v1.model, name="champion", version=v1, actor=actor)
    client = _client(users["analyst"])
    rows = _nan_free(credit_rows)
    before = client.post("/api/models/pd/predict", {"rows": rows}, format="json").json()
    r = _client(actor).put("/api/models/pd/aliases/champion/", {"version": 2}, format="json")
    assert r.json()["previous"] == 1
    after = client.post("/api/models/pd/predict", {"rows": rows}, format="json").json()
    assert (before["version"], after["version"]) == (1, 2)
    assert after["artifact_sha256"] == v2.artifact_sha256 != before["artifact_sha256"]
    event = AuditEvent.objects.filter(action="registry.alias_set").order_by("-id").first()
    assert (event.detail["from"], event.detail["to"], event.actor_name) == (1, 2, actor.username)


def test_predict_refusals(logistic_run, users, credit_rows):
    version = model_register(run=logistic_run, name="pd", actor=users["admin"])
    alias_set(model=version.model, name="champion", version=version, actor=users["admin"])
    client = _client(users["viewer"])
    rows = [{k: v for k, v in row.items() if k not in ("ltv", "sector")} for row in _nan_free(credit_rows)]
    r = client.post("/api/models/pd/predict", {"rows": rows}, format="json")
    assert r.status_code == 400 and r.json()["missing"] == ["ltv", "sector"]
    assert "ltv" in r.json()["detail"]
    assert client.post("/api/models/pd/predict", {"rows": []}, format="json").status_code == 400
    r = client.post("/api/models/pd/predict", {"rows": _nan_free(credit_rows), "alias": "nope"}, format="json")
    assert r.status_code == 404
    assert client.post("/api/models/nope/predict", {"rows": [{}]}, format="json").status_code == 404
    bad = _nan_free(credit_rows)
    bad[0]["ltv"] = None
    r = client.post("/api/models/pd/predict", {"rows": bad}, format="json")
    assert r.status_code == 400 and "ltv" in r.json()["detail"]


def test_predict_refuses_an_altered_model_file_with_409(logistic_run, users, credit_rows):
    version = model_register(run=logistic_run, name="pd", actor=users["admin"])
    alias_set(model=version.model, name="champion", version=version, actor=users["admin"])
    client = _client(users["viewer"])
    assert client.post("/api/models/pd/predict", {"rows": _nan_free(credit_rows)}, format="json").status_code == 200
    artifact = logistic_run.artifacts.get(name="model.skops")
    path = Path(settings.STORAGES["artifacts"]["OPTIONS"]["location"]) / artifact.path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    r = client.post("/api/models/pd/predict", {"rows": _nan_free(credit_rows)}, format="json")
    assert r.status_code == 409 and r.json()["refused"] == "model_integrity" and "altered" in r.json()["detail"]


def test_register_refusals_through_the_api(logistic_run, users):
    ml = _client(users["ml_admin"])
    r = ml.post("/api/models/", {"name": "pd", "run_id": "run_nope"}, format="json")
    assert r.status_code == 400
    r = ml.post("/api/models/", {"name": "Not a slug!", "run_id": logistic_run.run_id}, format="json")
    assert r.status_code == 400
    r = _client(users["analyst"]).post("/api/models/", {"name": "pd", "run_id": logistic_run.run_id}, format="json")
    assert r.status_code == 403
    assert not RegisteredModel.objects.exists()


@pytest.mark.parametrize(("role", "read", "write", "predict"), [
    ("admin", 200, True, 200), ("ml_admin", 200, True, 200), ("analyst", 200, False, 200),
    ("viewer", 200, False, 200), ("governance_admin", 200, False, 200),
    ("finops_admin", 403, False, 403), ("finops_user", 403, False, 403),
])
def test_role_matrix_per_endpoint(logistic_run, users, credit_rows, role, read, write, predict):
    version = model_register(run=logistic_run, name="pd", actor=users["admin"])
    alias_set(model=version.model, name="champion", version=version, actor=users["admin"])
    client = _client(users[role])
    for url in ("/api/models/", "/api/models/pd/", "/api/models/pd/versions/", "/api/models/pd/versions/1/",
                "/api/models/pd/aliases/champion/"):
        assert client.get(url).status_code == read, url
    r = client.post("/api/models/pd/predict", {"rows": _nan_free(credit_rows[:3])}, format="json")
    assert r.status_code == predict
    writes = [
        ("put", "/api/models/pd/aliases/challenger/", {"version": 1}, 200),
        ("patch", "/api/models/pd/", {"model_card": "# PD"}, 200),
        ("delete", "/api/models/pd/aliases/challenger/", None, 204),
        ("delete", "/api/models/pd/versions/1/", None, 200),
        ("delete", "/api/models/pd/", None, 200),
    ]
    for method, url, body, ok in writes:
        r = getattr(client, method)(url, body, format="json")
        assert r.status_code == (ok if write else 403), (method, url, r.content)
    assert APIClient().get("/api/models/").status_code in (401, 403)


def test_openapi_documents_the_registry(users):
    client = _client(users["viewer"])
    schema = client.get("/api/schema/?format=json").json()
    predict = schema["paths"]["/api/models/{model_name}/predict"]["post"]["responses"]
    assert {"200", "400", "403", "404", "409"} <= set(predict)
    assert "put" in schema["paths"]["/api/models/{model_name}/aliases/{alias}/"]


def test_predict_refuses_a_batch_over_the_row_limit(logistic_run, users, credit_rows, settings):
    settings.REGISTRY_PREDICT_MAX_ROWS = 5
    version = model_register(run=logistic_run, name="pd", actor=users["admin"])
    r = _client(users["viewer"]).post(f"/api/models/pd/predict?version={version.number}",
                                      {"rows": _nan_free(credit_rows[:6])}, format="json")
    assert r.status_code == 400 and "at most 5" in r.json()["detail"]
