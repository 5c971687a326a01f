"""Favourites, tags and notes: services, API, pages, bulk actions (all or nothing)."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from runs.models import Run, Tag
from runs.services import run_annotate, run_create, runs_set_favourite, runs_tag

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def run(analyst, demo_params):
    return run_create(kind="demo", params=demo_params, owner=analyst, tags=["old"])


def test_annotating_sets_favourite_tags_and_notes_and_is_audited(run, analyst):
    run_annotate(run=run, actor=analyst, is_favourite=True, tags=["a", " b ", "a"], notes="why")
    run.refresh_from_db()
    assert run.is_favourite and run.notes == "why"
    assert sorted(run.tags.values_list("name", flat=True)) == ["a", "b"]
    assert AuditEvent.objects.filter(action="run.annotate", target=run.run_id).exists()


def test_leaving_a_field_out_keeps_it(run, analyst):
    run_annotate(run=run, actor=analyst, notes="kept")
    run_annotate(run=run, actor=analyst, is_favourite=True)
    run.refresh_from_db()
    assert run.notes == "kept" and list(run.tags.values_list("name", flat=True)) == ["old"]


@pytest.mark.parametrize("bad", ["x" * 65, "a,b"])
def test_bad_tags_are_refused(run, analyst, bad):
    with pytest.raises(ValidationError):
        run_annotate(run=run, actor=analyst, tags=[bad])
    assert list(run.tags.values_list("name", flat=True)) == ["old"]


def test_a_viewer_cannot_annotate(run, viewer):
    with pytest.raises(PermissionDenied):
        run_annotate(run=run, actor=viewer, is_favourite=True)
    response = api(viewer).patch(f"/api/runs/{run.run_id}/", {"is_favourite": True}, format="json")
    assert response.status_code == 403
    assert not Run.objects.get(pk=run.pk).is_favourite


def test_the_api_patch_annotates(run, analyst):
    response = api(analyst).patch(f"/api/runs/{run.run_id}/", {"tags": ["x", "y"], "notes": "n"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["x", "y"] and response.json()["notes"] == "n"
    bad = api(analyst).patch(f"/api/runs/{run.run_id}/", {"tags": ["a,b"]}, format="json")
    assert bad.status_code == 400 and "tags" in bad.json()


def test_the_page_form_annotates_without_javascript(client_for, run, analyst):
    response = client_for(analyst).post(f"/runs/{run.run_id}/annotate/", {"is_favourite": "1", "tags": "p, q", "notes": "hi"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.is_favourite and run.notes == "hi" and sorted(run.tags.values_list("name", flat=True)) == ["p", "q"]


def test_the_page_form_refuses_a_viewer(client_for, run, viewer):
    assert client_for(viewer).post(f"/runs/{run.run_id}/annotate/", {"is_favourite": "1"}).status_code == 403
    assert not Run.objects.get(pk=run.pk).is_favourite


def test_the_detail_page_offers_inline_editing_only_to_annotators(client_for, run, analyst, viewer):
    assert 'id="annotate-form"' in client_for(analyst).get(f"/runs/{run.run_id}/").content.decode()
    assert 'id="annotate-form"' not in client_for(viewer).get(f"/runs/{run.run_id}/").content.decode()


def test_tags_autocomplete_by_prefix_most_used_first(run, analyst, viewer, demo_params):
    run_create(kind="demo", params=demo_params, owner=analyst, tags=["older", "other"])
    run_create(kind="demo", params=demo_params, owner=analyst, tags=["older"])
    assert api(viewer).get("/api/tags/?q=ol").json() == ["older", "old"]


# --- bulk --------------------------------------------------------------------------
@pytest.fixture
def mixed_runs(analyst, make_user, demo_params):
    """Two runs the analyst may annotate; one from a user of another kind-less role."""
    return [run_create(kind="demo", params=demo_params, owner=analyst) for _ in range(2)]


def test_bulk_favourite_and_tag_through_the_api(mixed_runs, analyst):
    ids = [r.run_id for r in mixed_runs]
    response = api(analyst).post("/api/runs/bulk/", {"action": "favourite", "runs": ids}, format="json")
    assert response.status_code == 200 and response.json()["runs"] == 2
    api(analyst).post("/api/runs/bulk/", {"action": "tag", "runs": ids, "tag": "batch"}, format="json")
    assert Run.objects.filter(is_favourite=True, tags__name="batch").count() == 2
    api(analyst).post("/api/runs/bulk/", {"action": "untag", "runs": ids[:1], "tag": "batch"}, format="json")
    assert Run.objects.filter(tags__name="batch").count() == 1


def test_a_bulk_action_with_one_unknown_run_changes_none(mixed_runs, analyst):
    ids = [r.run_id for r in mixed_runs] + ["run_19990101_001"]
    response = api(analyst).post("/api/runs/bulk/", {"action": "favourite", "runs": ids}, format="json")
    assert response.status_code == 404 and "run_19990101_001" in response.json()["detail"]
    assert not Run.objects.filter(is_favourite=True).exists()


def test_a_bulk_action_on_runs_the_user_may_not_touch_changes_none_of_them(mixed_runs, viewer):
    ids = [r.run_id for r in mixed_runs]
    response = api(viewer).post("/api/runs/bulk/", {"action": "favourite", "runs": ids}, format="json")
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        runs_tag(runs=mixed_runs, actor=viewer, tag="x")
    with pytest.raises(PermissionDenied):
        runs_set_favourite(runs=mixed_runs, actor=viewer, value=True)
    assert not Run.objects.filter(is_favourite=True).exists() and not Tag.objects.filter(name="x").exists()


def test_bulk_tag_needs_a_tag(mixed_runs, analyst):
    response = api(analyst).post("/api/runs/bulk/", {"action": "tag", "runs": [mixed_runs[0].run_id]}, format="json")
    assert response.status_code == 400 and "tag" in response.json()


def test_the_list_page_bulk_form(client_for, mixed_runs, analyst, viewer):
    ids = [r.run_id for r in mixed_runs]
    response = client_for(analyst).post("/runs/bulk/", {"action": "tag", "tag": "paged", "runs": ids})
    assert response.status_code == 302
    assert Run.objects.filter(tags__name="paged").count() == 2
    refused = client_for(viewer).post("/runs/bulk/", {"action": "favourite", "runs": ids}, follow=True)
    assert b"Not allowed to change" in refused.content
    assert not Run.objects.filter(is_favourite=True).exists()


def test_the_list_page_bulk_export_gives_the_selected_runs_as_csv(client_for, mixed_runs, viewer):
    response = client_for(viewer).post("/runs/bulk/", {"action": "export", "runs": [mixed_runs[0].run_id]})
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"] == "text/csv"
    assert mixed_runs[0].run_id in body and mixed_runs[1].run_id not in body


def test_the_bulk_form_needs_a_selection(client_for, analyst):
    response = client_for(analyst).post("/runs/bulk/", {"action": "favourite"}, follow=True)
    assert b"Select at least one run" in response.content


def test_bulk_delete_asks_for_confirmation_then_deletes(client_for, mixed_runs, analyst):
    Run.objects.update(status="SUCCEEDED")  # active runs are cancelled first, never deleted
    ids = [r.run_id for r in mixed_runs]
    client = client_for(analyst)
    redirect = client.post("/runs/bulk/", {"action": "delete", "runs": ids})
    assert redirect.status_code == 302 and redirect["Location"].startswith("/runs/bulk/delete/?runs=")
    page = client.get(redirect["Location"])
    assert page.status_code == 200 and b"Delete 2 runs?" in page.content
    assert Run.objects.count() == 2  # nothing gone before the confirmation
    done = client.post("/runs/bulk/delete/", {"runs": ids})
    assert done.status_code == 302 and not Run.objects.exists()


def test_bulk_delete_of_runs_the_user_may_not_delete_deletes_none(client_for, mixed_runs, make_user, demo_params):
    other = make_user("analyst", username="someoneelse")
    theirs = run_create(kind="demo", params=demo_params, owner=other)
    Run.objects.update(status="SUCCEEDED")
    ids = [r.run_id for r in mixed_runs] + [theirs.run_id]
    owner = mixed_runs[0].owner
    page = client_for(owner).get("/runs/bulk/delete/", {"runs": ids})
    assert theirs.run_id.encode() in page.content and b"You may not delete" in page.content
    response = client_for(owner).post("/runs/bulk/delete/", {"runs": ids})
    assert response.status_code == 403 and Run.objects.count() == 3
