"""Comparing runs side by side, and saved comparisons."""
from __future__ import annotations

import re

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
CLASSES_A = [
    {"exposure_class": "corporate", "count": 10, "ead": 1000.0, "rwa": 1000.0, "risk_weight": 1.0},
    {"exposure_class": "retail", "count": 20, "ead": 2000.0, "rwa": 1500.0, "risk_weight": 0.75},
]
CLASSES_B = [
    {"exposure_class": "corporate", "count": 10, "ead": 1000.0, "rwa": 1000.0, "risk_weight": 1.0},
    {"exposure_class": "retail", "count": 22, "ead": 2200.0, "rwa": 1650.0, "risk_weight": 0.75},
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
    Run.objects.filter(pk=a.pk).update(metrics={
        "mean": 100.0, "zero": 0, "label": "x", "capital": {"cet1_ratio": 0.0967}, "total_rwa": 1234567.8,
        "rwa_by_class": CLASSES_A, "stats_by_product": PRODUCTS_A,
    })
    Run.objects.filter(pk=b.pk).update(metrics={
        "mean": 110.0, "zero": 5, "label": "y", "capital": {"cet1_ratio": 0.1001}, "total_rwa": 1334567.8,
        "rwa_by_class": CLASSES_B, "stats_by_product": PRODUCTS_B,
    })
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


def test_metrics_carry_delta_and_delta_percent_against_the_first_run_by_default(pair, analyst):
    comparison = run_compare(user=analyst, run_ids=[r.run_id for r in pair])
    mean = _row(comparison.metrics, "mean")
    assert mean.values == [100.0, 110.0]
    assert mean.deltas == [None, pytest.approx(10.0)]
    assert mean.delta_pcts == [None, pytest.approx(10.0)]
    # Against a zero baseline Δ is defined and Δ% is not.
    zero = _row(comparison.metrics, "zero")
    assert zero.deltas == [None, 5] and zero.delta_pcts == [None, None]
    # Nested metrics are flattened; text metrics have no Δ.
    cet1 = _row(comparison.metrics, "capital.cet1_ratio")
    assert cet1.unit == "ratio" and cet1.delta_pcts[1] == pytest.approx(0.34 / 0.0967)
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


def test_the_chart_has_one_dataset_per_run_over_the_ratios_in_percent(pair, analyst):
    chart = run_compare(user=analyst, run_ids=[r.run_id for r in pair]).chart
    assert [d["label"] for d in chart["datasets"]] == [r.run_id for r in pair]
    # Ratios share a scale; amounts and counts beside them would flatten them.
    assert chart["labels"] == ["Capital › CET1 ratio"] and chart["unit"] == "%"
    assert chart["datasets"][1]["data"] == [pytest.approx(10.01)]


def test_without_ratios_the_chart_shows_the_plain_numbers(launch, analyst):
    runs = [launch(analyst, seed=s) for s in (1, 2)]
    chart = run_compare(user=analyst, run_ids=[r.run_id for r in runs]).chart
    assert "Mean" in chart["labels"] and chart["unit"] == ""


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
def _compare_page(client, *run_ids, **query):
    params = "&".join([f"runs={','.join(run_ids)}"] + [f"{k}={v}" for k, v in query.items()])
    return client.get(f"/runs/compare/?{params}")


def _cell_texts(html, table_id, row_key):
    """The text of each run's cell of one row of a figures table."""
    table = html[html.index(f'id="{table_id}"'):]
    table = table[:table.index("</table>")]
    row = table[table.index(f'data-row="{row_key}"'):]
    row = row[:row.index("</tr>")]
    return [re.sub(r"<[^>]+>", " ", cell).split() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_the_page_shows_differences_first_with_cards_toggle_and_charts(pair, client_for, viewer):
    response = _compare_page(client_for(viewer), *(r.run_id for r in pair))
    assert response.status_code == 200
    html = response.content.decode()
    # A card per run with its key facts; the first run is the marked baseline.
    assert html.count('class="cmp-card') == 2 and 'class="cmp-card is-baseline" data-run="%s"' % pair[0].run_id in html
    assert pair[0].params_hash[:12] in html and f'href="/runs/{pair[0].run_id}/"' in html
    # Parameters that differ are rows to see; the same ones are there for "show all".
    assert '<tr class="differs" data-param="seed">' in html and '<tr class="same" data-param="steps">' in html
    assert 'id="params-show-all"' in html
    assert "vendor/chart.umd.min.js" in html and "js/compare.js" in html and 'id="chart-overview-data"' in html
    assert 'id="chart-changes-data"' in html  # Δ% of ratios and amounts on one scale
    assert 'id="save-comparison"' not in html  # a viewer may not save


def test_figures_read_as_on_the_run_page_with_delta_and_delta_percent(pair, client_for, viewer):
    from simulations.templatetags.simulation_tags import eur, pct

    html = _compare_page(client_for(viewer), *(r.run_id for r in pair)).content.decode()
    # A ratio is a percentage, as the simulation run page writes it; its Δ is in points.
    base, other = _cell_texts(html, "metrics-ratio", "capital.cet1_ratio")
    assert base == [pct(0.0967)] == ["9.67%"]
    assert other == [pct(0.1001), "+0.34", "pp", "+" + pct(0.34 / 0.0967 / 100)]
    # Money with thousands separators, as the run page's eur filter writes it.
    base, other = _cell_texts(html, "metrics-amount", "total_rwa")
    assert base == [eur(1234567.8)] and other == [eur(1334567.8), "+100,000", "+" + pct(100000 / 1234567.8)]
    # Against a zero baseline Δ% does not exist; a change from zero is highlighted anyway.
    base, other = _cell_texts(html, "metrics-count", "zero")
    assert other == ["5", "+5"]
    assert 'class="cmp-row differs significant" data-row="zero"' in html


def test_no_json_blob_reaches_a_cell_nested_lists_get_their_own_section(pair, client_for, viewer):
    html = _compare_page(client_for(viewer), *(r.run_id for r in pair)).content.decode()
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)
    assert cells and not [c for c in cells if "{" in c or "[{" in c]
    assert 'id="compare-rwa_by_class"' in html and 'id="compare-stats_by_product"' in html
    assert _cell_texts(html, "rwa_by_class-rwa", "retail")[1] == ["1,650", "+150", "+" + "10.00%"]
    assert _cell_texts(html, "rwa_by_class-rwa", "corporate")[1] == ["1,000", "no", "change"]
    # A product only one run has is a difference too.
    assert 'class="cmp-row differs significant" data-row="card · asset"' not in html  # no side in these records
    assert 'class="cmp-row differs significant" data-row="card"' in html


def test_the_threshold_decides_what_is_highlighted_and_stays_in_the_links(pair, client_for, viewer):
    ids = [r.run_id for r in pair]
    client = client_for(viewer)
    low = _compare_page(client, *ids, threshold="1").content.decode()
    high = _compare_page(client, *ids, threshold="50").content.decode()
    # mean +10 %, cet1 +3.5 %: highlighted at 1 %, not at 50 %.
    assert 'class="cmp-row differs significant" data-row="mean"' in low
    assert 'class="cmp-row differs" data-row="mean"' in high
    assert 'value="50"' in high and "threshold=50" in high  # kept in the baseline links
    # A threshold that is not a number falls back to the default rather than failing.
    assert _compare_page(client, *ids, threshold="abc").context["threshold"] == "1"


def test_the_baseline_is_chosen_in_the_url_and_marked(pair, client_for, viewer):
    ids = [r.run_id for r in pair]
    response = _compare_page(client_for(viewer), *ids, baseline=ids[1])
    assert response.status_code == 200
    comparison = response.context["comparison"]
    assert comparison.run_ids == ids and comparison.baseline.run_id == ids[1]
    assert _row(comparison.metrics, "mean").deltas == [pytest.approx(-10.0), None]
    html = response.content.decode()
    assert f'class="cmp-card is-baseline" data-run="{ids[1]}"' in html
    assert f'<option value="{ids[1]}" selected>' in html


def test_a_baseline_outside_the_runs_is_refused(pair, launch, client_for, viewer):
    other = launch(None, seed=9)
    response = _compare_page(client_for(viewer), *(r.run_id for r in pair), baseline=other.run_id)
    assert response.status_code == 400 and b"not one of the compared runs" in response.content
    with pytest.raises(ValidationError):
        run_compare(user=viewer, run_ids=[r.run_id for r in pair], baseline=other.run_id)


def test_the_page_has_no_inline_script_or_handler(pair, client_for, analyst):
    """The Content-Security-Policy allows scripts from our own files only."""
    client = client_for(analyst)
    saved = comparison_create(name="csp", run_ids=[r.run_id for r in pair], actor=analyst)
    for url in (f"/runs/compare/?runs={pair[0].run_id},{pair[1].run_id}", f"/runs/comparisons/{saved.pk}/", "/runs/compare/"):
        html = client.get(url).content.decode()
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)
        assert not re.search(r"\son[a-z]+=", html), url


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
    assert bad.status_code == 400 and "at least 2" in str(bad.json()["runs"])
    twice = client_for(analyst).post(
        "/api/comparisons/", {"name": "n", "runs": [ids[0], ids[0]]}, content_type="application/json"
    )
    assert twice.status_code == 400 and "2 to 10" in twice.json()["detail"]
    assert not RunComparison.objects.exists()


# ---------------------------------------------------------------------------
# A saved comparison keeps its column order and its baseline
# ---------------------------------------------------------------------------
def test_saving_from_the_page_keeps_the_order_and_baseline_on_screen(pair, client_for, analyst):
    """Opened from the run list, newest first: the newest run is the baseline; saved, it stays so."""
    older, newer = pair
    client = client_for(analyst)
    shown = _compare_page(client, newer.run_id, older.run_id)
    shown_delta = _row(shown.context["comparison"].metrics, "mean").deltas
    assert shown_delta == [None, pytest.approx(-10.0)]  # the older run against the newer
    # The page's own save form, as a browser posts it.
    html = shown.content.decode()
    form = html[html.index('id="save-comparison"'):html.index("</form>", html.index('id="save-comparison"'))]
    posted = dict(re.findall(r'<input type="hidden" name="(baseline)" value="([^"]+)"', form))
    runs = re.findall(r'<input type="hidden" name="runs" value="([^"]+)"', form)
    response = client.post("/runs/comparisons/", {"name": "newest first", "runs": runs, **posted})
    saved = RunComparison.objects.get()
    assert response.status_code == 302
    reopened = client.get(f"/runs/comparisons/{saved.pk}/")
    # Every Δ is the one that was on screen.
    assert _row(reopened.context["comparison"].metrics, "mean").deltas == shown_delta
    assert reopened.context["comparison"].run_ids == [newer.run_id, older.run_id]
    assert reopened.context["comparison"].baseline.run_id == newer.run_id
    # The API reads the same comparison the same way.
    body = client.get(f"/api/comparisons/{saved.pk}/").json()
    assert body["runs"] == [newer.run_id, older.run_id] and body["baseline"] == newer.run_id
    assert body["comparison"]["baseline"] == newer.run_id
    assert next(r for r in body["comparison"]["metrics"] if r["name"] == "mean")["deltas"] == shown_delta


def test_saving_keeps_a_baseline_that_is_not_the_first_column(pair, client_for, analyst):
    ids = [r.run_id for r in pair]
    client = client_for(analyst)
    client.post("/runs/comparisons/", {"name": "against the second", "runs": ids, "baseline": ids[1]})
    saved = RunComparison.objects.get()
    assert saved.run_order == ids and saved.baseline_id == pair[1].pk
    reopened = client.get(f"/runs/comparisons/{saved.pk}/").context["comparison"]
    assert reopened.run_ids == ids and reopened.baseline.run_id == ids[1]
    # Looking at it against another run does not change what is saved.
    other_view = client.get(f"/runs/comparisons/{saved.pk}/?baseline={ids[0]}").context["comparison"]
    assert other_view.baseline.run_id == ids[0]
    assert RunComparison.objects.get().baseline_id == pair[1].pk
    # A baseline that is not one of its runs shows the saved one.
    assert client.get(f"/runs/comparisons/{saved.pk}/?baseline=run_nope").context["comparison"].baseline.run_id == ids[1]


def test_the_api_saves_the_order_and_baseline_and_changes_them(pair, launch, client_for, analyst):
    third = launch(analyst, seed=3)
    ids = [pair[1].run_id, third.run_id, pair[0].run_id]
    api = client_for(analyst)
    created = api.post(
        "/api/comparisons/", {"name": "three", "runs": ids, "baseline": third.run_id}, content_type="application/json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["runs"] == ids and body["baseline"] == third.run_id and body["comparison"]["baseline"] == third.run_id
    live = api.get(f"/api/compare/?runs={','.join(ids)}&baseline={third.run_id}").json()
    assert body["comparison"]["metrics"] == live["metrics"]
    listed = api.get("/api/comparisons/").json()["results"][0]
    assert listed["runs"] == ids and listed["baseline"] == third.run_id
    pk = body["id"]
    changed = api.patch(f"/api/comparisons/{pk}/", {"baseline": ids[0]}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["baseline"] == ids[0] and changed.json()["runs"] == ids
    # New runs without a baseline keep the current one when it is among them.
    reordered = api.patch(f"/api/comparisons/{pk}/", {"runs": ids[::-1]}, content_type="application/json").json()
    assert reordered["runs"] == ids[::-1] and reordered["baseline"] == ids[0]
    refused = api.patch(f"/api/comparisons/{pk}/", {"runs": ids[1:], "baseline": ids[0]}, content_type="application/json")
    assert refused.status_code == 400 and "not one of the compared runs" in refused.json()["detail"]
    assert RunComparison.objects.get().run_order == ids[::-1]  # nothing half-written


def test_the_api_refuses_to_save_a_baseline_outside_the_runs(pair, launch, client_for, analyst):
    other = launch(analyst, seed=9)
    response = client_for(analyst).post(
        "/api/comparisons/", {"name": "n", "runs": [r.run_id for r in pair], "baseline": other.run_id},
        content_type="application/json",
    )
    assert response.status_code == 400 and "not one of the compared runs" in response.json()["detail"]
    assert not RunComparison.objects.exists()


def test_the_compare_api_takes_a_baseline_and_gives_breakdowns(pair, client_for, viewer):
    ids = [r.run_id for r in pair]
    api = client_for(viewer)
    body = api.get(f"/api/compare/?runs={ids[0]}&runs={ids[1]}&baseline={ids[1]}").json()
    assert body["runs"] == ids and body["baseline"] == ids[1]
    mean = next(r for r in body["metrics"] if r["name"] == "mean")
    assert mean["deltas"] == [pytest.approx(-10.0), None] and mean["unit"] == "number"
    cet1 = next(r for r in body["metrics"] if r["name"] == "capital.cet1_ratio")
    assert cet1["unit"] == "ratio" and cet1["values"] == [0.0967, 0.1001]  # raw numbers; formatting is the page's
    by_class = next(b for b in body["breakdowns"] if b["key"] == "rwa_by_class")
    retail = next(r for r in by_class["rows"] if r["item"] == "retail" and r["figure"] == "rwa")
    assert retail["values"] == [1500.0, 1650.0] and retail["delta_pcts"] == [pytest.approx(-100 / 11), None]
    assert api.get(f"/api/compare/?runs={ids[0]}&runs={ids[1]}&baseline=nope").status_code == 400


def test_the_saved_baseline_is_edited_on_the_page(pair, client_for, analyst):
    ids = [r.run_id for r in pair]
    saved = comparison_create(name="n", run_ids=ids, actor=analyst)
    client = client_for(analyst)
    assert client.post(f"/runs/comparisons/{saved.pk}/", {"name": "n", "baseline": ids[1]}).status_code == 302
    assert RunComparison.objects.get().baseline_id == pair[1].pk
    refused = client.post(f"/runs/comparisons/{saved.pk}/", {"name": "n", "baseline": "run_nope"})
    assert refused.status_code == 400 and RunComparison.objects.get().baseline_id == pair[1].pk


def test_when_the_baseline_run_is_deleted_the_first_remaining_run_is_the_baseline(launch, analyst):
    from runs.selectors.compare import comparison_baseline_id, comparison_run_ids
    from runs.services.manage import run_delete

    a, b, c = (launch(analyst, seed=s) for s in (1, 2, 3))
    saved = comparison_create(name="n", run_ids=[c.run_id, b.run_id, a.run_id], baseline=b.run_id, actor=analyst)
    run_delete(run=b, actor=analyst)
    saved = RunComparison.objects.get(pk=saved.pk)
    assert comparison_run_ids(saved) == [c.run_id, a.run_id] and comparison_baseline_id(saved) == c.run_id


def test_comparisons_saved_before_the_order_was_kept_show_what_they_showed(launch, analyst):
    """The migration records what older saved comparisons showed: oldest first, the oldest the baseline."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("runs.migrations.0009_comparison_order")
    older = launch(analyst, seed=1, age_days=2)
    newer = launch(analyst, seed=2)
    legacy = RunComparison.objects.create(name="legacy")
    legacy.runs.set([newer, older])
    migration.keep_what_was_shown(apps, None)
    legacy.refresh_from_db()
    assert legacy.run_order == [older.run_id, newer.run_id] and legacy.baseline_id == older.pk


def test_float_noise_below_what_the_page_shows_reads_as_no_change(launch, client_for, viewer):
    a, b = launch(None, seed=1), launch(None, seed=2)
    Run.objects.filter(pk=a.pk).update(metrics={"total_rwa": 260416666.675, "rwa_density": 0.5})
    Run.objects.filter(pk=b.pk).update(metrics={"total_rwa": 260416666.67500001, "rwa_density": 0.5000000001})
    html = _compare_page(client_for(viewer), a.run_id, b.run_id, threshold="0").content.decode()
    assert _cell_texts(html, "metrics-amount", "total_rwa")[1] == ["260,416,667", "no", "change"]
    assert _cell_texts(html, "metrics-ratio", "rwa_density")[1] == ["50.00%", "no", "change"]
    assert "significant" not in html[html.index('id="metrics-ratio"'):html.index("</table>", html.index('id="metrics-ratio"'))]


def test_a_run_without_metrics_yet_compares_with_blanks(pair, client_for, viewer):
    Run.objects.filter(pk=pair[1].pk).update(metrics={}, status="PENDING")
    response = _compare_page(client_for(viewer), *(r.run_id for r in pair))
    assert response.status_code == 200
    html = response.content.decode()
    assert _cell_texts(html, "metrics-number", "mean")[1] == ["—"]
    # A figure the other run lacks is a difference worth seeing.
    assert 'class="cmp-row differs significant" data-row="mean"' in html
