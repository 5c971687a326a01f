from __future__ import annotations

from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    """Projects: experiments, datasets and runs grouped under one governed, lockable object."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "projects"
    verbose_name = "Projects"

    def ready(self) -> None:
        # A project's datasets obey its membership and editing lock on every dataset surface.
        from datasets.services import register_dataset_guard, register_dataset_listener
        from projects.services import dataset_version_added, dataset_write_guard

        register_dataset_guard(dataset_write_guard)
        register_dataset_listener(dataset_version_added)
