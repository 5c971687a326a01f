"""Anomalies: a batch whose duration, or a block whose volume, departs from the median of comparable runs."""
from __future__ import annotations

import pytest

from finops_admin.models import BatchBlock, BatchRun
from finops_admin.services.anomalies import anomalies_of, batch_anomalies_flag, comparable_runs, human_count
from runs.models import Run, RunStatus
from runs.services import run_create


@pytest.fixture
def launch(finops_admin_user, django_capture_on_commit_callbacks):
    def _launch(**params) -> Run:
        params.setdefault("periods", "2026-11")
        with django_capture_on_commit_callbacks(execute=True):
            run = run_create(kind="finops_batch", params=params, owner=finops_admin_user)
        run.refresh_from_db()
        return run

    return _launch


def test_human_counts():
    assert human_count(250_000) == "250k" and human_count(1_200_000) == "1.2M" and human_count(0) == "0"


def test_a_block_with_no_rows_is_flagged_at_the_end_of_its_batch(sources, launch):
    history = [launch(domains="open,public") for _ in range(3)]
    assert all(r.status == RunStatus.SUCCEEDED and not r.finops_batch.is_anomalous for r in history)
    usual = history[0].finops_batch.blocks.get(domain__code="public").rows_inserted
    (sources / "public" / "focus_public_2026-11.csv").unlink()  # this month's Public export never arrived
    run = launch(domains="open,public")
    batch = BatchRun.objects.get(run=run)
    assert run.status == RunStatus.SUCCEEDED
    assert batch.is_anomalous
    assert batch.anomalies == [f"Public: 0 rows inserted, median {human_count(usual)}"]
    assert any("Anomaly: Public: 0 rows inserted" in m for m in run.logs.values_list("message", flat=True))


def test_too_little_history_flags_nothing(sources, launch):
    launch(domains="open,public")
    launch(domains="open,public")
    (sources / "public" / "focus_public_2026-11.csv").unlink()
    run = launch(domains="open,public")
    assert not BatchRun.objects.get(run=run).is_anomalous


def test_only_runs_over_the_same_domains_compare(sources, launch):
    others = [launch(domains="open") for _ in range(3)]
    run = launch(domains="open,public")
    assert comparable_runs(run=run, domains=["open", "public"]) == []
    assert {r.pk for r in comparable_runs(run=others[-1], domains=["open"])} == {others[0].pk, others[1].pk}


def test_duration_far_from_the_median_is_flagged_with_its_ratio(sources, launch, settings):
    history = [launch(domains="open") for _ in range(4)]
    Run.objects.filter(pk__in=[r.pk for r in history]).update(duration_seconds=2.0)
    run = history[-1]
    blocks = list(BatchBlock.objects.filter(batch__run=run).select_related("domain"))
    # history of `run`: the three runs before it, each 2 s.
    assert anomalies_of(run=run, duration=8.2, blocks=blocks) == ["duration 4.1× the median of the last 3"]
    assert anomalies_of(run=run, duration=5.0, blocks=blocks) == []  # within the factor of 3
    settings.FINOPS_ANOMALY_FACTOR = 2.0
    assert anomalies_of(run=run, duration=5.0, blocks=blocks) == ["duration 2.5× the median of the last 3"]
    settings.FINOPS_ANOMALY_LOOKBACK = 2
    assert comparable_runs(run=run, domains=["open"]) == [history[2], history[1]]
    # Recording: the flag and its reasons on the batch row.
    Run.objects.filter(pk=run.pk).update(duration_seconds=9.0)
    run.refresh_from_db()
    settings.FINOPS_ANOMALY_LOOKBACK = 10
    assert batch_anomalies_flag(run=run) == ["duration 4.5× the median of the last 3"]
    assert BatchRun.objects.get(run=run).anomalies == ["duration 4.5× the median of the last 3"]


def test_a_failed_run_is_not_history(sources, launch):
    for _ in range(3):
        launch(domains="open")
    (sources / "open" / "focus_2026-11.csv").write_text("")
    failed = launch(domains="open")
    assert failed.status == RunStatus.FAILED
    later = launch(domains="open", periods="2026-10")
    assert failed not in comparable_runs(run=later, domains=["open"])
