from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Tracking (MLflow-compatible API)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The `tracked` kind registers with the run core, as every kind does.
        from tracking import kind  # noqa: F401
