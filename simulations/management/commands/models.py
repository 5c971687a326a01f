"""`models list | promote NAME VERSION [--alias champion] | archive NAME [VERSION]`: the registry from a shell."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulations.registry import services
from simulations.registry.models import RegisteredModel


class Command(BaseCommand):
    help = "List registered models, move an alias to a version (promote), archive a model or a version."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Models, their versions and aliases.")
        promote = sub.add_parser("promote", help="Point an alias (default champion) at a version; audited.")
        promote.add_argument("name")
        promote.add_argument("version", type=int)
        promote.add_argument("--alias", default=services.CHAMPION)
        archive = sub.add_parser("archive", help="Archive a model, or one of its versions; audited.")
        archive.add_argument("name")
        archive.add_argument("version", type=int, nargs="?")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            return self._list()
        model = RegisteredModel.objects.filter(name=options["name"]).first()
        if model is None:
            raise CommandError(f"no model named {options['name']!r}")
        try:
            if action == "promote":
                version = model.versions.filter(number=options["version"]).first()
                if version is None:
                    raise CommandError(f"{model.name} has no version {options['version']}")
                services.alias_set(model=model, name=options["alias"], version=version, actor=None)
                self.stdout.write(f"{model.name}@{options['alias']} → v{version.number}")
            elif options["version"] is None:
                if model.archived_at is not None:
                    raise CommandError(f"{model.name} is archived already")
                services.model_archive(model=model, actor=None)
                self.stdout.write(f"{model.name} archived")
            else:
                version = model.versions.filter(number=options["version"]).first()
                if version is None:
                    raise CommandError(f"{model.name} has no version {options['version']}")
                if version.archived_at is not None:
                    raise CommandError(f"{model.name} v{version.number} is archived already")
                services.version_archive(version=version, actor=None)
                self.stdout.write(f"{model.name} v{version.number} archived")
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    def _list(self) -> None:
        models = RegisteredModel.objects.prefetch_related("versions", "aliases__version").order_by("name")
        if not models:
            self.stdout.write("No model registered.")
        for model in models:
            aliases = ", ".join(f"{a.name}→v{a.version.number}" for a in model.aliases.all()) or "no alias"
            state = " (archived)" if model.archived_at else ""
            self.stdout.write(f"{model.name}{state}: {aliases}")
            for v in sorted(model.versions.all(), key=lambda v: v.number):
                headline = {k: v.metrics.get(k) for k in ("test_roc_auc", "test_accuracy", "test_vs_true_variance_r2")
                            if (v.metrics or {}).get(k) is not None}
                flag = " archived" if v.archived_at else ""
                self.stdout.write(f"  v{v.number} {v.model_type} run {v.source_run_id}{flag} {headline}")
