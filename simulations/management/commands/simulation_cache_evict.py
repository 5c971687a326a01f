"""Evict simulation results from the cache.

python manage.py simulation_cache_evict (--older-than DAYS | --params-hash H | --all) [--dry-run]
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from simulations.models import CachedResult
from simulations.services import cache_evict


class Command(BaseCommand):
    help = (
        "Forget cached simulation results and delete their files, except files a run still uses "
        "(those stay with the run). Choose what goes with --older-than, --params-hash or --all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "--older-than", type=int, metavar="DAYS", help="Entries not used (hit or stored) for DAYS days."
        )
        which.add_argument(
            "--params-hash", help="Every entry of this parameter set (a prefix of 8 or more characters)."
        )
        which.add_argument("--all", action="store_true", help="Every entry.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would go; change nothing.")

    def handle(
        self, *args: Any, older_than: int | None, params_hash: str | None, dry_run: bool, **options: Any
    ) -> None:
        entries = CachedResult.objects.all()
        if older_than is not None:
            if older_than < 0:
                raise CommandError("--older-than must be 0 or more days")
            cutoff = timezone.now() - timedelta(days=older_than)
            last_used = Q(last_hit_at__lt=cutoff) | Q(last_hit_at__isnull=True)
            entries = entries.filter(last_used, created_at__lt=cutoff)
        elif params_hash is not None:
            if len(params_hash) < 8:
                raise CommandError("--params-hash needs at least 8 characters")
            entries = entries.filter(parameter_set__params_hash__startswith=params_hash.lower())
        done = cache_evict(entries=entries, dry_run=dry_run)
        would = "would be" if dry_run else "were"
        self.stdout.write(
            f"{done.entries} cached file(s) {would} evicted, {done.parameter_sets} parameter set(s) left empty "
            f"{would} removed, and {done.files} stored file(s) no run uses {would} deleted."
        )
