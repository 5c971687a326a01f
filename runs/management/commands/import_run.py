"""Import a run from a JSON export, a bundle (zip) or a Parquet file of results."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs.services.exchange import ExchangeRefused, ImportConflict, run_import
from runs.services.exchange_bulk import BulkImportRefused, runs_import_bulk


class Command(BaseCommand):
    help = (
        "Import a run: a JSON export or a bundle keeps the run's id (refused if it is already here, "
        "unless --as-new); a Parquet file becomes a new run of --kind. For operators: the run gets no owner."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The file to import, or - for stdin.")
        parser.add_argument("--as-new", action="store_true", help="Import a copy under a fresh run id (trigger IMPORT).")
        parser.add_argument("--kind", default=None, help="Run kind of a Parquet file (required for Parquet).")
        parser.add_argument(
            "--bulk", action="store_true",
            help="Many runs in one file: JSON lines (one run document per line) or a zip of bundles. "
                 "Runs already here are skipped; each batch is all or nothing.",
        )
        parser.add_argument("--batch-size", type=int, default=None, help="Runs per transaction with --bulk.")

    def handle(self, *args: Any, path: str, as_new: bool, kind: str | None, **options: Any) -> None:
        if options.get("bulk"):
            if as_new or kind:
                raise CommandError("--bulk keeps each run's identity and takes no --as-new or --kind.")
            self._bulk(path, options.get("batch_size"))
            return
        if path == "-":
            result = self._import(sys.stdin.buffer, as_new=as_new, kind=kind, filename="")
        else:
            source = Path(path)
            if not source.is_file():
                raise CommandError(f"No file {path}.")
            with source.open("rb") as fh:
                result = self._import(fh, as_new=as_new, kind=kind, filename=source.name)
        self.stdout.write(result.summary)

    def _import(self, fh: Any, **kwargs: Any) -> Any:
        try:
            return run_import(file=fh, actor=None, **kwargs)
        except ImportConflict as exc:
            raise CommandError(f"{exc.message} Use --as-new to import a copy.") from None
        except ExchangeRefused as exc:
            raise CommandError(f"Import refused: {exc.message}") from None

    def _bulk(self, path: str, batch_size: int | None) -> None:
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            if path == "-":
                result = runs_import_bulk(file=sys.stdin.buffer, actor=None, batch_size=batch_size)
            else:
                source = Path(path)
                if not source.is_file():
                    raise CommandError(f"No file {path}.")
                with source.open("rb") as fh:
                    result = runs_import_bulk(file=fh, actor=None, filename=source.name, batch_size=batch_size)
        except BulkImportRefused as exc:
            raise CommandError(f"Import refused: {exc.message}") from None
        except ExchangeRefused as exc:
            raise CommandError(f"Import refused: {exc.message}") from None
        self.stdout.write(result.summary)
