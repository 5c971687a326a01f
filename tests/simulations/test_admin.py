"""The admin of the result cache: read-only rows, launches and eviction checked against the roles."""
from __future__ import annotations

import pytest

from runs.models import Run, RunStatus
from simulations.models import CachedResult, ParameterSet

pytestmark = pytest.mark.usefixtures("sim_env")

PARAMETER_SETS = "/admin/simulations/parameterset/"
CACHED = "/admin/simulations/cachedresult/"


@pytest.fixture
def cached(launch, analyst) -> ParameterSet:
    launch(analyst)
    launch(analyst, seed=9, n_positions=1_000)
    return ParameterSet.objects.get(params__seed=7)


def test_the_parameter_sets_list_and_search_by_hash(client_for, admin_user, cached):
    client = client_for(admin_user)
    response = client.get(PARAMETER_SETS)
    assert response.status_code == 200 and response.context["cl"].result_count == 2
    found = client.get(f"{PARAMETER_SETS}?q={cached.params_hash[:20]}")
    assert found.context["cl"].result_count == 1
    detail = client.get(f"{PARAMETER_SETS}{cached.pk}/change/")
    assert detail.status_code == 200 and b"positions.parquet" in detail.content


def test_cached_results_filter_by_kind_format_and_storage(client_for, admin_user, cached):
    client = client_for(admin_user)
    assert client.get(f"{CACHED}?kind__exact=positions").context["cl"].result_count == 2
    assert client.get(f"{CACHED}?format__exact=json").context["cl"].result_count == 12
    assert client.get(f"{CACHED}?storage__exact=file").context["cl"].result_count == 16
    assert client.get(f"{CACHED}?q={cached.params_hash[:20]}").context["cl"].result_count == 8


def test_nobody_edits_cached_rows_in_the_admin(client_for, admin_user, cached):
    entry = CachedResult.objects.first()
    client = client_for(admin_user)
    assert client.post(f"{CACHED}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{PARAMETER_SETS}add/").status_code == 403
    assert CachedResult.objects.count() == 16


def test_an_admin_launches_simulations_from_parameter_sets(
    client_for, admin_user, cached, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin_user).post(
            PARAMETER_SETS,
            {"action": "launch_simulations", "_selected_action": [str(p.pk) for p in ParameterSet.objects.all()]},
            follow=True,
        )
    assert b"Launched run_" in response.content
    launched = Run.objects.filter(owner=admin_user)
    assert launched.count() == 2
    assert all(r.status == RunStatus.SUCCEEDED and r.metrics["cache"]["hit"] for r in launched)


def test_the_recompute_action_bypasses_the_cache(client_for, admin_user, cached, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(admin_user).post(
            PARAMETER_SETS, {"action": "launch_simulations_recompute", "_selected_action": [str(cached.pk)]}
        )
    run = Run.objects.get(owner=admin_user)
    assert run.metrics["cache"] == {"hit": False, "params_hash": cached.params_hash, "use_cache": False}


def test_a_staff_viewer_launches_nothing(client_for, make_user, cached):
    staff_viewer = make_user("viewer", username="sv", is_staff=True)
    before = Run.objects.count()
    response = client_for(staff_viewer).post(
        PARAMETER_SETS, {"action": "launch_simulations", "_selected_action": [str(cached.pk)]}, follow=True
    )
    assert b"Nothing was launched" in response.content
    assert Run.objects.count() == before


def test_staff_without_run_roles_see_nothing(client_for, make_user, cached):
    staff = make_user(username="staffonly", is_staff=True)
    assert client_for(staff).get(PARAMETER_SETS).status_code == 403


def test_eviction_is_for_console_managers(client_for, make_user, ml_admin, cached, django_capture_on_commit_callbacks):
    analyst = make_user("analyst", username="staff_analyst", is_staff=True)
    selected = [str(e.pk) for e in CachedResult.objects.filter(parameter_set=cached)]
    refused = client_for(analyst).post(CACHED, {"action": "evict", "_selected_action": selected}, follow=True)
    assert b"Nothing was evicted" in refused.content and CachedResult.objects.count() == 16

    ml_admin.is_staff = True
    ml_admin.save()
    with django_capture_on_commit_callbacks(execute=True):
        done = client_for(ml_admin).post(CACHED, {"action": "evict", "_selected_action": selected}, follow=True)
    assert b"Evicted 8 entries" in done.content
    assert CachedResult.objects.count() == 8 and not ParameterSet.objects.filter(pk=cached.pk).exists()


def test_the_ml_admin_holds_the_simulation_capabilities(ml_admin, analyst):
    assert ml_admin.has_perm("simulations.train_model") and ml_admin.has_perm("simulations.manage_registry")
    # Analysts train and read models; promoting and archiving stay with ml_admin and admin.
    assert analyst.has_perm("simulations.train_model") and not analyst.has_perm("simulations.manage_registry")
