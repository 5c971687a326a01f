"""Write realistic FOCUS exports and their catalogue: python manage.py finops_generate_sources …"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from finops_admin.generate import generate


class Command(BaseCommand):
    help = ("Write FOCUS cost exports for the four domains (one sub-folder per domain, one file per month) "
            "with seasonality, growth and a few spikes, and the matching catalogue.csv for finops_load_catalogue.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--months", type=int, default=13)
        parser.add_argument("--applications", type=int, default=300)
        parser.add_argument("--rows-per-month", type=int, default=20000, help="Rows per month over all domains.")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--out", type=Path, default=None, help="Default: the FINOPS_SOURCE_DIR setting.")
        parser.add_argument("--last-month", default=None, help="YYYY-MM of the newest file (default: this month).")
        parser.add_argument("--missing-month", default=None, help="YYYY-MM to leave out (no file for it).")
        parser.add_argument("--format", choices=["csv", "csv.gz", "parquet"], default="csv")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("months", "applications", "rows_per_month"):
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
        if options["months"] > 120:
            raise CommandError("--months must be at most 120")
        for name in ("last_month", "missing_month"):
            if options[name] and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", options[name]):
                raise CommandError(f"--{name.replace('_', '-')} must be a month YYYY-MM, not {options[name]!r}")
        today = date.today()
        last = date.fromisoformat(f"{options['last_month']}-01") if options["last_month"] else today.replace(day=1)
        out = options["out"] or Path(settings.FINOPS_SOURCE_DIR)
        result = generate(
            out=out, months=options["months"], applications=options["applications"],
            rows_per_month=options["rows_per_month"], seed=options["seed"], last_month=last,
            missing_month=options["missing_month"], fmt=options["format"],
        )
        self.stdout.write(
            f"Wrote {len(result['files'])} files ({result['rows']} rows, {result['periods'][0]} to "
            f"{result['periods'][-1]}) and {out / 'catalogue.csv'} under {out}"
        )
