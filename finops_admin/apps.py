from django.apps import AppConfig


class FinopsAdminConfig(AppConfig):
    name = "finops_admin"
    verbose_name = "FinOps batch"

    def ready(self) -> None:
        from finops_admin import kinds  # noqa: F401  (registers the finops_batch run kind)
