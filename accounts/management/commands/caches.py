"""The product's caches from the command line; every clear is audited (surface "command").

python manage.py caches list
python manage.py caches clear NAME
python manage.py caches clear-all
python manage.py caches clear-expired
python manage.py caches evict NAME (--older-than DAYS | --max-bytes N)
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.console import caches as registry
from accounts.console.context import audit_context


class Command(BaseCommand):
    help = "List the caches, clear one, clear all, clear expired entries, or evict simulation results by age or size."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("list", help="Each cache: entries, size, hits, expired.")
        clear = sub.add_parser("clear", help="Clear one cache.")
        clear.add_argument("name")
        sub.add_parser("clear-all", help="Clear every cache.")
        sub.add_parser("clear-expired", help="Remove expired entries of every cache.")
        evict = sub.add_parser("evict", help="Evict by age or total size (simulation caches).")
        evict.add_argument("name")
        evict.add_argument("--older-than", type=int, metavar="DAYS")
        evict.add_argument("--max-bytes", type=int, metavar="N")

    def handle(self, *args: Any, verb: str, **options: Any) -> None:
        if verb == "list":
            for row in (managed.as_dict() for managed in registry.registered_caches()):
                if row["error"]:
                    self.stdout.write(f"{row['name']:22} error: {row['error']}")
                    continue
                self.stdout.write(
                    f"{row['name']:22} entries={_n(row['entries'])} size={_n(row['size_bytes'])} hits={_n(row['hits'])} "
                    f"expired={_n(row['expired'])}"
                )
            return
        with audit_context("command"):
            try:
                if verb == "clear":
                    removed = registry.cache_clear(actor=None, name=options["name"])
                    self.stdout.write(f"{options['name']}: {removed} entries removed")
                elif verb == "clear-all":
                    for name, removed in registry.caches_clear_all(actor=None).items():
                        self.stdout.write(f"{name}: {removed} entries removed")
                elif verb == "clear-expired":
                    for name, removed in registry.caches_clear_expired(actor=None).items():
                        self.stdout.write(f"{name}: {removed} expired entries removed")
                else:
                    removed = registry.cache_evict_by(actor=None, name=options["name"],
                                                      older_than_days=options["older_than"],
                                                      max_total_bytes=options["max_bytes"])
                    self.stdout.write(f"{options['name']}: {removed} entries evicted")
            except (LookupError, ValueError) as exc:
                raise CommandError(str(exc).strip("'\"")) from None


def _n(value: Any) -> str:
    return "—" if value is None else str(value)
