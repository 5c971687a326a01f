"""Launch a training run: manage.py train_model --type pd_gbm --dataset ID [--in-process] [--wait --timeout S]."""
from __future__ import annotations

import json
import socket
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs.models import RunStatus, RunTrigger
from runs.services import run_create, run_execute
from simulations.management.commands.simulate import Command as SimulateCommand, ProgressBar
from simulations.training.fit import MODEL_TYPES


class Command(BaseCommand):
    help = (
        "Launch a training run (kind 'training') of a model type on a stored dataset. By default it is queued for a "
        "worker and its run id printed (--wait follows it to the end); --in-process trains here and prints the "
        "held-out metrics (as JSON with --json)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--type", required=True, choices=sorted(MODEL_TYPES), help="Model type.")
        parser.add_argument("--dataset", type=int, required=True, help="Dataset id.")
        parser.add_argument("--dataset-sha256", default="", help="Checksum the dataset must have (default: its own).")
        parser.add_argument("--target", default="", help="Target column (default: the model type's usual one).")
        parser.add_argument("--features", default="", help="Comma-separated feature columns (default: the usual ones).")
        parser.add_argument("--hyperparameters", default="{}", help='JSON object, e.g. \'{"max_iter": 200}\'.')
        parser.add_argument("--split", default="0.6,0.2,0.2", help="Train,validation,test fractions (default 0.6,0.2,0.2).")
        parser.add_argument("--seed", type=int, default=42, help="Seed of the split and the fit (default 42).")
        parser.add_argument("--in-process", action="store_true", help="Train here instead of on a worker.")
        parser.add_argument("--wait", action="store_true", help="Follow a queued run until it ends.")
        parser.add_argument("--timeout", type=float, default=600.0,
                            help="With --wait: give up waiting after this many seconds (default 600); the run goes on.")
        parser.add_argument("--json", action="store_true", help="Print the run and its metrics as JSON.")
        parser.add_argument("--tag", action="append", default=[], help="Tag the run (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["timeout"] <= 0:
            raise CommandError("--timeout must be a positive number of seconds")
        try:
            hyper = json.loads(options["hyperparameters"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--hyperparameters is not JSON: {exc}") from None
        try:
            fractions = [float(x) for x in options["split"].split(",")]
        except ValueError:
            raise CommandError("--split must be three numbers, e.g. 0.6,0.2,0.2") from None
        if len(fractions) != 3:
            raise CommandError("--split must be three numbers, e.g. 0.6,0.2,0.2")
        params = {
            "model_type": options["type"], "dataset": options["dataset"], "dataset_sha256": options["dataset_sha256"],
            "target": options["target"], "features": options["features"], "hyperparameters": hyper,
            "train_fraction": fractions[0], "validation_fraction": fractions[1], "test_fraction": fractions[2],
            "seed": options["seed"],
        }
        in_process = options["in_process"]
        try:
            run = run_create(kind="training", params=params, trigger=RunTrigger.MANUAL, owner=None,
                             tags=options["tag"], enqueue=not in_process)
        except ValidationError as exc:
            problems = getattr(exc, "message_dict", {"parameters": exc.messages})
            raise CommandError("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in problems.items())) from None
        bar = ProgressBar(self.stderr)
        if in_process:
            run_execute(run_pk=run.pk, worker=f"train_model command on {socket.gethostname()}")
            bar(100)
            bar.finish()
        elif options["wait"]:
            self.stderr.write(f"{run.run_id} queued; waiting for a worker…")
            SimulateCommand._follow(self, run, bar, timeout=options["timeout"])
        else:
            run.refresh_from_db()
            self.stdout.write(f"{run.run_id} {run.get_status_display().lower()}; follow it on /runs/{run.run_id}/")
            return
        run.refresh_from_db()
        self._print(run, options["json"])
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"{run.run_id} {run.get_status_display().lower()}: {run.error_message or 'no error recorded'}")

    def _print(self, run: Any, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps({"run_id": run.run_id, "status": run.status, "checksum": run.checksum,
                                         "duration_seconds": run.duration_seconds, "metrics": run.metrics},
                                        indent=2, sort_keys=True))
            return
        self.stdout.write(f"{run.run_id} {run.get_status_display().lower()} in {run.duration_seconds or 0:.2f} s")
        for key, value in sorted(run.metrics.items()):
            if not isinstance(value, (dict, list)):
                self.stdout.write(f"  {key:<36} {value}")
