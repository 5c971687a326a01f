"""Cleanup of old runs: the dry run lists exactly what the execution deletes."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from runs.models import Run, RunArtifact, RunComparison, RunLog, RunStatus
from runs.selectors.cleanup import cleanup_plan
from runs.services.compare import comparison_create
from runs.services.manage import CleanupPlanStale, runs_cleanup
from runs.wording import size_text
from tests.runs.test_manage_support import artifact_store, launch, secret_kind  # noqa: F401

pytestmark = pytest.mark.django_db


def _reasons(plan):
    return {k.run_id: k.reason for k in plan.kept}


@pytest.fixture
def estate(launch, analyst, ml_admin):
    """Old and recent runs covering every reason to keep an old run."""
    runs = {
        "plain": launch(analyst, seed=1, age_days=40),
        "plain2": launch(analyst, seed=2, age_days=100),
        "fav": launch(analyst, seed=3, age_days=40, favourite=True),
        "compared_a": launch(analyst, seed=4, age_days=40),
        "compared_b": launch(analyst, seed=5, age_days=40),
        "recent": launch(analyst, seed=6, age_days=2),
    }
    # grandparent -> parent -> recent child: both ancestors stay (transitive).
    runs["grandparent"] = launch(analyst, seed=7, age_days=60)
    runs["parent"] = launch(analyst, seed=8, age_days=50, parent=runs["grandparent"])
    runs["young_child"] = launch(analyst, seed=9, age_days=1, parent=runs["parent"])
    # old parent of an old favourite stays; old parent of an old deletable child goes with it.
    runs["fav_parent"] = launch(analyst, seed=10, age_days=45)
    runs["fav_child"] = launch(analyst, seed=11, age_days=41, parent=runs["fav_parent"], favourite=True)
    runs["doomed_parent"] = launch(analyst, seed=12, age_days=45)
    runs["doomed_child"] = launch(analyst, seed=13, age_days=41, parent=runs["doomed_parent"])
    comparison_create(name="Q3 review", run_ids=[runs["compared_a"].run_id, runs["compared_b"].run_id], actor=analyst)
    # An old run still RUNNING is never a candidate.
    runs["stuck"] = launch(analyst, seed=14, age_days=40)
    Run.objects.filter(pk=runs["stuck"].pk).update(status=RunStatus.RUNNING)
    return {name: Run.objects.get(pk=run.pk) for name, run in runs.items()}


def test_it_lists_candidates_with_sizes_and_kept_runs_with_reasons(estate, ml_admin):
    plan = cleanup_plan(days=30, user=ml_admin)
    ids = {name: run.run_id for name, run in estate.items()}
    assert set(plan.run_ids) == {ids["plain"], ids["plain2"], ids["doomed_parent"], ids["doomed_child"]}
    sizes = {c.run_id: c.size_bytes for c in plan.to_delete}
    assert sizes[ids["plain"]] == RunArtifact.objects.get(run=estate["plain"]).size_bytes > 0
    reasons = _reasons(plan)
    assert reasons == {
        ids["fav"]: "favourite",
        ids["fav_child"]: "favourite",
        ids["compared_a"]: 'in saved comparison "Q3 review"',
        ids["compared_b"]: 'in saved comparison "Q3 review"',
        ids["parent"]: f"parent of kept run {ids['young_child']}",
        ids["grandparent"]: f"parent of kept run {ids['parent']}",
        ids["fav_parent"]: f"parent of kept run {ids['fav_child']}",
    }
    # Too recent and active runs are not candidates at all.
    assert not {ids["recent"], ids["young_child"], ids["stuck"]} & (set(plan.run_ids) | set(reasons))


def test_the_executed_cleanup_deletes_exactly_the_dry_run_list(estate, ml_admin, artifact_store):
    plan = cleanup_plan(days=30, user=ml_admin)
    before = set(Run.objects.values_list("run_id", flat=True))
    deleted = runs_cleanup(days=30, run_ids=plan.run_ids, actor=ml_admin)
    after = set(Run.objects.values_list("run_id", flat=True))
    assert set(deleted) == set(plan.run_ids) == before - after
    assert {k.run_id for k in plan.kept} <= after
    assert not RunLog.objects.filter(run__run_id__in=deleted).exists()
    assert not RunArtifact.objects.filter(run__run_id__in=deleted).exists()


def test_a_longer_threshold_keeps_more(estate, ml_admin):
    plan = cleanup_plan(days=90, user=ml_admin)
    assert plan.run_ids == [estate["plain2"].run_id]
    assert plan.kept == []  # runs younger than the cutoff are not listed as kept


def test_a_stale_plan_is_refused_and_deletes_nothing(estate, ml_admin):
    plan = cleanup_plan(days=30, user=ml_admin)
    Run.objects.filter(pk=estate["plain"].pk).update(is_favourite=True)
    count = Run.objects.count()
    with pytest.raises(CleanupPlanStale) as caught:
        runs_cleanup(days=30, run_ids=plan.run_ids, actor=ml_admin)
    assert estate["plain"].run_id in caught.value.problems
    assert "favourite" in caught.value.problems[estate["plain"].run_id]
    assert Run.objects.count() == count


def test_a_run_that_gained_a_child_since_the_dry_run_makes_the_plan_stale(estate, ml_admin, launch, analyst):
    plan = cleanup_plan(days=30, user=ml_admin)
    child = launch(analyst, seed=99, parent=estate["plain2"])
    with pytest.raises(CleanupPlanStale) as caught:
        runs_cleanup(days=30, run_ids=plan.run_ids, actor=ml_admin)
    assert caught.value.problems == {estate["plain2"].run_id: f"kept: parent of kept run {child.run_id}"}
    assert Run.objects.filter(run_id__in=plan.run_ids).count() == len(plan.run_ids)


def test_deleting_a_subset_that_would_orphan_a_listed_parent_is_refused(estate, ml_admin):
    # Listing the parent without its child: the child stays, so the parent must stay too.
    with pytest.raises(CleanupPlanStale):
        runs_cleanup(days=30, run_ids=[estate["doomed_parent"].run_id], actor=ml_admin)
    assert Run.objects.filter(pk=estate["doomed_parent"].pk).exists()


def test_runs_that_aged_in_after_the_dry_run_are_left_for_the_next_one(estate, ml_admin):
    plan = cleanup_plan(days=30, user=ml_admin)
    Run.objects.filter(pk=estate["recent"].pk).update(created_at=estate["plain"].created_at)
    deleted = runs_cleanup(days=30, run_ids=plan.run_ids, actor=ml_admin)
    assert set(deleted) == set(plan.run_ids)
    assert Run.objects.filter(pk=estate["recent"].pk).exists()


@pytest.mark.parametrize("days", [6, 366, "abc", None])
def test_days_outside_7_to_365_are_refused(estate, ml_admin, days):
    with pytest.raises(ValidationError):
        cleanup_plan(days=days, user=ml_admin)
    with pytest.raises(ValidationError):
        runs_cleanup(days=days, run_ids=[estate["plain"].run_id], actor=ml_admin)
    assert Run.objects.filter(pk=estate["plain"].pk).exists()


@pytest.mark.parametrize("days", [7, 365])
def test_the_bounds_are_allowed(estate, ml_admin, days):
    assert cleanup_plan(days=days, user=ml_admin).days == days


def test_a_viewer_or_an_analyst_cannot_clean_up(estate, viewer, analyst):
    for user in (viewer, analyst):
        with pytest.raises(PermissionDenied):
            runs_cleanup(days=30, run_ids=[estate["plain"].run_id], actor=user)
    assert Run.objects.filter(pk=estate["plain"].pk).exists()


def test_a_person_cleans_up_only_the_runs_they_may_see(launch, secret_kind, ml_admin, admin_user):
    hidden = launch(None, seed=21, age_days=40, kind="secret_demo")
    shown = launch(None, seed=22, age_days=40)
    hidden_child = launch(None, seed=23, age_days=1, kind="secret_demo", parent=shown)
    assert cleanup_plan(days=30, user=ml_admin).run_ids == []
    assert _reasons(cleanup_plan(days=30, user=ml_admin)) == {shown.run_id: "parent of a run outside your view"}
    with pytest.raises(CleanupPlanStale):
        runs_cleanup(days=30, run_ids=[hidden.run_id], actor=ml_admin)
    assert cleanup_plan(days=30, user=admin_user).run_ids == [hidden.run_id]
    assert _reasons(cleanup_plan(days=30, user=admin_user)) == {shown.run_id: f"parent of kept run {hidden_child.run_id}"}
    # Ops (no user) sees every run.
    assert cleanup_plan(days=30).run_ids == [hidden.run_id]


def test_a_saved_comparison_protects_its_runs_until_it_is_deleted(estate, ml_admin):
    from runs.services.compare import comparison_delete

    plan = cleanup_plan(days=30, user=ml_admin)
    assert estate["compared_a"].run_id not in plan.run_ids
    comparison_delete(comparison=RunComparison.objects.get(name="Q3 review"), actor=ml_admin)
    assert estate["compared_a"].run_id in cleanup_plan(days=30, user=ml_admin).run_ids


# ---------------------------------------------------------------------------
# Command
# ---------------------------------------------------------------------------
def test_the_command_dry_run_lists_everything_and_deletes_nothing(estate):
    out = StringIO()
    count = Run.objects.count()
    call_command("cleanup_runs", "--days", "30", "--dry-run", stdout=out)
    text = out.getvalue()
    assert Run.objects.count() == count
    plan = cleanup_plan(days=30)
    for run_id in plan.run_ids:
        assert f"would delete {run_id}" in text
    assert f"{estate['fav'].run_id}  favourite" in text
    assert f'{estate["compared_a"].run_id}  in saved comparison "Q3 review"' in text
    size = sum(c.size_bytes for c in plan.to_delete)
    assert "Dry run: 4 run(s) would be deleted" in text and size_text(size) in text and "7 old run(s) kept" in text


def test_the_command_deletes_what_its_dry_run_listed(estate):
    dry = StringIO()
    call_command("cleanup_runs", "--days", "30", "--dry-run", stdout=dry)
    listed = {line.split()[2] for line in dry.getvalue().splitlines() if line.strip().startswith("would delete")}
    before = set(Run.objects.values_list("run_id", flat=True))
    out = StringIO()
    call_command("cleanup_runs", "--days", "30", stdout=out)
    assert before - set(Run.objects.values_list("run_id", flat=True)) == listed and len(listed) == 4
    assert "Deleted 4 run(s)" in out.getvalue()


@pytest.mark.parametrize("days", ["6", "366"])
def test_the_command_refuses_bad_days(estate, days):
    with pytest.raises(CommandError, match="7 to 365"):
        call_command("cleanup_runs", "--days", days)


def test_the_command_requires_days():
    with pytest.raises(CommandError, match="--days"):
        call_command("cleanup_runs")


# ---------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------
def test_the_page_shows_the_dry_run_and_executes_exactly_its_list(estate, client_for, ml_admin):
    client = client_for(ml_admin)
    page = client.get("/runs/cleanup/?days=30")
    assert page.status_code == 200
    plan = page.context["plan"]
    assert page.context["plan_ids"].split() == plan.run_ids
    html = page.content.decode()
    assert estate["plain"].run_id in html and 'in saved comparison &quot;Q3 review&quot;' in html
    before = set(Run.objects.values_list("run_id", flat=True))
    response = client.post("/runs/cleanup/", {"days": 30, "runs": page.context["plan_ids"]})
    assert response.status_code == 302
    assert before - set(Run.objects.values_list("run_id", flat=True)) == set(plan.run_ids)


def test_the_page_refuses_a_stale_plan_and_shows_a_new_one(estate, client_for, ml_admin):
    client = client_for(ml_admin)
    ids = client.get("/runs/cleanup/?days=30").context["plan_ids"]
    Run.objects.filter(pk=estate["plain"].pk).update(is_favourite=True)
    count = Run.objects.count()
    response = client.post("/runs/cleanup/", {"days": 30, "runs": ids})
    assert response.status_code == 409
    assert b"out of date" in response.content
    assert estate["plain"].run_id not in response.context["plan"].run_ids
    assert Run.objects.count() == count


def test_the_page_refuses_bad_days(client_for, ml_admin):
    response = client_for(ml_admin).get("/runs/cleanup/?days=6")
    assert response.status_code == 400 and "plan" not in response.context


def test_the_page_is_refused_to_a_viewer_and_an_analyst(estate, client_for, viewer, analyst):
    for user in (viewer, analyst):
        client = client_for(user)
        assert client.get("/runs/cleanup/?days=30").status_code == 403
        assert client.post("/runs/cleanup/", {"days": 30, "runs": estate["plain"].run_id}).status_code == 403
    assert Run.objects.filter(pk=estate["plain"].pk).exists()


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/runs/cleanup/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# ---------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------
def test_the_api_plans_and_executes_exactly_the_plan(estate, client_for, ml_admin):
    client = client_for(ml_admin)
    plan = client.post("/api/cleanup/plan/", {"days": 30}, content_type="application/json")
    assert plan.status_code == 200
    body = plan.json()
    listed = [row["run_id"] for row in body["to_delete"]]
    assert {row["run_id"]: row["reason"] for row in body["kept"]}[estate["fav"].run_id] == "favourite"
    assert body["total_bytes"] == sum(row["size_bytes"] for row in body["to_delete"]) > 0
    before = set(Run.objects.values_list("run_id", flat=True))
    done = client.post("/api/cleanup/execute/", {"days": 30, "runs": listed}, content_type="application/json")
    assert done.status_code == 200 and done.json()["count"] == 4
    assert before - set(Run.objects.values_list("run_id", flat=True)) == set(listed) == set(done.json()["deleted"])


def test_the_api_answers_409_to_a_stale_plan(estate, client_for, ml_admin):
    client = client_for(ml_admin)
    listed = [row["run_id"] for row in client.post("/api/cleanup/plan/", {"days": 30}, content_type="application/json").json()["to_delete"]]
    Run.objects.filter(pk=estate["plain"].pk).update(is_favourite=True)
    response = client.post("/api/cleanup/execute/", {"days": 30, "runs": listed}, content_type="application/json")
    assert response.status_code == 409 and "out of date" in response.json()["detail"]
    assert Run.objects.filter(run_id__in=listed).count() == len(listed)


def test_the_api_answers_400_to_bad_days(client_for, ml_admin):
    response = client_for(ml_admin).post("/api/cleanup/plan/", {"days": 366}, content_type="application/json")
    assert response.status_code == 400 and "7 to 365" in response.json()["detail"]


def test_the_api_refuses_a_viewer_and_anonymous(estate, client_for, viewer, client):
    api = client_for(viewer)
    assert api.post("/api/cleanup/plan/", {"days": 30}, content_type="application/json").status_code == 403
    response = api.post("/api/cleanup/execute/", {"days": 30, "runs": [estate["plain"].run_id]}, content_type="application/json")
    assert response.status_code == 403
    assert client.post("/api/cleanup/plan/", {"days": 30}, content_type="application/json").status_code == 401
    assert Run.objects.filter(pk=estate["plain"].pk).exists()


def test_the_plan_takes_the_same_few_queries_whatever_the_number_of_runs(launch, analyst, django_assert_num_queries):
    parent = None
    for seed in range(12):  # a chain of old runs under a recent child: all kept, transitively
        parent = launch(analyst, seed=seed, age_days=40, parent=parent)
    launch(analyst, seed=99, parent=parent)
    with django_assert_num_queries(4):
        plan = cleanup_plan(days=30)
    assert len(plan.kept) == 12 and plan.run_ids == []
