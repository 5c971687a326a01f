from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Runs"

    def ready(self) -> None:
        # The run core's own self-test kind; the real kinds register from their apps.
        from runs import demo_kind  # noqa: F401

        # Every way a run is created (launch, clone, import, command) saves it once:
        # the list totals cached before that save are stale.
        from django.db.models.signals import post_save

        from runs.models import Run
        from runs.pagination import run_counts_invalidate_on_create

        post_save.connect(run_counts_invalidate_on_create, sender=Run, dispatch_uid="runs.count_invalidate")
