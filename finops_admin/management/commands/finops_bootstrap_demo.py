"""A year of FinOps batch history for a first look: python manage.py finops_bootstrap_demo.

Generates FOCUS sources for 13 months into FINOPS_SOURCE_DIR, loads their catalogue, then
executes one real batch per month (here, in this process) and dates each one on the 1st of
its month, as the monthly schedule would have. Along the way, as operators see in real life:
a month whose Public file has a bad cost (its block FAILED, then the file fixed and the run
reprocessed), a month whose Public export was late (0 rows inserted: flagged as an anomaly),
and a manual run whose Native file lacks a required column (FAILED, left as it is).
Does nothing when a FinOps batch run exists already.
"""
from __future__ import annotations

import shutil
import socket
import time
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db.models import F
from django.utils import timezone

from finops_admin.generate import generate
from finops_admin.models import AggregateRefresh, BatchBlock
from finops_admin.services.catalogue import catalogue_load
from finops_admin.services.reprocess import batch_reprocess
from runs.models import Run, RunLog, RunTrigger
from runs.services import run_create, run_execute

MONTHS = 12


def _month_add(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


class Command(BaseCommand):
    help = "Generate FinOps sources and a catalogue, and execute about a year of batch history (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--applications", type=int, default=60)
        parser.add_argument("--rows-per-month", type=int, default=800)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, **options: Any) -> None:
        if Run.objects.filter(kind="finops_batch").exists():
            self.stdout.write("FinOps batch runs exist already; no FinOps demo history created.")
            return
        t0 = time.monotonic()
        source = Path(settings.FINOPS_SOURCE_DIR)
        this_month = timezone.now().date().replace(day=1)
        first = _month_add(this_month, -MONTHS)
        if not (source / "catalogue.csv").exists():
            source.mkdir(parents=True, exist_ok=True)
            generate(out=source, months=MONTHS + 1, applications=options["applications"],
                     rows_per_month=options["rows_per_month"], seed=options["seed"], last_month=this_month)
        catalogue_load(path=source / "catalogue.csv")
        owner = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
        worker = f"finops_bootstrap_demo on {socket.gethostname()}"
        broken = source.parent / "demo-broken"
        shutil.rmtree(broken, ignore_errors=True)

        for i in range(1, MONTHS + 1):
            month = _month_add(first, i)
            periods = [f"{_month_add(month, -1):%Y-%m}", f"{month:%Y-%m}"]
            when = datetime(month.year, month.month, 1, 3, 0, tzinfo=dt_timezone.utc)
            params: dict[str, Any] = {"periods": ",".join(periods), "domains": "", "source": str(source)}
            hidden: list[tuple[Path, Path]] = []
            if i == 4:
                # A bad cost in this month's Public file: its block fails, the others load.
                shutil.copytree(source, broken)
                _corrupt_cost(_file(broken, "public", periods[1]))
                params["source"] = str(broken)
            if i == 8:
                # Public's export for these months is late: the block finds no file and inserts nothing.
                for period in periods:
                    path = _file(source, "public", period)
                    if path is not None:
                        hidden.append((path, path.with_suffix(path.suffix + ".late")))
                for path, aside in hidden:
                    path.rename(aside)
            try:
                run = self._execute(params, RunTrigger.CRON, None, worker)
            finally:
                for path, aside in hidden:
                    aside.rename(path)
            _date(run, when)
            self.stdout.write(f"  {run.run_id} {run.status:<9} {', '.join(periods)}")
            if i == 4:
                # The file fixed, the failed run is reprocessed the same morning.
                shutil.copy(_file(source, "public", periods[1]), _file(broken, "public", periods[1]))
                plan = batch_reprocess(run=run, actor=None, enqueue=False)
                run_execute(run_pk=plan.run.pk, worker=worker)
                again = Run.objects.get(pk=plan.run.pk)
                if owner is not None:
                    Run.objects.filter(pk=again.pk).update(owner=owner)
                _date(again, when + timedelta(hours=5))
                self.stdout.write(f"  {again.run_id} {again.status:<9} reprocess of {run.run_id}")
            if i == 10:
                # A manual run over a Native file without its BillingCurrency column: FAILED, left as it is.
                shutil.rmtree(broken, ignore_errors=True)
                shutil.copytree(source, broken)
                _drop_column(_file(broken, "native", periods[1]), "BillingCurrency")
                manual = self._execute({"periods": periods[1], "domains": "native,public", "source": str(broken)},
                                       RunTrigger.MANUAL, owner, worker)
                _date(manual, when + timedelta(days=2, hours=7))
                self.stdout.write(f"  {manual.run_id} {manual.status:<9} manual, {periods[1]}")
        shutil.rmtree(broken, ignore_errors=True)
        self.stdout.write(f"FinOps demo history ready in {time.monotonic() - t0:.1f} s: /finops/admin/runs/")

    def _execute(self, params: dict[str, Any], trigger: str, owner: Any, worker: str) -> Run:
        run = run_create(kind="finops_batch", params=params, trigger=trigger, owner=owner, enqueue=False)
        run_execute(run_pk=run.pk, worker=worker)
        return Run.objects.get(pk=run.pk)


def _file(folder: Path, domain: str, period: str) -> Path | None:
    found = sorted((folder / domain).glob(f"*{period}*"))
    return found[0] if found else None


def _corrupt_cost(path: Path | None) -> None:
    if path is None:
        return
    lines = path.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    index = header.index('"BilledCost"')
    cells = lines[3].split(",")
    cells[index] = '"n/a"'
    lines[3] = ",".join(cells)
    path.write_text("".join(lines))


def _drop_column(path: Path | None, column: str) -> None:
    if path is None:
        return
    lines = path.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace(f'"{column}",', "", 1)
    path.write_text("".join(lines))


def _date(run: Run, when: datetime) -> None:
    """Move a finished demo run, with its log lines, blocks and refreshes, to `when` (its id follows)."""
    delta = when - (run.started_at or run.created_at)
    Run.objects.filter(pk=run.pk).update(
        created_at=F("created_at") + delta, queued_at=when - timedelta(seconds=1), started_at=F("started_at") + delta,
        finished_at=F("finished_at") + delta, heartbeat_at=F("heartbeat_at") + delta,
    )
    RunLog.objects.filter(run=run).update(created_at=F("created_at") + delta)
    BatchBlock.objects.filter(batch__run=run).update(started_at=F("started_at") + delta,
                                                     finished_at=F("finished_at") + delta)
    AggregateRefresh.objects.filter(batch__run=run).update(started_at=F("started_at") + delta,
                                                           finished_at=F("finished_at") + delta)
    number = 1
    while Run.objects.filter(run_id=f"run_{when:%Y%m%d}_{number:03d}").exists():
        number += 1
    Run.objects.filter(pk=run.pk).update(run_id=f"run_{when:%Y%m%d}_{number:03d}")
    run.refresh_from_db()
