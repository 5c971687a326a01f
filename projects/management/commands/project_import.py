"""Import a project bundle (idempotent: a second import of the same bundle adds nothing)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from projects.exchange import project_import
from projects.management.commands._common import acting_user


class Command(BaseCommand):
    help = (
        "Import a project bundle made by project_export, keeping its identities. Without --user it runs as "
        "the operator; it never adds to a project while a member holds its editing lock."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The bundle (.zip), or - for stdin.")
        parser.add_argument("--user", default=None, help="Act as this account (its roles and the lock apply).")

    def handle(self, *args: Any, path: str, user: str | None, **options: Any) -> None:
        actor = acting_user(user)
        if path == "-":
            result = self._import(sys.stdin.buffer, actor)
        else:
            source = Path(path)
            if not source.is_file():
                raise CommandError(f"No file {path}.")
            with source.open("rb") as fh:
                result = self._import(fh, actor)
        self.stdout.write(result.summary)

    def _import(self, fh: Any, actor: Any) -> Any:
        try:
            return project_import(file=fh, actor=actor)
        except PermissionDenied as exc:
            raise CommandError(f"Import refused: {exc}") from None
        except ValidationError as exc:
            raise CommandError(f"Import refused: {' '.join(exc.messages)}") from None
