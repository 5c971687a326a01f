"""The Django admin for runs goes through the roles, object by object."""
import pytest

from runs.models import Run, RunStatus
from runs.services import run_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(analyst, make_user, demo_params):
    other = make_user("analyst", username="other")
    mine = run_create(kind="demo", params=demo_params, owner=analyst, tags=["alpha"])
    theirs = run_create(kind="demo", params=demo_params, owner=other)
    return mine, theirs


def test_staff_without_run_roles_see_no_runs(client_for, make_user, runs):
    staff = make_user(username="staffonly", is_staff=True)
    assert client_for(staff).get("/admin/runs/run/").status_code == 403


def test_the_changelist_filters_and_searches(client_for, admin_user, runs):
    client = client_for(admin_user)
    response = client.get("/admin/runs/run/?status__exact=PENDING&kind__exact=demo&trigger__exact=MANUAL")
    assert response.status_code == 200 and response.context["cl"].result_count == 2
    assert client.get("/admin/runs/run/?q=alpha").context["cl"].result_count == 1
    assert client.get(f"/admin/runs/run/?q={runs[1].run_id}").context["cl"].result_count == 1


def test_logs_are_shown_inline_and_read_only(client_for, admin_user, runs):
    response = client_for(admin_user).get(f"/admin/runs/run/{runs[0].pk}/change/")
    assert response.status_code == 200
    assert b"Created by" in response.content
    assert b'name="logs-0-message"' not in response.content


def test_a_staff_viewer_reads_but_cannot_change_or_delete(client_for, make_user, runs):
    staff_viewer = make_user("viewer", username="sv", is_staff=True)
    client = client_for(staff_viewer)
    assert client.get("/admin/runs/run/").status_code == 200
    assert client.post(f"/admin/runs/run/{runs[0].pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post(f"/admin/runs/run/{runs[0].pk}/change/", {"notes": "changed"})
    assert response.status_code == 403
    assert Run.objects.filter(notes="changed").count() == 0 and Run.objects.count() == 2


def test_the_cancel_action_changes_nothing_if_one_run_is_not_allowed(client_for, make_user, analyst, runs):
    analyst.is_staff = True
    analyst.save()
    client = client_for(analyst)
    response = client.post(
        "/admin/runs/run/",
        {"action": "cancel_runs", "_selected_action": [str(r.pk) for r in runs]},
        follow=True,
    )
    assert b"Not allowed to cancel" in response.content
    assert set(Run.objects.values_list("status", flat=True)) == {RunStatus.PENDING}


def test_the_cancel_action_cancels_what_is_allowed(client_for, admin_user, runs):
    client_for(admin_user).post(
        "/admin/runs/run/", {"action": "cancel_runs", "_selected_action": [str(r.pk) for r in runs]}
    )
    assert set(Run.objects.values_list("status", flat=True)) == {RunStatus.CANCELLED}


def test_runs_cannot_be_added_in_the_admin(client_for, admin_user):
    assert client_for(admin_user).get("/admin/runs/run/add/").status_code == 403


def test_the_favourite_action_is_all_or_nothing(client_for, make_user, runs):
    staff_viewer = make_user("viewer", username="sv2", is_staff=True)
    client_for(staff_viewer).post(
        "/admin/runs/run/", {"action": "mark_favourite", "_selected_action": [str(r.pk) for r in runs]}
    )
    assert not Run.objects.filter(is_favourite=True).exists()


def test_the_favourite_action_marks_runs(client_for, admin_user, runs):
    client_for(admin_user).post(
        "/admin/runs/run/", {"action": "mark_favourite", "_selected_action": [str(r.pk) for r in runs]}
    )
    assert Run.objects.filter(is_favourite=True).count() == 2


def test_editing_a_run_in_the_admin_goes_through_the_service(client_for, admin_user, runs):
    from accounts.models import AuditEvent
    from runs.models import Tag

    run = runs[0]
    tag = Tag.objects.get(name="alpha")
    response = client_for(admin_user).post(
        f"/admin/runs/run/{run.pk}/change/",
        {"is_favourite": "on", "notes": "from admin", "tags": [tag.pk],
         "logs-TOTAL_FORMS": "0", "logs-INITIAL_FORMS": "0", "logs-MIN_NUM_FORMS": "0", "logs-MAX_NUM_FORMS": "0"},
    )
    assert response.status_code == 302, response.content[:2000]
    run.refresh_from_db()
    assert run.is_favourite and run.notes == "from admin"
    assert AuditEvent.objects.filter(action="run.annotate", target=run.run_id, actor=admin_user).exists()


def _old(run, days=60):
    from datetime import timedelta

    from django.utils import timezone

    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, created_at=timezone.now() - timedelta(days=days))


def test_the_cleanup_action_shows_the_plan_then_deletes_exactly_it(client_for, admin_user, runs):
    old, fav = runs
    _old(old), _old(fav)
    Run.objects.filter(pk=fav.pk).update(is_favourite=True)
    client = client_for(admin_user)
    pks = [str(old.pk), str(fav.pk)]
    preview = client.post("/admin/runs/run/", {"action": "cleanup_selected_runs", "_selected_action": pks, "days": "30"})
    assert preview.status_code == 200
    assert [c.run_id for c in preview.context["plan"].to_delete] == [old.run_id]
    assert "favourite" in preview.context["plan"].kept[0].reason
    assert Run.objects.count() == 2  # the preview deletes nothing
    client.post("/admin/runs/run/", {"action": "cleanup_selected_runs", "_selected_action": pks, "days": "30",
                                     "apply": "1", "planned": [old.run_id]})
    assert list(Run.objects.values_list("run_id", flat=True)) == [fav.run_id]


def test_the_cleanup_action_is_refused_without_the_cleanup_role(client_for, make_user, runs):
    staff_analyst = make_user("analyst", username="sa", is_staff=True)
    for run in runs:
        _old(run)
    client_for(staff_analyst).post(
        "/admin/runs/run/", {"action": "cleanup_selected_runs", "_selected_action": [str(r.pk) for r in runs],
                             "apply": "1", "planned": [r.run_id for r in runs], "days": "30"}
    )
    assert Run.objects.count() == 2
