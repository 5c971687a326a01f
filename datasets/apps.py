from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    """Uploaded tables in versions: ingest, preview, export (the Dataset table lives in simulations)."""

    name = "datasets"
    verbose_name = "Datasets"

    def ready(self) -> None:
        from datasets import book_kind  # noqa: F401  (registers the positions_book run kind)
