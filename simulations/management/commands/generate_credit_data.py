"""Generate the credit book with default outcomes as a dataset: manage.py generate_credit_data --rows N --seed S."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulations.training.datasets import dataset_generate_credit

MAX_ROWS = 20_000_000


class Command(BaseCommand):
    help = (
        "Generate a credit book (rating, LTV, DTI, maturity, sector, exposure class, macro factor) with a default "
        "flag drawn from the documented logistic model (docs/training.md); store it as a dataset and print its id "
        "and SHA-256. Same rows and seed, same bytes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, required=True, help=f"Borrowers to draw (1 to {MAX_ROWS:,}).")
        parser.add_argument("--seed", type=int, default=42, help="Seed of the generator (default 42).")
        parser.add_argument("--name", default="", help="Dataset name (default: describes rows and seed).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["rows"] <= MAX_ROWS:
            raise CommandError(f"--rows must be between 1 and {MAX_ROWS:,}")
        if options["seed"] < 0:
            raise CommandError("--seed must be zero or positive")
        try:
            dataset = dataset_generate_credit(rows=options["rows"], seed=options["seed"], name=options["name"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"dataset {dataset.pk}: {dataset.name}, {dataset.rows:,} rows, sha256 {dataset.sha256}")
