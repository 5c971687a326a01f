from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Runs"

    def ready(self) -> None:
        # The run core's own self-test kind; the real kinds register from their apps.
        from runs import demo_kind  # noqa: F401
