from django.apps import AppConfig


class FinopsAdminConfig(AppConfig):
    name = "finops_admin"
    verbose_name = "FinOps batch"
