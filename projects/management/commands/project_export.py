"""Write a project bundle: the project, its experiments, its datasets' files and its finished runs."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from projects.exchange import project_export
from projects.management.commands._common import acting_user, project_named


class Command(BaseCommand):
    help = "Export a project as a zip (manifest with SHA-256 checksums); --output - writes to stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", help="The project's name (or id).")
        parser.add_argument("--output", "-o", default=None, help="File to write (default: project_<name>.zip).")
        parser.add_argument("--user", default=None, help="Act as this account (its roles apply).")

    def handle(self, *args: Any, project: str, output: str | None, user: str | None, **options: Any) -> None:
        found = project_named(project)
        try:
            export = project_export(project=found, actor=acting_user(user))
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        if output == "-":
            for chunk in export.chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        target = Path(output or export.filename)
        partial = target.with_name(target.name + ".part")
        size = 0
        try:
            with partial.open("wb") as fh:
                for chunk in export.chunks:
                    fh.write(chunk)
                    size += len(chunk)
        except Exception as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"Export failed, nothing written: {exc}") from None
        partial.replace(target)
        self.stdout.write(f"Wrote {target} ({size:,} bytes), project checksum {export.checksum}.")
