"""Write a dataset (or a filtered, sorted view of it) to a file: manage.py dataset_export ID --output FILE."""
from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import QueryDict

from datasets.query import QueryError
from datasets.selectors import EXPORT_FORMATS, dataset_export, view_from_query
from simulations.training.models import Dataset


class Command(BaseCommand):
    help = (
        "Export a dataset version as CSV, xlsx or Parquet. --filter COLUMN:OP:VALUE (repeatable; OP one of eq, ne, "
        "lt, le, gt, ge, contains, startswith, isnull, notnull) and --sort [-]COLUMN give the same view as the "
        "dataset page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", help="Dataset id, or NAME (latest version) or NAME@VERSION.")
        parser.add_argument("--output", "-o", required=True, help="File to write (format from its extension unless --format).")
        parser.add_argument("--format", choices=sorted(EXPORT_FORMATS), default="")
        parser.add_argument("--filter", action="append", default=[], help="COLUMN:OP:VALUE")
        parser.add_argument("--sort", default="", help="COLUMN, or -COLUMN for descending")

    def _dataset(self, ref: str) -> Dataset:
        if ref.isdigit():
            found = Dataset.objects.filter(pk=int(ref)).first()
        elif "@" in ref:
            name, _, version = ref.rpartition("@")
            found = Dataset.objects.filter(name=name, version=int(version) if version.isdigit() else -1).first()
        else:
            found = Dataset.objects.filter(name=ref).order_by("-version").first()
        if found is None:
            raise CommandError(f"no dataset {ref!r}")
        return found

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = self._dataset(options["dataset"])
        output = options["output"]
        fmt = options["format"] or os.path.splitext(output)[1].lstrip(".").lower()
        if fmt not in EXPORT_FORMATS:
            raise CommandError(f"cannot tell the format of {output!r}: use --format csv, xlsx or parquet")
        query = QueryDict(mutable=True)
        for spec in options["filter"]:
            column, _, rest = spec.partition(":")
            op, _, value = rest.partition(":")
            if not column or not op:
                raise CommandError(f"--filter {spec!r}: write COLUMN:OP:VALUE")
            query.appendlist("col", column)
            query.appendlist("op", op)
            query.appendlist("val", value)
        if options["sort"]:
            query["sort"] = options["sort"]
        try:
            export = dataset_export(dataset=dataset, view=view_from_query(query), fmt=fmt)
        except QueryError as exc:
            raise CommandError(str(exc)) from None
        written = 0
        partial = f"{output}.part"
        try:
            with open(partial, "wb") as fh:
                for chunk in export.chunks:
                    fh.write(chunk)
                    written += len(chunk)
            os.replace(partial, output)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        self.stdout.write(f"{dataset.label} → {output} ({fmt}, {written:,} bytes)")
