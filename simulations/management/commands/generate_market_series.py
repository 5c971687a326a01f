"""Generate the regime-switching market series as a dataset: manage.py generate_market_series --days N --seed S."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulations.training.datasets import dataset_generate_market

MAX_DAYS = 2_000_000


class Command(BaseCommand):
    help = (
        "Generate daily returns from a seeded calm/volatile/crisis Markov chain with GARCH(1,1)-type variance per "
        "regime (docs/training.md), recording the true regime and conditional variance of each day; store it as a "
        "dataset and print its id and SHA-256."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, required=True, help=f"Days to draw (100 to {MAX_DAYS:,}).")
        parser.add_argument("--seed", type=int, default=42, help="Seed of the generator (default 42).")
        parser.add_argument("--name", default="", help="Dataset name (default: describes days and seed).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 100 <= options["days"] <= MAX_DAYS:
            raise CommandError(f"--days must be between 100 and {MAX_DAYS:,}")
        if options["seed"] < 0:
            raise CommandError("--seed must be zero or positive")
        try:
            dataset = dataset_generate_market(days=options["days"], seed=options["seed"], name=options["name"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"dataset {dataset.pk}: {dataset.name}, {dataset.rows:,} rows, sha256 {dataset.sha256}")
