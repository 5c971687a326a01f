"""Launch a FinOps batch: python manage.py finops_ingest [--periods …] [--domains …] [--source DIR] [--in-process]."""
from __future__ import annotations

import json
import socket
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from finops_admin.models import BatchRun
from finops_admin.services.batch import finops_in_process
from runs.models import Run, RunStatus, RunTrigger
from runs.services import run_create, run_execute


class Command(BaseCommand):
    help = (
        "Launch a FinOps batch run (kind 'finops_batch'): by default queued for a worker (--wait follows it); "
        "--in-process executes it here with a progress bar on stderr. Periods default to the current month "
        "and the previous one; domains to all; the source to FINOPS_SOURCE_DIR."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--periods", default="", help="Months YYYY-MM separated by commas.")
        parser.add_argument("--domains", default="", help="Domain codes separated by commas (default: all).")
        parser.add_argument("--source", default="", help="Folder with one sub-folder per domain.")
        parser.add_argument("--in-process", action="store_true", help="Execute here instead of on a worker.")
        parser.add_argument("--wait", action="store_true", help="Follow a queued run until it ends.")
        parser.add_argument("--timeout", type=float, default=3600.0, help="With --wait: stop waiting after this.")
        parser.add_argument("--json", action="store_true", help="Print the run and its blocks as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        params = {"periods": options["periods"], "domains": options["domains"], "source": options["source"]}
        in_process = options["in_process"]
        try:
            run = run_create(kind="finops_batch", params=params, trigger=RunTrigger.MANUAL, owner=None,
                             enqueue=not in_process)
        except ValidationError as exc:
            problems = getattr(exc, "message_dict", {"parameters": exc.messages})
            raise CommandError("; ".join(f"{f}: {' '.join(m)}" for f, m in problems.items())) from None
        bar = _bar(self.stderr)
        if in_process:
            with finops_in_process(listener=bar):
                run_execute(run_pk=run.pk, worker=f"finops_ingest command on {socket.gethostname()}")
            bar.finish()
        elif options["wait"]:
            self.stderr.write(f"{run.run_id} queued; waiting for a worker…")
            deadline = time.monotonic() + options["timeout"]
            while True:
                status, progress = Run.objects.filter(pk=run.pk).values_list("status", "progress").get()
                bar(progress, status.lower())
                if status not in (RunStatus.PENDING, RunStatus.RUNNING):
                    break
                if time.monotonic() > deadline:
                    bar.finish()
                    raise CommandError(f"Stopped waiting for {run.run_id}: it is {status}; it goes on.")
                time.sleep(0.5)
            bar.finish()
        else:
            self.stdout.write(f"{run.run_id} queued; follow it on /runs/{run.run_id}/ (or launch with --wait).")
            return
        run.refresh_from_db()
        self._print(run, options["json"])
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"{run.run_id} {run.get_status_display().lower()}: {run.error_message or 'no error recorded'}")

    def _print(self, run: Run, as_json: bool) -> None:
        batch = BatchRun.objects.filter(run=run).first()
        blocks = list(batch.blocks.select_related("domain")) if batch else []
        if as_json:
            self.stdout.write(json.dumps({
                "run_id": run.run_id, "status": run.status, "duration_seconds": run.duration_seconds,
                "periods": run.params.get("periods"),
                "blocks": [{"domain": b.domain.code, "status": b.status, "files_read": b.files_read,
                            "rows_read": b.rows_read, "rows_inserted": b.rows_inserted,
                            "rows_deleted": b.rows_deleted, "rows_rejected": b.rows_rejected,
                            "errors": b.errors[:5]} for b in blocks],
                "views_refreshed": batch.views_refreshed if batch else 0,
            }, indent=2))
            return
        self.stdout.write(f"{run.run_id} {run.get_status_display().lower()} in {run.duration_seconds or 0:.2f} s "
                          f"(periods {', '.join(run.params.get('periods', []))})")
        for b in blocks:
            line = (f"  {b.domain.name:<8} {b.status:<9} {b.files_read} file(s), {b.rows_read} read, "
                    f"{b.rows_inserted} inserted, {b.rows_deleted} replaced, {b.rows_rejected} refused")
            if b.errors:
                e = b.errors[0]
                line += f"; first error: {e.get('file')} row {e.get('row')} column {e.get('column')}: {e.get('reason')}"
            self.stdout.write(line)
        if batch:
            self.stdout.write(f"  {batch.views_refreshed} aggregate(s) refreshed")


class _Bar:
    """A one-line progress bar on a terminal; one plain line per step elsewhere."""

    WIDTH = 30

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.message = ""
        self.shown = -1

    def __call__(self, percent: int, message: str = "") -> None:
        percent = max(0, min(100, int(percent)))
        if message:
            self.message = message
        if self.tty:
            done = self.WIDTH * percent // 100
            bar = "#" * done + "." * (self.WIDTH - done)
            self.stream.write(f"\r[{bar}] {percent:3d}% {self.message[:70]:<70}", lambda t: t, ending="")
            self.stream.flush()
        elif message or (percent == 100 and self.shown != 100):
            self.stream.write(f"{percent:3d}% {self.message}", lambda t: t)
        self.shown = percent

    def finish(self) -> None:
        if self.tty:
            self.stream.write("", lambda t: t)
        self.stream.flush()


def _bar(stream) -> _Bar:
    return _Bar(stream)
