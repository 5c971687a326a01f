"""The FinOps demo history of `make run`: a year of batches, some failed, one anomalous, one reprocess."""
from __future__ import annotations

from django.core.management import call_command

from finops_admin.models import BatchRun
from runs.models import Run, RunStatus


def test_demo_history_is_alive_and_made_once(finops_dirs, admin_user, capsys, client_for):
    call_command("finops_bootstrap_demo", "--applications", "16", "--rows-per-month", "200")
    runs = Run.objects.filter(kind="finops_batch")
    assert runs.count() == 14
    assert runs.filter(status=RunStatus.FAILED).count() == 2
    assert runs.filter(trigger="CRON").count() == 12 and runs.filter(trigger="MANUAL").count() == 1
    reprocess = runs.get(trigger="REPROCESS")
    assert reprocess.status == RunStatus.SUCCEEDED and reprocess.parent.status == RunStatus.FAILED
    anomalous = BatchRun.objects.get(is_anomalous=True)
    assert anomalous.anomalies[0].startswith("Public: 0 rows inserted, median")
    # Dated over a year, oldest first, ids following their dates.
    dates = sorted(r.started_at for r in runs)
    assert (dates[-1] - dates[0]).days >= 300
    assert all(r.run_id == f"run_{r.started_at:%Y%m%d}_{r.run_id[-3:]}" for r in runs)
    html = client_for(admin_user).get("/finops/admin/runs/", {"page_size": 50}).content.decode()
    assert html.count('data-run-id="') == 14 and "⚠ anomaly" in html
    call_command("finops_bootstrap_demo")
    assert "exist already" in capsys.readouterr().out and runs.count() == 14
