from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401  (registers the API-key scheme with the schema generator)
        from accounts.services import roles_sync_after_migrate

        # Permissions of every app exist only after migrate; re-applying the role
        # matrix then keeps groups right on a fresh database and after upgrades.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="accounts.roles_sync")

        from django.contrib.admin.models import LogEntry
        from django.db.models.signals import post_save

        from accounts.services import audit_admin_log_entry

        post_save.connect(audit_admin_log_entry, sender=LogEntry, dispatch_uid="accounts.audit_admin")

        from django.contrib.auth.signals import user_logged_in

        from accounts.console.signals import on_login

        user_logged_in.connect(on_login, dispatch_uid="accounts.console_login")

        _audit_commands_as_command()


def _audit_commands_as_command() -> None:
    """Every management command audits with surface "command" (cleanup_runs, import_run, api_keys, …),
    without each command having to say so. Requests keep their own surface: the request middleware
    sets it inside, and wins."""
    from django.core.management.base import BaseCommand

    if getattr(BaseCommand.execute, "_audit_surface", False):
        return
    original = BaseCommand.execute

    def execute(self: BaseCommand, *args: object, **options: object) -> object:
        from accounts.console.context import audit_context

        with audit_context("command"):
            return original(self, *args, **options)

    execute._audit_surface = True  # type: ignore[attr-defined]
    BaseCommand.execute = execute  # type: ignore[method-assign]
