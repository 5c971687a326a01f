"""Comparing runs side by side, and saved comparisons."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from runs.models import Run, RunComparison
from runs.selectors.cleanup import cleanup_plan
from runs.selectors.compare import run_compare
from runs.services.compare import comparison_create, comparison_delete, comparison_update
from tests.runs.test_manage_support import artifact_store, launch, secret_kind  # noqa: F401

pytestmark = pytest.mark.django_db

PRODUCTS_A = [
    {"product": "mortgage", "count": 100, "notional": 1000.0, "ead": 900.0, "rwa": 300.0},
    {"product": "sme", "count": 50, "notional": 500.0, "ead": 450.0, "rwa": 0.0},
]
PRODUCTS_B = [
    {"product": "mortgage", "count": 110, "notional": 1100.0, "ead": 990.0, "rwa": 360.0},
    {"product": "sme", "count": 50, "notional": 500.0, "ead": 450.0, "rwa": 45.0},
    {"product": "card", "count": 7, "notional": 70.0, "ead": 60.0, "rwa": 30.0},
]


@pytest.fixture
def pair(launch, analyst):
    a = launch(analyst, seed=1, steps=3)
    b = launch(analyst, seed=2, steps=3)
    Run.objects.filter(pk=a.pk).update(metrics={"mean": 100.0, "zero": 0, "label": "x", "capital": {"cet1": 0.12}, "stats_by_product": PRODUCTS_A})
    Run.objects.filter(pk=b.pk).update(metrics={"mean": 110.0, "zero": 5, "label": "y", "capital": {"cet1": 0.15}, "stats_by_product": PRODUCTS_B})
    return Run.objects.get(pk=a.pk), Run.objects.get(pk=b.pk)


def _row(rows, name):
    [row] = [r for r in rows if r.name == name]
    return row


# ---------------------------------------------------------------------------
# Selector
# ---------------------------------------------------------------------------
def test_parameters_are_flagged_when_they_differ(pair, analyst):
    comparison = run_compare(user=analyst, run_ids=[r.run_id for r in pair])
    assert _row(comparison.params, "seed").differs is True
    assert _row(comparison.params, "seed").values == [1, 2]
    assert _row(comparison.params, "steps").differs is False
    assert _row(comparison.metadata, "Seed").differs is True
    assert _row(comparison.metadata, "Kind").differs is False


def test_metrics_carry_delta_and_delta_percent_against_the_first_run(pair, analyst):
    comparison = run_compare(user=analyst, run_ids=[r.run_id for r in pair])
    mean = _row(comparison.metrics, "mean")
    assert mean.values == [100.0, 110.0]
    assert mean.deltas == [None, pytest.approx(10.0)]
    assert mean.delta_pcts == [None, pytest.approx(10.0)]
    # Against a zero baseline Δ is defined and Δ% is not.
    zero = _row(comparison.metrics, "zero")
    assert zero.deltas == [None, 5] and zero.delta_pcts == [None, None]
    # Nested metrics are flattened; text metrics have no Δ.
    assert _row(comparison.metrics, "capital.cet1").delta_pcts[1] == pytest.approx(25.0)
    label = _row(comparison.metrics, "label")
    assert label.numeric is False and label.deltas == [None, None] and label.differs is True


def test_the_baseline_is_the_first_run_given(pair, analyst):
    comparison = run_compare(user=analyst, run_ids=[pair[1].run_id, pair[0].run_id])
    mean = _row(comparison.metrics, "mean")
    assert mean.values == [110.0, 100.0] and mean.delta_pcts[1] == pytest.approx(-100 / 11)


def test_figures_by_product_are_compared(pair, analyst):
    comparison = run_compare(user=analyst, run_ids=[r.run_id for r in pair])
    rows = {(r.product, r.name): r for r in comparison.by_product}
    assert rows[("mortgage", "rwa")].values == [300.0, 360.0]
    assert rows[("mortgage", "rwa")].delta_pcts[1] == pytest.approx(20.0)
    assert rows[("sme", "rwa")].delta_pcts == [None, None]  # zero baseline
    assert rows[("sme", "count")].differs is False
    assert rows[("card", "ead")].values == [None, 60.0] and rows[("card", "ead")].deltas == [None, None]
    assert comparison.product_chart["labels"] == ["mortgage", "sme", "card"]


def test_the_chart_has_one_dataset_per_run_over_the_numeric_metrics(pair, analyst):
    chart = run_compare(user=analyst, run_ids=[r.run_id for r in pair]).chart
    assert [d["label"] for d in chart["datasets"]] == [r.run_id for r in pair]
    assert "label" not in chart["labels"] and "mean" in chart["labels"]
    assert chart["datasets"][1]["data"][chart["labels"].index("mean")] == 110.0


@pytest.mark.parametrize("count", [1, 11])
def test_it_compares_2_to_10_runs_only(launch, analyst, count):
    runs = [launch(analyst, seed=s) for s in range(count)]
    with pytest.raises(ValidationError, match="2 to 10"):
        run_compare(user=analyst, run_ids=[r.run_id for r in runs])


def test_it_compares_up_to_10_runs(launch, analyst, django_assert_max_num_queries):
    runs = [launch(analyst, seed=s) for s in range(10)]
    with django_assert_max_num_queries(3):
        comparison = run_compare(user=analyst, run_ids=[r.run_id for r in runs])
        comparison.metadata  # everything is computed by now
    assert comparison.run_ids == [r.run_id for r in runs]


def test_a_repeated_run_counts_once(pair, analyst):
    with pytest.raises(ValidationError):
        run_compare(user=analyst, run_ids=[pair[0].run_id, pair[0].run_id])


def test_runs_the_user_may_not_see_are_404(launch, secret_kind, analyst, admin_user):
    shown = launch(analyst, seed=1)
    hidden = launch(None, seed=2, kind="secret_demo")
    with pytest.raises(Http404):
        run_compare(user=analyst, run_ids=[shown.run_id, hidden.run_id])
    assert run_compare(user=admin_user, run_ids=[shown.run_id, hidden.run_id]).run_ids == [shown.run_id, hidden.run_id]


# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------
def test_the_page_shows_runs_side_by_side_with_the_toggle_and_chart(pair, client_for, viewer):
    response = client_for(viewer).get(f"/runs/compare/?runs={pair[0].run_id}&runs={pair[1].run_id}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="diff-toggle"' in html and "vendor/chart.umd.min.js" in html and "js/compare.js" in html
    assert '<tr class="differs" data-param="seed">' in html
    assert '<tr class="same" data-param="steps">' in html
    assert "Δ +10" in html and "(+10.00%)" in html and "(Δ% n/a)" in html
    assert 'id="metrics-chart-data"' in html and 'id="product-chart"' in html
    assert 'id="save-comparison"' not in html  # a viewer may not save


def test_the_page_accepts_a_comma_separated_list(pair, client_for, analyst):
    response = client_for(analyst).get(f"/runs/compare/?runs={pair[0].run_id},{pair[1].run_id}")
    assert response.status_code == 200 and response.context["comparison"].run_ids == [r.run_id for r in pair]
    assert b'id="save-comparison"' in response.content


def test_the_page_without_runs_offers_a_picker(pair, client_for, analyst):
    response = client_for(analyst).get("/runs/compare/")
    assert response.status_code == 200 and pair[0].run_id.encode() in response.content


def test_the_page_refuses_one_run_with_a_message(pair, client_for, analyst):
    response = client_for(analyst).get(f"/runs/compare/?runs={pair[0].run_id}")
    assert response.status_code == 400 and b"Pick 2 to 10" in response.content


def test_the_page_is_404_for_a_run_the_user_may_not_see(launch, secret_kind, client_for, analyst):
    shown = launch(analyst, seed=1)
    hidden = launch(None, seed=2, kind="secret_demo")
    assert client_for(analyst).get(f"/runs/compare/?runs={shown.run_id}&runs={hidden.run_id}").status_code == 404


def test_the_pages_send_anonymous_visitors_to_login(client):
    for url in ("/runs/compare/", "/runs/comparisons/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_user_without_run_access_is_refused(client_for, finops_admin):
    assert client_for(finops_admin).get("/runs/compare/").status_code == 403


def test_saving_listing_and_reopening_a_comparison(pair, client_for, analyst, viewer):
    client = client_for(analyst)
    response = client.post(
        "/runs/comparisons/", {"name": "Seeds 1 vs 2", "notes": "why they differ", "runs": [r.run_id for r in pair]}
    )
    saved = RunComparison.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/comparisons/{saved.pk}/"
    assert {r.pk for r in saved.runs.all()} == {r.pk for r in pair} and saved.owner == analyst
    listing = client_for(viewer).get("/runs/comparisons/")
    assert b"Seeds 1 vs 2" in listing.content
    reopened = client_for(viewer).get(f"/runs/comparisons/{saved.pk}/")
    assert reopened.status_code == 200
    assert reopened.context["comparison"].run_ids == [r.run_id for r in pair]
    assert b"why they differ" in reopened.content
    assert b"Delete this saved comparison" not in reopened.content  # a viewer may not change it


def test_saving_without_a_name_is_refused(pair, client_for, analyst):
    response = client_for(analyst).post("/runs/comparisons/", {"name": "", "runs": [r.run_id for r in pair]})
    assert response.status_code == 400 and not RunComparison.objects.exists()


def test_a_viewer_cannot_save_a_comparison(pair, client_for, viewer):
    response = client_for(viewer).post("/runs/comparisons/", {"name": "n", "runs": [r.run_id for r in pair]})
    assert response.status_code == 403 and not RunComparison.objects.exists()


def test_the_owner_edits_and_deletes_a_saved_comparison(pair, client_for, analyst, make_user):
    saved = comparison_create(name="old", run_ids=[r.run_id for r in pair], actor=analyst)
    other = make_user("analyst", username="other")
    assert client_for(other).post(f"/runs/comparisons/{saved.pk}/", {"name": "hijack"}).status_code == 403
    assert client_for(other).post(f"/runs/comparisons/{saved.pk}/delete/").status_code == 403
    client = client_for(analyst)
    assert client.post(f"/runs/comparisons/{saved.pk}/", {"name": "new", "notes": "n"}).status_code == 302
    assert RunComparison.objects.get(pk=saved.pk).name == "new"
    assert client.post(f"/runs/comparisons/{saved.pk}/delete/").status_code == 302
    assert not RunComparison.objects.exists() and Run.objects.filter(pk__in=[r.pk for r in pair]).count() == 2


def test_a_saved_comparison_with_a_hidden_run_is_not_listed(launch, secret_kind, client_for, analyst, admin_user):
    shown = launch(analyst, seed=1)
    hidden = launch(None, seed=2, kind="secret_demo")
    saved = comparison_create(name="secret pair", run_ids=[shown.run_id, hidden.run_id], actor=admin_user)
    assert b"secret pair" not in client_for(analyst).get("/runs/comparisons/").content
    assert client_for(analyst).get(f"/runs/comparisons/{saved.pk}/").status_code == 404
    assert b"secret pair" in client_for(admin_user).get("/runs/comparisons/").content


def test_a_saved_comparison_that_lost_runs_still_opens(pair, client_for, analyst):
    from runs.services.manage import run_delete

    saved = comparison_create(name="pair", run_ids=[r.run_id for r in pair], actor=analyst)
    run_delete(run=pair[1], actor=analyst)
    response = client_for(analyst).get(f"/runs/comparisons/{saved.pk}/")
    assert response.status_code == 200 and b"nothing left to compare" in response.content


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------
def test_a_saved_comparison_protects_its_runs_from_cleanup(launch, analyst, ml_admin):
    a = launch(analyst, seed=1, age_days=40)
    b = launch(analyst, seed=2, age_days=40)
    assert set(cleanup_plan(days=30, user=ml_admin).run_ids) == {a.run_id, b.run_id}
    comparison_create(name="keep these", run_ids=[a.run_id, b.run_id], actor=analyst)
    plan = cleanup_plan(days=30, user=ml_admin)
    assert plan.run_ids == []
    assert {k.run_id: k.reason for k in plan.kept} == {
        a.run_id: 'in saved comparison "keep these"', b.run_id: 'in saved comparison "keep these"'
    }


def test_comparison_services_check_roles(pair, analyst, viewer, ml_admin, make_user):
    ids = [r.run_id for r in pair]
    with pytest.raises(PermissionDenied):
        comparison_create(name="n", run_ids=ids, actor=viewer)
    saved = comparison_create(name="n", run_ids=ids, actor=analyst)
    other = make_user("analyst", username="other")
    with pytest.raises(PermissionDenied):
        comparison_update(comparison=saved, actor=other, name="x")
    with pytest.raises(PermissionDenied):
        comparison_delete(comparison=saved, actor=other)
    comparison_update(comparison=saved, actor=ml_admin, notes="an ML admin may change any")
    assert RunComparison.objects.get(pk=saved.pk).notes == "an ML admin may change any"


def test_a_comparison_needs_a_name_and_2_to_10_runs(pair, analyst):
    with pytest.raises(ValidationError):
        comparison_create(name="  ", run_ids=[r.run_id for r in pair], actor=analyst)
    with pytest.raises(ValidationError):
        comparison_create(name="n", run_ids=[pair[0].run_id], actor=analyst)
    assert not RunComparison.objects.exists()


# ---------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------
def test_the_api_compares(pair, client_for, viewer):
    response = client_for(viewer).get(f"/api/compare/?runs={pair[0].run_id}&runs={pair[1].run_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["baseline"] == pair[0].run_id
    mean = next(row for row in body["metrics"] if row["name"] == "mean")
    assert mean["deltas"][1] == pytest.approx(10.0) and mean["delta_pcts"][1] == pytest.approx(10.0)
    assert next(row for row in body["params"] if row["name"] == "seed")["differs"] is True
    assert {row["product"] for row in body["by_product"]} == {"mortgage", "sme", "card"}


def test_the_api_refuses_bad_counts_and_hidden_runs(launch, secret_kind, client_for, analyst, client):
    shown = launch(analyst, seed=1)
    hidden = launch(None, seed=2, kind="secret_demo")
    api = client_for(analyst)
    one = api.get(f"/api/compare/?runs={shown.run_id}")
    assert one.status_code == 400 and "2 to 10" in one.json()["detail"]
    assert api.get(f"/api/compare/?runs={shown.run_id}&runs={hidden.run_id}").status_code == 404
    assert client.get(f"/api/compare/?runs={shown.run_id}").status_code == 401


def test_the_api_saves_lists_reopens_changes_and_deletes(pair, client_for, analyst, viewer):
    api = client_for(analyst)
    ids = [r.run_id for r in pair]
    created = api.post("/api/comparisons/", {"name": "api pair", "notes": "n", "runs": ids}, content_type="application/json")
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json()["comparison"]["runs"] == ids
    listing = client_for(viewer).get("/api/comparisons/").json()
    assert [c["name"] for c in listing["results"]] == ["api pair"] and listing["results"][0]["runs"] == ids
    assert client_for(viewer).get(f"/api/comparisons/{pk}/").json()["comparison"]["baseline"] == ids[0]
    assert client_for(viewer).patch(f"/api/comparisons/{pk}/", {"name": "x"}, content_type="application/json").status_code == 403
    changed = api.patch(f"/api/comparisons/{pk}/", {"name": "renamed"}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["name"] == "renamed"
    assert client_for(viewer).delete(f"/api/comparisons/{pk}/").status_code == 403
    assert api.delete(f"/api/comparisons/{pk}/").status_code == 204
    assert not RunComparison.objects.exists()


def test_the_api_refuses_to_save_for_a_viewer_or_with_bad_runs(pair, client_for, analyst, viewer):
    ids = [r.run_id for r in pair]
    assert client_for(viewer).post("/api/comparisons/", {"name": "n", "runs": ids}, content_type="application/json").status_code == 403
    bad = client_for(analyst).post("/api/comparisons/", {"name": "n", "runs": ids[:1]}, content_type="application/json")
    assert bad.status_code == 400 and "2 to 10" in bad.json()["detail"]
    assert not RunComparison.objects.exists()
