"""Load a file as a dataset: manage.py dataset_load FILE --name NAME [--sheet S] [--description D] [--user U]."""
from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from datasets.ingest import IngestError
from datasets.services import dataset_load_path


class Command(BaseCommand):
    help = (
        "Read a CSV, xlsx, JSON records or Parquet file, store it once as Parquet with its SHA-256 as the next "
        "version of NAME, and print its id, version, rows and checksum. A bad file is refused with the row and "
        "column of its first problem, and nothing is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The file to load (its format is read from its content).")
        parser.add_argument("--name", default="", help="Dataset name (default: the file's name without extension).")
        parser.add_argument("--sheet", default="", help="For a workbook with several sheets: the one to load.")
        parser.add_argument("--description", default="")
        parser.add_argument("--user", default="", help="Load as this user (their roles are checked); default: the operator.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        if not os.path.isfile(path):
            raise CommandError(f"{path}: no such file")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {options['user']!r}")
        try:
            dataset = dataset_load_path(user=user, path=path, name=options["name"], sheet=options["sheet"] or None,
                                        description=options["description"])
        except IngestError as exc:
            where = ", ".join(x for x in (f"row {exc.row}" if exc.row is not None else "",
                                          f"column {exc.column!r}" if exc.column else "") if x)
            raise CommandError(f"{path}: {exc.message}" + (f" ({where})" if where else "") + " Nothing was stored.") from None
        except ValidationError as exc:
            raise CommandError(f"{path}: {'; '.join(exc.messages)} Nothing was stored.") from None
        except PermissionDenied as exc:
            raise CommandError(str(exc) or "permission denied") from None
        self.stdout.write(
            f"dataset {dataset.pk}: {dataset.name} v{dataset.version}, {dataset.rows:,} rows, "
            f"{len(dataset.columns)} columns, sha256 {dataset.sha256}"
        )
