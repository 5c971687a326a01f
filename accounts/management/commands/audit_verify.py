"""Check the audit trail's hash chain; exits non-zero naming the first broken entry."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.console.audit_chain import first_broken
from accounts.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain (every entry's content and its link to the previous one)."

    def handle(self, *args: Any, **options: Any) -> None:
        events = AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
        broken = first_broken(events)
        if broken is not None:
            event, why = broken
            raise CommandError(
                f"The audit trail is broken at entry #{event.pk} ({event.created_at:%Y-%m-%d %H:%M:%S} "
                f"{event.action} {event.target!r}): {why}."
            )
        self.stdout.write(f"Audit trail intact: {AuditEvent.objects.count()} entries chained.")
