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
