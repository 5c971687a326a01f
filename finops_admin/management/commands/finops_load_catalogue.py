"""Load the FinOps catalogue from a CSV file: python manage.py finops_load_catalogue FILE."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from finops_admin.services.catalogue import CatalogueError, catalogue_load


class Command(BaseCommand):
    help = ("Create or update domains, families, applications and allocation rules from a CSV file "
            "(idempotent; all or nothing: the first bad line is named and nothing is written).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = catalogue_load(path=options["file"])
        except CatalogueError as exc:
            raise CommandError(f"{options['file']}: {exc}; nothing loaded") from None
        self.stdout.write(f"Catalogue loaded from {options['file']}: {summary}")
