"""API keys from the server: list, create (the secret printed once), revoke. Audited with surface "command"."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from accounts.console.context import audit_context
from accounts.models import ApiKey, User
from accounts.services import api_key_create, api_key_revoke


class Command(BaseCommand):
    help = "List, create or revoke API keys."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        listing = sub.add_parser("list", help="Every key (masked): owner, name, prefix, state, last use.")
        listing.add_argument("--user", help="Only this owner's keys.")
        create = sub.add_parser("create", help="Create a key; its secret is printed once.")
        create.add_argument("--user", required=True)
        create.add_argument("--name", required=True)
        create.add_argument("--expires-days", type=int, default=None)
        revoke = sub.add_parser("revoke", help="Revoke a key by id or prefix.")
        revoke.add_argument("key")

    def handle(self, *args: Any, **options: Any) -> None:
        with audit_context("command"):
            getattr(self, f"_{options['verb']}")(options)

    def _list(self, options: dict[str, Any]) -> None:
        keys = ApiKey.objects.select_related("owner").order_by("owner__username", "-created_at")
        if options.get("user"):
            keys = keys.filter(owner__username=options["user"])
        for key in keys:
            self.stdout.write("\t".join([
                key.owner.username, key.name, f"{key.prefix}…", key.state, f"{key.created_at:%Y-%m-%d}",
                f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
                f"expires {key.expires_at:%Y-%m-%d}" if key.expires_at else "no expiry", str(key.pk),
            ]))

    def _create(self, options: dict[str, Any]) -> None:
        owner = User.objects.filter(username=options["user"]).first()
        if owner is None:
            raise CommandError(f"No user named {options['user']!r}.")
        days = options.get("expires_days")
        if days is not None and days < 1:
            raise CommandError("--expires-days must be 1 or more.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            key, secret = api_key_create(owner=owner, name=options["name"], actor=None, expires_at=expires_at)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"Created {key.name} ({key.prefix}…) for {owner.username}. Secret (shown once):")
        self.stdout.write(secret)

    def _revoke(self, options: dict[str, Any]) -> None:
        value = options["key"]
        query = Q(prefix=value)
        try:
            import uuid

            query |= Q(pk=uuid.UUID(value))
        except ValueError:
            pass
        key = ApiKey.objects.select_related("owner").filter(query).first()
        if key is None:
            raise CommandError(f"No API key with id or prefix {value!r}.")
        api_key_revoke(key=key, actor=None)
        self.stdout.write(f"Revoked {key.name} ({key.prefix}…) of {key.owner.username}.")
