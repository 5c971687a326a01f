"""Export a run to a file (or stdout) as JSON, Parquet or a bundle."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs.models import Run
from runs.services.exchange import EXPORT_FORMATS, ExchangeRefused, run_export

EXTENSIONS = {"json": ".json", "parquet": ".parquet", "bundle": ".zip"}


class Command(BaseCommand):
    help = (
        "Export a finished run as JSON (metadata, logs, results), Parquet (its results) or a bundle (zip). "
        "For operators: any run may be exported, as no particular user."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id", help="The run's id (run_20261121_001) or UUID.")
        parser.add_argument("--format", dest="fmt", choices=EXPORT_FORMATS, default="json")
        parser.add_argument(
            "--output", "-o", default=None,
            help="File to write, or - for stdout. Default: <run_id>.json|.parquet|.zip in the current directory.",
        )
        parser.add_argument("--artifact", default=None, help="Parquet only: which Parquet result (default: the first by name).")
        parser.add_argument("--force", action="store_true", help="Overwrite the output file if it exists.")

    def handle(self, *args: Any, run_id: str, fmt: str, output: str | None, artifact: str | None, force: bool, **options: Any) -> None:
        run = _find_run(run_id)
        try:
            export = run_export(run=run, fmt=fmt, actor=None, artifact=artifact)
        except ExchangeRefused as exc:
            raise CommandError(exc.message) from None
        if output == "-":
            written = _copy(export.chunks, _stdout_buffer(self.stdout))
            self.stderr.write(_summary(run, fmt, "stdout", written))
            return
        target = Path(output or f"{run.run_id}{EXTENSIONS[fmt]}")
        if target.is_dir():
            target = target / export.filename
        if target.exists() and not force:
            raise CommandError(f"{target} exists already; use --force to overwrite it.")
        if not target.parent.is_dir():
            raise CommandError(f"The directory {target.parent} does not exist.")
        # Write beside the target and rename: a failed export never leaves half a file under its name.
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                written = _copy(export.chunks, fh)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        self.stdout.write(_summary(run, fmt, str(target), written))


def _find_run(run_id: str) -> Run:
    lookup = {"pk": run_id} if len(run_id) == 36 and run_id.count("-") == 4 else {"run_id": run_id}
    try:
        return Run.objects.select_related("owner", "parent").get(**lookup)
    except (Run.DoesNotExist, ValueError):
        raise CommandError(f"No run {run_id!r}.") from None


def _copy(chunks: Any, fh: BinaryIO) -> int:
    written = 0
    for chunk in chunks:
        fh.write(chunk)
        written += len(chunk)
    fh.flush()
    return written


def _stdout_buffer(stdout: Any) -> BinaryIO:
    stream = getattr(stdout, "_out", stdout)
    return getattr(stream, "buffer", None) or sys.stdout.buffer


def _summary(run: Run, fmt: str, where: str, written: int) -> str:
    artifacts = run.artifacts.count()
    return (
        f"Exported {run.run_id} as {fmt} to {where}: {written:,} bytes, {artifacts} artifact(s), "
        f"checksum {run.checksum or 'none'}."
    )
