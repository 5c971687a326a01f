from __future__ import annotations

from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    """Projects: experiments, datasets and runs grouped under one governed, lockable object."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "projects"
    verbose_name = "Projects"
