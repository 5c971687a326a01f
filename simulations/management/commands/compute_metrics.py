"""Every metric of your own book.

python manage.py compute_metrics --positions FILE [--capital FILE] [--regulatory-settings FILE] [--json] [--explain OUT.parquet]
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulations.engine import CapitalFormatError, PositionsFormatError, frame_to_parquet_bytes
from simulations.results import checks, plain
from simulations.user_files import compute_book, load_capital, load_settings


class Command(BaseCommand):
    help = (
        "Compute credit RWA, LCR, NSFR, capital and leverage ratios on a positions file (CSV or Parquet, "
        "see docs/positions_format.md). Without --capital the ratios use the capital instruments of the file. "
        "A bad file is refused naming its row and column. Nothing is stored in the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--positions", required=True, type=Path, help="Positions file, CSV or Parquet.")
        parser.add_argument(
            "--capital", type=Path, help='Capital stack JSON: {"cet1": …, "at1": …, "tier2": …} in EUR.'
        )
        parser.add_argument(
            # Django's own --settings names the settings module: ours are the regulatory ones.
            "--regulatory-settings", dest="regulatory_settings", type=Path,
            help='Regulatory settings JSON, e.g. {"real_estate_approach": "loan_splitting", "as_of_date": '
                 '"2026-01-31"}; missing keys keep their defaults (docs/simulations.md).',
        )
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print every result as JSON.")
        parser.add_argument(
            "--explain", type=Path, metavar="OUT.parquet", help="Write the per-position breakdown here."
        )

    def handle(
        self, *args: Any, positions: Path, capital: Path | None, as_json: bool, explain: Path | None,
        regulatory_settings: Path | None = None, **options: Any,
    ) -> None:
        if not positions.is_file():
            raise CommandError(f"{positions}: no such file")
        if explain is not None and not explain.parent.is_dir():
            raise CommandError(f"--explain {explain}: the folder {explain.parent} does not exist")
        stack = None
        if capital is not None:
            if not capital.is_file():
                raise CommandError(f"{capital}: no such file")
            try:
                stack = load_capital(capital.read_bytes())
            except CapitalFormatError as exc:
                raise CommandError(f"{capital}: {exc}") from None
        regulatory = None
        if regulatory_settings is not None:
            if not regulatory_settings.is_file():
                raise CommandError(f"{regulatory_settings}: no such file")
            try:
                regulatory = load_settings(regulatory_settings.read_bytes())
            except ValueError as exc:
                raise CommandError(f"{regulatory_settings}: {exc}") from None
        try:
            book = compute_book(positions, capital=stack, settings=regulatory)
        except PositionsFormatError as exc:
            raise CommandError(f"{positions}: {exc}") from None

        if explain is not None:
            explain.write_bytes(frame_to_parquet_bytes(book.result.explain))
        if as_json:
            self.stdout.write(json.dumps(book.as_dict(), indent=2, sort_keys=True, allow_nan=False))
        else:
            self._print(book, positions)
        if explain is not None:
            message = f"Per-position breakdown written to {explain} ({book.n_positions:,} rows)"
            self.stderr.write(message, lambda text: text)  # news, not an error: no error colour

    def _print(self, book: Any, path: Path) -> None:
        result = book.result
        summary = plain(result.summary)
        out = self.stdout.write
        out(f"{path}: {book.n_positions:,} positions ({book.format.upper()})")
        cap = book.capital
        out(f"Capital (EUR, from the {book.capital_source}): "
            f"CET1 {cap.cet1:,.2f}, AT1 {cap.at1:,.2f}, Tier 2 {cap.tier2:,.2f}")
        changed = {k: v for k, v in book.settings.to_dict().items()
                   if v != type(book.settings)().to_dict()[k]}
        out("Settings: " + (", ".join(f"{k}={v}" for k, v in changed.items()) + " (others default)"
                            if changed else "defaults"))
        out(f"HQLA counted at: {result.lcr['hqla']['amount_basis']['text']}")
        out(f"Total assets {summary['total_assets']:,.2f}  "
            f"EAD {summary['total_ead']:,.2f}  RWA {summary['total_rwa']:,.2f}")
        out("")
        out(f"{'measure':<20} {'value':>9} {'minimum':>9} {'buffers':>9}  result")
        for row in checks(plain(result.capital), plain(result.lcr), plain(result.nsfr)):
            value = "n/a" if row["value"] is None else f"{row['value']:.2%}"
            buffers = "" if row["with_buffers"] is None else f"{row['with_buffers']:.2%}"
            verdict = "pass" if row["pass_minimum"] and row["pass_buffers"] is not False else (
                "below buffers" if row["pass_minimum"] else "FAIL")
            out(f"{row['measure']:<20} {value:>9} {row['minimum']:>9.2%} {buffers:>9}  {verdict}")
        out("")
        out(f"{'exposure class':<26} {'positions':>10} {'EAD':>20} {'RWA':>20}")
        for row in plain(result.rwa_by_class.to_dict(orient="records")):
            out(f"{row['exposure_class']:<26} {row['count']:>10,} {row['ead']:>20,.2f} {row['rwa']:>20,.2f}")
