from django.apps import AppConfig
from django.db.models.signals import post_migrate


def seed_reference_data(sender, **kwargs) -> None:
    """The four domains (each with its Unallocated bucket) and the accepted currencies, when their
    tables are empty: after the first migrate (migration 0002 seeds them too) and after a flush
    (which empties them and emits post_migrate). Tables holding rows are left as edited."""
    from finops_admin.services.catalogue import reference_data_seed

    reference_data_seed(using=kwargs.get("using", "default"))


class FinopsAdminConfig(AppConfig):
    name = "finops_admin"
    verbose_name = "FinOps batch"

    def ready(self) -> None:
        from finops_admin import kinds  # noqa: F401  (registers the finops_batch run kind)

        post_migrate.connect(seed_reference_data, sender=self, dispatch_uid="finops_admin.seed_reference_data")
