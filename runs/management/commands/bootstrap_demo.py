"""Prepare a fresh installation for a first look: a demo admin and a few demo runs."""
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from accounts.roles import Role
from accounts.services import roles_sync
from runs.models import Run
from runs.services import run_create


class Command(BaseCommand):
    help = "Create the demo admin (password printed once) and launch demo runs if there are none."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--runs", type=int, default=3, help="Demo runs to launch on an empty database.")

    def handle(self, *args, username: str, runs: int, **options) -> None:
        roles_sync()
        User = get_user_model()
        admin = User.objects.filter(username=username).first()
        if admin is None:
            password = secrets.token_urlsafe(12)
            admin = User.objects.create_superuser(username=username, email="", password=password)
            admin.groups.add(Group.objects.get(name=Role.ADMIN))
            self.stdout.write(self.style.WARNING("=" * 60))
            self.stdout.write(self.style.WARNING(f" Demo admin created. Username: {username}  Password: {password}"))
            self.stdout.write(self.style.WARNING(" This password is shown only this once."))
            self.stdout.write(self.style.WARNING("=" * 60))
        else:
            self.stdout.write(f"Admin {username!r} already exists; its password is unchanged.")
        if Run.objects.exists():
            self.stdout.write("Runs exist already; no demo run launched.")
            return
        plans = [
            {"steps": 5, "step_seconds": 1.0, "fail_at_step": 0, "seed": 1},
            {"steps": 8, "step_seconds": 0.5, "fail_at_step": 0, "seed": 2},
            {"steps": 6, "step_seconds": 0.5, "fail_at_step": 4, "seed": 3},
        ]
        for params in plans[: max(0, runs)]:
            run = run_create(kind="demo", params=params, owner=admin, tags=["demo"])
            self.stdout.write(f"Launched {run.run_id}")
