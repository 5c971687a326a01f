"""The run query language: what each form selects, and errors that point at the character."""
from datetime import timedelta

import pytest
from django.utils import timezone

from runs.models import Run, RunFavourite, RunOrigin, RunStatus, Tag
from runs.query import QueryError, compile_filter, compile_order
from runs.query.parser import parse_query

pytestmark = pytest.mark.django_db


def make(run_id: str, *, kind: str = "simulation", status: str = RunStatus.SUCCEEDED, metrics=None, params=None,
         days_ago: float = 0, tags=(), owner=None, **extra) -> Run:
    run = Run.objects.create(
        run_id=run_id, kind=kind, status=status, metrics=metrics or {}, params=params or {}, params_hash="0" * 64,
        owner=owner, **extra,
    )
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    for name in tags:
        run.tags.add(Tag.objects.get_or_create(name=name)[0])
    return run


@pytest.fixture
def book(analyst):
    return [
        make("run_a", metrics={"lcr": 1.2, "rwa_total": 300.0}, params={"mix": "retail", "positions": 100_000},
             tags=["nightly"], days_ago=1, owner=analyst),
        make("run_b", metrics={"lcr": 1.8, "rwa_total": 500.0}, params={"mix": "corporate", "positions": 50_000},
             days_ago=3),
        make("run_c", metrics={"lcr": 2.5, "rwa_total": 100.0}, params={"mix": "retail", "positions": 250_000},
             status=RunStatus.FAILED, tags=["stress", "env:prod"], days_ago=10),
        make("run_d", kind="demo", metrics={"mean": 3, "lcr": "n/a"}, params={"steps": 5}, days_ago=40),
        make("odd_e", metrics={"lcr": 1.6, "odd key": 7}, params={"odd key": "x y"}, days_ago=2),
    ]


def ids(text: str, order: list[str] | None = None, user=None) -> list[str]:
    queryset = compile_filter(text, user=user).apply(Run.objects.all())
    queryset = compile_order(order or ["run_id"]).apply(queryset)
    return list(queryset.values_list("run_id", flat=True))


@pytest.mark.parametrize("text,expected", [
    ("kind = simulation AND metrics.lcr > 1.5", ["odd_e", "run_b", "run_c"]),
    ("metrics.lcr >= 1.8", ["run_b", "run_c"]),
    ("metrics.lcr != 1.8", ["odd_e", "run_a", "run_c"]),  # only runs that have the metric, as in MLflow
    ("metrics.lcr IN (1.2, 2.5)", ["run_a", "run_c"]),
    ("metrics.lcr IS NULL", ["run_d"]),  # a text value is not a number
    ("params.positions >= 100000", ["run_a", "run_c"]),
    ('params.mix = "retail"', ["run_a", "run_c"]),
    ("params.positions = '100000'", ["run_a"]),  # MLflow compares params as text
    ("params.mix IN ('retail', 'corporate') AND NOT params.positions < 100000", ["run_a", "run_c"]),
    ("params.mix LIKE 'ret%'", ["run_a", "run_c"]),
    ("params.mix ILIKE '%PORATE'", ["run_b"]),
    ("params.`odd key` = 'x y'", ["odd_e"]),
    ("metrics.`odd key` > 6", ["odd_e"]),
    ("status = FAILED", ["run_c"]),
    ("attributes.status = 'FINISHED'", ["odd_e", "run_a", "run_b", "run_d"]),  # MLflow's name for SUCCEEDED
    ("status IN (failed, killed)", ["run_c"]),
    ("run_id ^= 'run_'", ["run_a", "run_b", "run_c", "run_d"]),
    ("run_id = run_b OR run_id = odd_e", ["odd_e", "run_b"]),
    ("name LIKE 'run\\_%'", ["run_a", "run_b", "run_c", "run_d"]),
    ("tag = nightly", ["run_a"]),
    ("tag IN (nightly, stress)", ["run_a", "run_c"]),
    ("tags.env = prod", ["run_c"]),
    ("tag IS NULL", ["odd_e", "run_b", "run_d"]),
    ("created > -7d", ["odd_e", "run_a", "run_b"]),
    ("created < -7d AND kind = demo", ["run_d"]),
    ("(kind = demo OR metrics.lcr < 1.5) AND NOT status = FAILED", ["run_a", "run_d"]),
    ("NOT (kind = simulation)", ["run_d"]),
    ("user = analyst", ["run_a"]),
    ("origin = imported", []),
    ("lifecycle_stage = 'active'", ["odd_e", "run_a", "run_b", "run_c", "run_d"]),
    ("", ["odd_e", "run_a", "run_b", "run_c", "run_d"]),
])
def test_it_selects_what_the_query_says(book, text, expected):
    assert ids(text) == expected


def test_it_reads_mlflow_run_ids_and_millisecond_times(book):
    run = book[1]
    assert ids(f"attributes.run_id = '{run.pk.hex}'") == ["run_b"]
    since = int((timezone.now() - timedelta(days=2.5)).timestamp() * 1000)
    assert ids(f"attributes.created > {since}") == ["odd_e", "run_a"]


def test_favourite_is_the_callers_own_star(book, analyst, viewer):
    RunFavourite.objects.create(user=analyst, run=book[2])
    assert ids("favourite = true", user=analyst) == ["run_c"]
    assert ids("favourite = true", user=viewer) == []


def test_a_metric_sort_puts_runs_without_it_last_and_breaks_ties(book):
    assert ids("kind = simulation", ["-metrics.rwa_total"]) == ["run_b", "run_a", "run_c", "odd_e"]
    assert ids("kind = simulation", ["metrics.rwa_total"]) == ["run_c", "run_a", "run_b", "odd_e"]
    # parameters: numbers in numeric order (50000 before 100000), then text
    assert ids("params.positions IS NOT NULL", ["params.positions DESC"]) == ["run_c", "run_a", "run_b"]
    assert compile_order(["metrics.rwa_total DESC", "-params.mix", "status"]).keys == [
        "-metrics.rwa_total", "-params.mix", "status"]


@pytest.mark.parametrize("text,position,fragment", [
    ("metrics.lcr > ", 15, "Expected a value"),
    ("status = nope", 10, "Unknown status"),
    ("(kind = demo", 1, "never closed"),
    ("kind = demo)", 12, "closes nothing"),
    ("kind = demo AND", 16, "Expected a name"),
    ("kind = demo status = FAILED", 13, "Expected AND, OR"),
    ("created > 7d", 11, "-7d"),
    ("metrics.lcr ^= 'x'", 13, "Metrics compare with numbers"),
    ("metrics.lcr > 'high'", 15, "Expected a number"),
    ("nonsense = 1", 1, "Unknown attribute"),
    ("foo.bar = 1", 1, "Unknown name"),
    ("kind = 'demo", 8, "never closed"),
    ("kind = demo & status = FAILED", 13, "Unexpected character"),
    ("params.mix LIKE retail", 17, "quoted pattern"),
    ("metrics.lcr = NULL", 15, "IS NULL"),
    ("created > 'yesterday'", 11, "Expected a date"),
])
def test_errors_point_at_the_offending_character(text, position, fragment):
    with pytest.raises(QueryError) as caught:
        compile_filter(text)
    error = caught.value
    assert fragment in error.message
    assert error.position + 1 == position
    assert error.caret.splitlines()[1] == " " * (position - 1) + "^"
    assert error.as_dict()["position"] == position


def test_a_bad_sort_key_is_an_error():
    with pytest.raises(QueryError, match="cannot be sorted by tags"):
        compile_order(["tags.x"])
    with pytest.raises(QueryError, match="Unknown attribute"):
        compile_order(["-bogus"])


def test_nothing_is_evaluated_and_depth_is_bounded():
    with pytest.raises(QueryError, match="nested"):
        parse_query("(" * 60 + "kind = demo" + ")" * 60)
    with pytest.raises(QueryError):
        compile_filter("__import__('os').system('true')")
    with pytest.raises(QueryError, match="longer than"):
        compile_filter("kind = demo OR " * 400 + "kind = demo")
