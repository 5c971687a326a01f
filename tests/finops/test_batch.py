"""The finops_batch run kind end to end (SQLite, eager; the same tests run on PostgreSQL in the service leg)."""
from __future__ import annotations

import gzip
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum

from finops_admin.aggregates import cost_by_application, cost_by_domain, cost_by_family, top_applications_by_cost
from finops_admin.forms import default_periods
from finops_admin.models import (
    AggregateRefresh, AllocationRule, Application, BatchBlock, BatchRun, CostByDomainMonth, CostReading, Domain,
)
from finops_admin.services.blocks import block_load
from runs.context import Fence, RunFenced
from runs.models import Run, RunStatus
from runs.services import run_create
from tests.finops.conftest import PERIODS


@pytest.fixture
def launch(finops_admin_user, django_capture_on_commit_callbacks):
    def _launch(**params) -> Run:
        params.setdefault("periods", ",".join(PERIODS))
        with django_capture_on_commit_callbacks(execute=True):
            run = run_create(kind="finops_batch", params=params, owner=finops_admin_user)
        run.refresh_from_db()
        return run

    return _launch


def totals() -> dict:
    rows = (CostReading.objects.values_list("domain__code", "period")
            .annotate(n=Count("id"), billed=Sum("billed_cost"), effective=Sum("effective_cost")))
    return {(d, f"{p:%Y-%m}"): (n, billed, effective) for d, p, n, billed, effective in rows}


def _blocks(run: Run) -> dict[str, BatchBlock]:
    return {b.domain.code: b for b in BatchBlock.objects.filter(batch__run=run).select_related("domain")}


def test_a_batch_loads_every_domain_and_refreshes_the_aggregates(sources, launch):
    run = launch()
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    blocks = _blocks(run)
    assert set(blocks) == {"open", "private", "public", "native"}
    for block in blocks.values():
        assert block.status == "SUCCEEDED" and block.files_read == 2
        assert block.rows_read == block.rows_inserted > 0 and block.rows_rejected == 0 and block.errors == []
        assert set(block.per_period) == set(PERIODS)
        assert sum(p["inserted"] for p in block.per_period.values()) == block.rows_inserted
        assert block.started_at and block.finished_at and block.duration_seconds >= 0
    batch = BatchRun.objects.get(run=run)
    assert batch.periods == PERIODS and batch.domains == ["open", "private", "public", "native"]
    assert batch.rows_inserted == CostReading.objects.count() == sum(b.rows_inserted for b in blocks.values())
    assert batch.views_refreshed == 5 and batch.error_count == 0 and batch.short_error == ""
    refreshes = list(AggregateRefresh.objects.filter(batch=batch).values_list("view", "rows"))
    assert [v for v, _ in refreshes] == ["finops_agg_service_month", "finops_agg_application_month",
                                         "finops_agg_family_month", "finops_agg_domain_month",
                                         "finops_agg_application_ranking"]
    assert all(rows > 0 for _, rows in refreshes)
    # Metrics: totals per domain and period, as in the database.
    for (domain, period), (n, billed, _) in totals().items():
        figures = run.metrics["totals"][domain][period]
        assert figures["readings"] == n and figures["billed_cost"] == pytest.approx(float(billed), abs=0.01)
    # The aggregates agree with the readings, read through the same query module on both databases.
    by_domain = {(r.domain.code, f"{r.period:%Y-%m}"): r for r in cost_by_domain()}
    for key, (n, billed, effective) in totals().items():
        assert by_domain[key].readings == n
        assert by_domain[key].billed_cost == pytest.approx(billed, abs=Decimal("0.0001"))
    assert sum(r.readings for r in cost_by_family()) == sum(r.readings for r in cost_by_application()) == \
        CostReading.objects.count()
    top = list(top_applications_by_cost(period=date(2026, 11, 1), limit=3))
    assert [t.cost_rank for t in top] == [1, 2, 3] and top[0].effective_cost >= top[1].effective_cost
    # Each row names its source file and row; unallocated rows are kept in the Unallocated bucket.
    reading = CostReading.objects.order_by("id").first()
    assert reading.source_file.endswith(".csv") and reading.source_row >= 1 and reading.batch_run_id == run.pk
    assert CostReading.objects.filter(application__is_unallocated=True).exists()


def test_the_same_batch_twice_gives_the_same_totals_and_no_duplicates(sources, launch):
    first = launch()
    after_first = totals()
    second = launch()
    assert first.status == second.status == RunStatus.SUCCEEDED
    assert totals() == after_first
    blocks = _blocks(second)
    assert all(b.rows_deleted == b.rows_inserted for b in blocks.values())
    assert CostReading.objects.filter(batch_run=first).count() == 0  # every reading replaced by the second run
    assert list(CostByDomainMonth.objects.values_list("readings", flat=True).order_by("period", "domain")) == \
        [after_first[k][0] for k in sorted(after_first, key=lambda k: (k[1], Domain.objects.get(code=k[0]).pk))]


def _set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell of data row `row` (1-based) of a generated CSV (no commas inside its first columns)."""
    lines = path.read_text().splitlines(keepends=True)
    index = lines[0].split(",").index(f'"{column}"')
    cells = lines[row].split(",")
    cells[index] = f'"{value}"'
    lines[row] = ",".join(cells)
    path.write_text("".join(lines))


def _corrupt(path: Path, how: str) -> None:
    if how == "non-numeric cost":
        _set_cell(path, 3, "BilledCost", "lots")
    elif how == "unknown currency":
        _set_cell(path, 5, "BillingCurrency", "ZZZ")
    elif how == "missing column":
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(line.replace('"BillingCurrency",', "", 1) if i == 0 else line
                                for i, line in enumerate(lines)))
    elif how == "period outside the file":
        _set_cell(path, 2, "ChargePeriodStart", "2026-08-14T00:00:00Z")
    elif how == "empty file":
        path.write_text("")
    elif how == "not a gzip":
        path.rename(path.with_name(path.name + ".gz"))
    elif how == "over the size limit":
        with open(path, "ab") as handle:
            handle.truncate(2 * 10**9)  # sparse: 2 GB on paper
    else:
        raise AssertionError(how)


EXPECTED = {
    "non-numeric cost": (3, "BilledCost", "not a number"),
    "unknown currency": (5, "BillingCurrency", "unknown currency 'ZZZ'"),
    "missing column": (None, "BillingCurrency", "required FOCUS column missing"),
    "period outside the file": (2, "ChargePeriodStart", "outside the file's period"),
    "empty file": (None, None, "empty file"),
    "not a gzip": (None, None, "not a gzip file"),
    "over the size limit": (None, None, "over the limit"),
}


@pytest.mark.parametrize("how", list(EXPECTED))
def test_a_bad_file_fails_its_block_alone_and_writes_nothing_of_it(sources, launch, settings, how):
    settings.FINOPS_MAX_FILE_BYTES = 1 << 30
    good = launch()
    before = totals()
    path = sources / "public" / "focus_public_2026-11.csv"
    _corrupt(path, how)
    run = launch()
    run.refresh_from_db()
    assert good.status == RunStatus.SUCCEEDED and run.status == RunStatus.FAILED
    blocks = _blocks(run)
    public = blocks.pop("public")
    assert public.status == "FAILED" and public.rows_inserted == 0 and public.error_count >= 1
    row, column, reason = EXPECTED[how]
    error = public.errors[0]
    assert error["file"].startswith("public/focus_public_2026-11.csv") and error["row"] == row
    assert error["column"] == column and reason in error["reason"]
    # Nothing of the failed block written: Public keeps the readings of the previous batch, both months.
    after = totals()
    assert {k: v for k, v in after.items() if k[0] == "public"} == {k: v for k, v in before.items() if k[0] == "public"}
    assert CostReading.objects.filter(domain__code="public", batch_run=run).count() == 0
    # The other blocks kept their results (replaced by this run).
    assert all(b.status == "SUCCEEDED" and b.rows_inserted > 0 for b in blocks.values())
    assert CostReading.objects.filter(batch_run=run).count() == sum(b.rows_inserted for b in blocks.values())
    # The run says which block failed and why; the summary too; the aggregates were refreshed.
    assert "Public" in run.error_message and reason in run.error_message
    batch = BatchRun.objects.get(run=run)
    assert batch.short_error.startswith("Failed block(s): Public") and batch.views_refreshed == 5
    Path(str(path) + ".gz").unlink(missing_ok=True)
    path.unlink(missing_ok=True)


def test_a_month_without_a_file_is_left_as_it_is(sources, launch):
    launch()
    before = totals()
    (sources / "open" / "focus_open_2026-10.csv").unlink()
    run = launch()
    assert run.status == RunStatus.SUCCEEDED
    block = _blocks(run)["open"]
    assert block.per_period["2026-10"] == {"files": 0, "inserted": 0, "deleted": 0, "missing": True}
    assert totals()[("open", "2026-10")] == before[("open", "2026-10")]
    assert run.logs.filter(message__contains="no file for 2026-10").exists()


def test_only_the_asked_domains_and_periods_are_touched(sources, launch):
    launch(periods="2026-09,2026-10,2026-11")
    before = totals()
    run = launch(periods="2026-11", domains="private")
    assert run.status == RunStatus.SUCCEEDED
    assert list(_blocks(run)) == ["private"]
    after = totals()
    assert after == before
    assert CostReading.objects.filter(batch_run=run).exclude(domain__code="private", period="2026-11-01").count() == 0


def test_allocation_first_rule_by_priority_and_unallocated(sources, launch):
    public = Domain.objects.get(code="public")
    apps = list(Application.objects.filter(domain=public, is_unallocated=False).order_by("code")[:2])
    AllocationRule.objects.all().delete()
    # Rows tagged env=dev → apps[0] (priority 10); other AWS rows → apps[1] (priority 20).
    AllocationRule.objects.create(priority=20, field="provider", value="AWS", application=apps[1])
    AllocationRule.objects.create(priority=10, field="tag", tag_key="env", value="dev", application=apps[0],
                                  domain=public)
    # A rule whose application is in another domain never allocates a Public row, whatever its priority.
    private_app = Application.objects.filter(domain__code="private", is_unallocated=False).first()
    AllocationRule.objects.create(priority=1, field="provider", value="AWS", application=private_app)
    run = launch(domains="public")
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    readings = CostReading.objects.filter(domain=public)
    assert not readings.filter(application=private_app).exists()
    # AWS rows tagged dev went to apps[0]: the lower priority number won over the provider rule.
    assert readings.filter(application=apps[0], provider="AWS").exists()
    assert readings.filter(application=apps[0]).exclude(provider="AWS").exists()
    assert not readings.filter(application=apps[1]).exclude(provider="AWS").exists()
    assert readings.filter(application=apps[1]).exists()
    # Everything else is kept, in Public's Unallocated bucket (its own family), never dropped.
    unallocated = readings.filter(application__is_unallocated=True)
    assert unallocated.exists() and not unallocated.filter(provider="AWS").exists()
    assert set(unallocated.values_list("family__is_unallocated", flat=True)) == {True}
    assert readings.count() == _blocks(run)["public"].rows_read


def test_an_attempt_that_lost_its_claim_writes_nothing(sources, finops_admin_user):
    run = run_create(kind="finops_batch", params={"periods": "2026-11", "domains": "open"},
                     owner=finops_admin_user, enqueue=False)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, attempt=1)
    batch = BatchRun.objects.create(run=run, periods=["2026-11"], domains=["open"])
    block = BatchBlock.objects.create(batch=batch, domain=Domain.objects.get(code="open"))

    def reaped_meanwhile(fraction: float) -> None:
        # The reaper ends the run while this attempt is still reading its files.
        Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)

    with pytest.raises(RunFenced):
        block_load(block=block, source=sources, periods=["2026-11"], fence=Fence(run.pk, 1),
                   checkpoint=reaped_meanwhile, check_cancelled=lambda: None, log=lambda m: None)
    assert CostReading.objects.count() == 0
    block.refresh_from_db()
    assert block.status == "RUNNING" and block.rows_inserted == 0


def test_parameters_defaults_and_refusals(sources, finops_admin_user, tmp_path):
    run = run_create(kind="finops_batch", params={}, owner=finops_admin_user, enqueue=False)
    assert run.params["periods"] == default_periods()
    assert run.params["domains"] == ["open", "private", "public", "native"]
    assert run.params["source"] == str(sources.resolve()) and run.seed is None
    for params, field in [
        ({"periods": "2026-13"}, "periods"), ({"domains": "moon"}, "domains"),
        ({"source": str(tmp_path)}, "source"), ({"source": "/etc"}, "source"),
        ({"source": str(sources / "nope")}, "source"),
    ]:
        with pytest.raises(ValidationError) as exc:
            run_create(kind="finops_batch", params=params, owner=finops_admin_user, enqueue=False)
        assert field in exc.value.message_dict


def test_default_periods_are_the_current_and_previous_month():

    assert default_periods(date(2026, 1, 15)) == ["2025-12", "2026-01"]
    assert default_periods(date(2026, 11, 30)) == ["2026-10", "2026-11"]


def test_a_gzip_and_a_parquet_source_give_the_same_readings(finops_dirs, db, launch):

    from finops_admin.generate import generate
    from finops_admin.services.catalogue import catalogue_load

    generate(out=finops_dirs, months=1, applications=12, rows_per_month=300, seed=3,
             last_month=date(2026, 11, 1), fmt="csv.gz")
    catalogue_load(path=finops_dirs / "catalogue.csv")
    run = launch(periods="2026-11")
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    from_gzip = totals()
    for path in finops_dirs.glob("*/*.csv.gz"):
        with gzip.open(path) as handle:
            assert handle.read(10)
        path.unlink()
    generate(out=finops_dirs, months=1, applications=12, rows_per_month=300, seed=3,
             last_month=date(2026, 11, 1), fmt="parquet")
    run = launch(periods="2026-11")
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert totals() == from_gzip


def test_a_cancel_requested_before_the_first_block_writes_nothing(sources, finops_admin_user):
    from runs.services import run_execute

    run = run_create(kind="finops_batch", params={"periods": "2026-11"}, owner=finops_admin_user, enqueue=False)
    Run.objects.filter(pk=run.pk).update(cancel_requested=True)
    run_execute(run_pk=run.pk, worker="test")
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert CostReading.objects.count() == 0
    assert set(BatchBlock.objects.filter(batch__run=run).values_list("status", flat=True)) <= {"SKIPPED"}


def test_a_domain_added_without_its_unallocated_bucket_gets_one(sources, launch):
    moon = Domain.objects.create(code="moon", name="Moon", position=9)
    (sources / "moon").mkdir()
    (sources / "moon" / "focus_moon_2026-11.csv").write_text(
        (sources / "open" / "focus_open_2026-11.csv").read_text())
    run = launch(periods="2026-11", domains="moon")
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    readings = CostReading.objects.filter(domain=moon)
    assert readings.exists() and set(readings.values_list("application__code", flat=True)) == {"unallocated-moon"}
