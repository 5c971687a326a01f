"""Check every run's stored result bytes against its checksums: python manage.py verify_checksums [--fix]."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs.models import Run
from runs.selectors.checksums import PROBLEM_RUN_CHECKSUM_MISSING, runs_verify_checksums
from runs.services.manage import runs_fix_missing_checksums


class Command(BaseCommand):
    help = (
        "Re-hash the stored result bytes of every finished run: each artifact against its own SHA-256 and "
        "each run against its checksum. Lists every mismatch by run and artifact, names imported runs (their "
        "bytes are intact as imported, not computed here) and cache entries not computed by this installation, "
        "prints a summary line, and fails (exit code 1) when a mismatch or an untrusted cache entry remains."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_ids", nargs="*", metavar="RUN_ID", help="Only these runs (default: every run).")
        parser.add_argument(
            "--fix", action="store_true",
            help="Record the checksum of runs that have none. Never touches a run whose bytes changed.",
        )

    def handle(self, *args: Any, run_ids: list[str], fix: bool, **options: Any) -> None:
        if run_ids:
            unknown = sorted(set(run_ids) - set(Run.objects.filter(run_id__in=run_ids).values_list("run_id", flat=True)))
            if unknown:
                raise CommandError(f"No such run: {', '.join(unknown)}")
        report = runs_verify_checksums(run_ids=run_ids or None)
        fixed = set(runs_fix_missing_checksums(report=report)) if fix else set()
        remaining = []
        for mismatch in report.mismatches:
            if mismatch.run_id in fixed and mismatch.problem == PROBLEM_RUN_CHECKSUM_MISSING:
                self.stdout.write(f"FIXED     {mismatch.message}")
            else:
                remaining.append(mismatch)
                self.stdout.write(f"MISMATCH  {mismatch.message}")
        bad = {m.run_id for m in report.mismatches}
        for run_id in report.imported:
            if run_id not in bad:
                self.stdout.write(
                    f"IMPORTED  {run_id}: bytes intact as imported; not computed by this installation, "
                    "never cached nor served to other runs"
                )
        for problem in report.untrusted:
            self.stdout.write(f"UNTRUSTED {problem}")
        summary = (
            f"Checked {report.runs_checked} run(s), {report.artifacts_checked} artifact(s): "
            f"{len(remaining)} mismatch(es)" + (f", {len(fixed)} missing checksum(s) recorded" if fixed else "")
            + (f", {len(report.imported)} imported run(s)" if report.imported else "")
            + (f", {len(report.untrusted)} untrusted cache entr(ies)" if report.untrusted else "") + "."
        )
        if remaining or report.untrusted:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
