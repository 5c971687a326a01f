"""Reprocess a past FinOps batch: python manage.py finops_reprocess RUN_ID [--preview] [--in-process]."""
from __future__ import annotations

import socket
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from finops_admin.services.reprocess import batch_reprocess
from runs.models import Run, RunStatus
from runs.services import run_execute


class Command(BaseCommand):
    help = (
        "Run a past FinOps batch's periods and domains again, as a new run (trigger REPROCESS, parent link). "
        "--preview only prints the readings that would be replaced, per period and domain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id", help="The batch run to reprocess, e.g. run_20261130_004.")
        parser.add_argument("--preview", action="store_true", help="Say what would be replaced; launch nothing.")
        parser.add_argument("--in-process", action="store_true", help="Execute here instead of on a worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        run = Run.objects.filter(run_id=options["run_id"]).first()
        if run is None:
            raise CommandError(f"No such run: {options['run_id']}")
        in_process = options["in_process"] and not options["preview"]
        try:
            # In process: stored without a task message, this process executes it.
            plan = batch_reprocess(run=run, actor=None, preview=options["preview"], enqueue=not in_process)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"{'Would replace' if plan.run is None else 'Replaces'} {plan.total} reading(s) "
                          f"of {run.run_id} (source {plan.source}):")
        for line in plan.replaced:
            self.stdout.write(f"  {line.period}  {line.domain:<10} {line.rows:>10}")
        if plan.run is None:
            return
        new = plan.run
        if in_process:
            run_execute(run_pk=new.pk, worker=f"finops_reprocess command on {socket.gethostname()}")
            new.refresh_from_db()
            self.stdout.write(f"{new.run_id} {new.get_status_display().lower()} (reprocess of {run.run_id})")
            if new.status != RunStatus.SUCCEEDED:
                raise CommandError(f"{new.run_id}: {new.error_message or 'failed'}")
        else:
            self.stdout.write(f"{new.run_id} queued (reprocess of {run.run_id}); "
                              f"follow it on /finops/admin/runs/{new.run_id}/")
