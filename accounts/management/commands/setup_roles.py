from django.core.management.base import BaseCommand

from accounts.services import roles_sync
from runs.wording import plural


class Command(BaseCommand):
    help = "Create the role groups and (re)apply the role matrix. Safe to run any number of times."

    def handle(self, *args, **options) -> None:
        counts = roles_sync()
        for role, n in counts.items():
            self.stdout.write(f"{role:<18} {plural(n, 'permission')}")
        self.stdout.write(self.style.SUCCESS(f"{len(counts)} roles in place."))
