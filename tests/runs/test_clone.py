"""Cloning a run: same kind, changed parameters, parent link, trigger CLONE, executed."""
import pytest
from rest_framework.test import APIClient

from runs.models import Run, RunStatus, RunTrigger
from runs.services import run_clone, run_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(analyst, demo_params, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(kind="demo", params=demo_params, owner=analyst, tags=["base"])
    run.refresh_from_db()
    return run


def test_a_clone_changes_what_is_asked_and_runs_to_completion(source, analyst, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        clone = run_clone(run=source, actor=analyst, params={"seed": 99, "steps": 4})
    clone.refresh_from_db()
    assert clone.parent == source and clone.trigger == RunTrigger.CLONE and clone.owner == analyst
    assert clone.params == {**source.params, "seed": 99, "steps": 4}
    assert clone.status == RunStatus.SUCCEEDED and clone.metrics["steps"] == 4
    assert clone.checksum and clone.checksum != source.checksum
    assert list(clone.tags.values_list("name", flat=True)) == ["base"]
    assert clone.logs.filter(message__contains=f"Cloned from {source.run_id}; changed: seed, steps").exists()


def test_a_clone_with_the_same_parameters_reproduces_the_checksum(source, analyst, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        clone = run_clone(run=source, actor=analyst)
    clone.refresh_from_db()
    assert clone.checksum == source.checksum


def test_a_viewer_cannot_clone(source, viewer, client_for):
    response = APIClient()
    response.force_authenticate(viewer)
    assert response.post(f"/api/runs/{source.run_id}/clone/", {}, format="json").status_code == 403
    assert client_for(viewer).get(f"/runs/{source.run_id}/clone/").status_code == 403
    assert Run.objects.count() == 1


def test_the_clone_api_validates_parameters(source, analyst):
    client = APIClient()
    client.force_authenticate(analyst)
    response = client.post(f"/api/runs/{source.run_id}/clone/", {"params": {"steps": 0}}, format="json")
    assert response.status_code == 400 and "steps" in response.json()
    ok = client.post(f"/api/runs/{source.run_id}/clone/", {"params": {"seed": 5}}, format="json")
    assert ok.status_code == 201 and ok.json()["parent"] == source.run_id and ok.json()["trigger"] == "CLONE"


def test_the_clone_page_is_prefilled_and_launches(source, analyst, client_for, django_capture_on_commit_callbacks):
    client = client_for(analyst)
    page = client.get(f"/runs/{source.run_id}/clone/")
    assert page.status_code == 200 and page.context["params_form"].initial == source.params
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/runs/{source.run_id}/clone/", {"p-steps": 2, "p-step_seconds": 0, "p-fail_at_step": 0, "p-seed": 1}
        )
    clone = Run.objects.exclude(pk=source.pk).get()
    assert response["Location"] == f"/runs/{clone.run_id}/"
    assert clone.status == RunStatus.SUCCEEDED and clone.parent == source


def test_the_clone_page_shows_errors(source, analyst, client_for):
    response = client_for(analyst).post(f"/runs/{source.run_id}/clone/", {"p-steps": -1})
    assert response.status_code == 400 and b"errorlist" in response.content
    assert Run.objects.count() == 1


def test_the_parent_page_lists_its_children(source, analyst, viewer, client_for):
    clone = run_clone(run=source, actor=analyst)
    body = client_for(viewer).get(f"/runs/{source.run_id}/").content.decode()
    assert clone.run_id in body
