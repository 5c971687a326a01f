"""Launch a simulation run: python manage.py simulate --positions N --seed S [--in-process] [--no-cache] [--json]."""
from __future__ import annotations

import json
import socket
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from runs.models import Run, RunStatus, RunTrigger
from runs.services import run_create, run_execute
from simulations.services import simulation_in_process

BAR_WIDTH = 30


def _plain(text: str) -> str:
    return text  # progress is not an error: no error colour on stderr


class ProgressBar:
    """A one-line progress bar on a terminal; plain lines, one per step, elsewhere."""

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.message = ""
        self.shown = -1

    def __call__(self, percent: int, message: str = "") -> None:
        percent = max(0, min(100, int(percent)))
        if message:
            self.message = message
        if self.tty:
            done = BAR_WIDTH * percent // 100
            bar = "#" * done + "." * (BAR_WIDTH - done)
            self.stream.write(f"\r[{bar}] {percent:3d}% {self.message[:70]:<70}", _plain, ending="")
            self.stream.flush()
        elif message or percent == 100 and self.shown != 100:
            self.stream.write(f"{percent:3d}% {self.message}", _plain)
        self.shown = percent

    def finish(self) -> None:
        if self.tty:
            self.stream.write("", _plain)
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Launch a simulation run (kind 'simulation'). By default it is queued for a worker and its run id "
        "printed (--wait follows it to the end); --in-process executes it here with a progress bar on stderr "
        "and prints its metrics (as JSON with --json)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--positions", type=int, required=True, help="Number of positions to draw.")
        parser.add_argument("--seed", type=int, default=42, help="Seed of the generator (default 42).")
        parser.add_argument("--total-assets", type=float, help="Total assets of the bank in EUR (default 10bn).")
        parser.add_argument("--derivatives", action="store_true", help="Draw derivatives.")
        parser.add_argument("--no-off-balance", action="store_true", help="Draw no off-balance items.")
        parser.add_argument("--no-cache", action="store_true", help="Force a recompute even if the results are cached.")
        parser.add_argument("--in-process", action="store_true", help="Execute here instead of on a worker.")
        parser.add_argument("--wait", action="store_true", help="Follow a queued run until it ends.")
        parser.add_argument(
            "--timeout", type=float, default=600.0,
            help="With --wait: give up waiting after this many seconds (default 600); the run goes on.",
        )
        parser.add_argument("--json", action="store_true", help="Print the run and its metrics as JSON.")
        parser.add_argument("--tag", action="append", default=[], help="Tag the run (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["timeout"] <= 0:
            raise CommandError("--timeout must be a positive number of seconds")
        params: dict[str, Any] = {
            "seed": options["seed"],
            "n_positions": options["positions"],
            "include_derivatives": options["derivatives"],
            "include_off_balance": not options["no_off_balance"],
            "use_cache": not options["no_cache"],
        }
        if options["total_assets"] is not None:
            params["total_assets_eur"] = options["total_assets"]
        in_process = options["in_process"]
        try:
            run = run_create(
                kind="simulation", params=params, trigger=RunTrigger.MANUAL, owner=None,
                tags=options["tag"], enqueue=not in_process,
            )
        except ValidationError as exc:
            problems = getattr(exc, "message_dict", {"parameters": exc.messages})
            raise CommandError("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in problems.items())) from None

        bar = ProgressBar(self.stderr)
        if in_process:
            with simulation_in_process(listener=bar):
                run_execute(run_pk=run.pk, worker=f"simulate command on {socket.gethostname()}")
            bar.finish()
        elif options["wait"]:
            self.stderr.write(f"{run.run_id} queued; waiting for a worker…")
            self._follow(run, bar, timeout=options["timeout"])
        else:
            self._print_queued(run, options["json"])
            return
        run.refresh_from_db()
        self._print_result(run, options["json"])
        if run.status != RunStatus.SUCCEEDED:
            status = run.get_status_display().lower()
            raise CommandError(f"{run.run_id} {status}: {run.error_message or 'no error recorded'}")

    def _follow(self, run: Run, bar: ProgressBar, *, timeout: float) -> None:
        """Follow the run until it ends; stop after `timeout` seconds, saying where it stands."""
        deadline = time.monotonic() + timeout
        while True:
            status, progress = Run.objects.filter(pk=run.pk).values_list("status", "progress").get()
            bar(progress, status.lower())
            if status not in (RunStatus.PENDING, RunStatus.RUNNING):
                break
            if time.monotonic() >= deadline:
                bar.finish()
                why = (
                    "no worker has taken it yet (is a worker running?)" if status == RunStatus.PENDING
                    else f"it is still running at {progress}%"
                )
                raise CommandError(
                    f"Stopped waiting for {run.run_id} after {timeout:g} s: it is {status} ({why}). "
                    f"It goes on; follow it on /runs/{run.run_id}/."
                )
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        bar.finish()

    def _print_queued(self, run: Run, as_json: bool) -> None:
        run.refresh_from_db()
        if as_json:
            self.stdout.write(json.dumps({"run_id": run.run_id, "status": run.status, "params_hash": run.params_hash}))
            return
        self.stdout.write(f"{run.run_id} {run.get_status_display().lower()} (params hash {run.params_hash[:12]}…)")
        self.stdout.write(f"Follow it on /runs/{run.run_id}/ (launch with --wait to follow it here).")

    def _print_result(self, run: Run, as_json: bool) -> None:
        metrics = run.metrics
        if as_json:
            self.stdout.write(json.dumps(
                {"run_id": run.run_id, "status": run.status, "checksum": run.checksum,
                 "duration_seconds": run.duration_seconds, "metrics": metrics},
                indent=2, sort_keys=True,
            ))
            return
        self.stdout.write(f"{run.run_id} {run.get_status_display().lower()} in {run.duration_seconds or 0:.2f} s")
        if run.status != RunStatus.SUCCEEDED:
            return
        cache = metrics.get("cache", {})
        self.stdout.write(
            f"  cache: {'hit' if cache.get('hit') else 'miss'} (params hash {cache.get('params_hash', '')[:12]}…)"
        )
        self.stdout.write(f"  checksum: {run.checksum}")
        self.stdout.write(f"  positions: {metrics['n_positions']:,}   total RWA: {metrics['total_rwa']:,.0f} EUR")
        for label, key, flag in (
            ("CET1 ratio", "cet1_ratio", "capital_minimums_pass"),
            ("Tier 1 ratio", "tier1_ratio", "capital_minimums_pass"),
            ("Total capital ratio", "total_capital_ratio", "capital_minimums_pass"),
            ("Leverage ratio", "leverage_ratio", "leverage_pass"),
            ("LCR", "lcr", "lcr_pass"),
            ("NSFR", "nsfr", "nsfr_pass"),
        ):
            value = metrics.get(key)
            shown = "n/a" if value is None else f"{value:.2%}"
            self.stdout.write(f"  {label:<20} {shown:>9}  {'pass' if metrics.get(flag) else 'FAIL'}")
