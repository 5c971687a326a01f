"""Delete old runs for cron: python manage.py cleanup_runs --days N [--dry-run]."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs.selectors.cleanup import CLEANUP_MAX_DAYS, CLEANUP_MIN_DAYS, cleanup_plan
from runs.services.manage import CleanupPlanStale, runs_cleanup
from runs.wording import size_text


class Command(BaseCommand):
    help = (
        "Delete finished runs older than --days (7 to 365) with their logs and artifacts, except any user's favourites, "
        "runs in a saved comparison and parents of a run that stays. Prints every run deleted with its size "
        "and every old run kept with the reason, then a summary line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, required=True,
            help=f"Delete runs created more than this many days ago ({CLEANUP_MIN_DAYS} to {CLEANUP_MAX_DAYS}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="List what would be deleted; delete nothing.")

    def handle(self, *args: Any, days: int, dry_run: bool, **options: Any) -> None:
        try:
            plan = cleanup_plan(days=days)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        verb = "would delete" if dry_run else "delete"
        self.stdout.write(f"Runs created before {plan.cutoff:%Y-%m-%d %H:%M} ({plan.days} days):")
        for candidate in plan.to_delete:
            self.stdout.write(
                f"  {verb:<12} {candidate.run_id}  {size_text(candidate.size_bytes)}  created {candidate.created_at:%Y-%m-%d}"
            )
        for kept in plan.kept:
            self.stdout.write(f"  {'keep':<12} {kept.run_id}  {kept.reason}")
        size = size_text(plan.total_bytes)
        if dry_run:
            self.stdout.write(
                f"Dry run: {len(plan.to_delete)} run(s) would be deleted, {size}; {len(plan.kept)} old run(s) kept."
            )
            return
        try:
            deleted = runs_cleanup(days=plan.days, run_ids=plan.run_ids, actor=None)
        except CleanupPlanStale as exc:
            raise CommandError(exc.messages[0]) from None
        self.stdout.write(
            self.style.SUCCESS(f"Deleted {len(deleted)} run(s), {size}; {len(plan.kept)} old run(s) kept.")
        )
