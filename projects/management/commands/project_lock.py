"""Show, take, release or break a project's editing lock: manage.py project_lock PROJECT [--take|--release|--break --as USER].

Each action goes through the lock services (projects/services.py), so the rules of every other
surface hold here: a member takes a free or expired lock, only the holder releases it, only an
admin breaks someone else's (audited as project.lock_break with the holder). An action names the
account it is done as: a lock belongs to a person, and the audit trail says who.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from projects import selectors, services
from projects.models import ProjectLock
from projects.management.commands._common import acting_user, project_named

ACTIONS = ("take", "release", "break")


def _when(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


class Command(BaseCommand):
    help = (
        "Show who holds a project's editing lock and since when (or that it is free); with --take, --release or "
        "--break, change it as the account named by --as (--break: an admin only, recorded in the audit trail)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", help="The project's name (or id).")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--take", action="store_const", const="take", dest="action",
                            help="Take the lock (or renew one's own); refused while someone else holds a live lock.")
        action.add_argument("--release", action="store_const", const="release", dest="action",
                            help="Release one's own lock; refused while someone else holds it.")
        action.add_argument("--break", action="store_const", const="break", dest="action",
                            help="Break the lock, whoever holds it (admin only; audited).")
        parser.add_argument("--as", dest="as_user", default=None, metavar="USER",
                            help="The account the action is done as (required with --take, --release, --break).")

    def handle(self, *args: Any, project: str, action: str | None, as_user: str | None, **options: Any) -> None:
        found = project_named(project)
        if action is None:
            if as_user:
                raise CommandError("--as names who takes, releases or breaks the lock; add --take, --release or --break.")
            self.stdout.write(self._describe(found))
            return
        if not as_user:
            raise CommandError(f"--{action} needs --as USER: a lock is taken, released and broken by a named account.")
        user = acting_user(as_user)
        try:
            if action == "take":
                lock = services.project_lock_take(actor=user, project=found)
                self.stdout.write(f"{user.get_username()} holds the lock of {found.name} (taken {_when(lock.taken_at)}).")
            elif action == "release":
                held = ProjectLock.objects.filter(project=found, holder=user).exists()
                services.project_lock_release(actor=user, project=found)
                self.stdout.write(f"Released the lock of {found.name}." if held
                                  else f"{found.name}'s lock was not held by {user.get_username()}; nothing to release.")
            else:
                holder = services.project_lock_break(actor=user, project=found)
                self.stdout.write(f"Broke {holder}'s lock of {found.name} (recorded in the audit trail)." if holder
                                  else f"{found.name}'s lock is free; nothing to break.")
        except PermissionDenied as exc:  # ProjectLocked included: it names the holder and since when
            raise CommandError(str(exc) or "Permission denied.") from None

    def _describe(self, project: Any) -> str:
        lock = selectors.project_lock_state(project=project, user=None)
        if not lock.held:
            return f"{project.name}: the lock is free."
        return (f"{project.name}: locked by {lock.holder} since {_when(lock.taken_at)} "
                f"(last active {_when(lock.last_active_at)}).")
