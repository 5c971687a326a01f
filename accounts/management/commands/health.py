"""Run every health check; exit 1 when one is red (for cron and probes).

python manage.py health [--json] [--liveness]
"""
from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.console import health


class Command(BaseCommand):
    help = "Run the health checks (database, cache, broker, workers, beat, reaper, …); exit 1 if one is red."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument("--liveness", action="store_true", help="Only the checks /healthz uses (database, cache).")

    def handle(self, *args: Any, json: bool = False, liveness: bool = False, **options: Any) -> None:
        report = health.health_report(liveness_only=liveness)
        if json:
            self.stdout.write(_json.dumps(report, indent=2, default=str))
        else:
            for check in report["checks"]:
                self.stdout.write(f"{check['status'].upper():6} {check['label']}: {check['why']}")
            self.stdout.write(f"overall: {report['status']}")
        if report["status"] == health.RED:
            # A non-zero exit, without a traceback: what cron and probes look at.
            sys.exit(1)


_json = json
