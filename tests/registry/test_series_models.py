"""Models stored as JSON parameters (HMM, GARCH) are registered and scored through the registry too."""
from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from simulations.registry.services import alias_set, model_register
from simulations.training.datasets import dataset_generate_market, dataset_read_frame

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(db):
    return dataset_generate_market(days=1_500, seed=5)


def _rows(dataset, n=30):
    return json.loads(dataset_read_frame(dataset=dataset).tail(n).to_json(orient="records"))


def test_hmm_and_garch_versions_predict_through_the_api(train, market, users):
    actor = users["ml_admin"]
    client = APIClient()
    client.force_authenticate(users["viewer"])
    hmm = model_register(run=train(model_type="regime_hmm", dataset=market.pk, seed=2), name="regime", actor=actor)
    alias_set(model=hmm.model, name="champion", version=hmm, actor=actor)
    body = client.post("/api/models/regime/predict", {"rows": _rows(market)}, format="json").json()
    assert len(body["predictions"]) == 30 and set(body["predictions"]) <= set(body["classes"])
    assert all(abs(sum(p) - 1) < 1e-4 for p in body["probabilities"])

    garch = model_register(run=train(model_type="vol_garch", dataset=market.pk, seed=2), name="vol", actor=actor)
    assert garch.artifact_name == "model.json"
    r = client.post("/api/models/vol/predict?version=1", {"rows": _rows(market)}, format="json")
    assert r.status_code == 200 and r.json()["probabilities"] is None
    assert all(v > 0 for v in r.json()["predictions"])
    target = garch.params["target"]
    rows = [{k: v for k, v in row.items() if k != target} for row in _rows(market)]
    r = client.post("/api/models/vol/predict?version=1", {"rows": rows}, format="json")
    assert r.status_code == 400 and r.json()["missing"] == [target]
