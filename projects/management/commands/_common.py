"""What the project commands share: finding a project and the account a command acts as."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from projects.models import Project


def project_named(value: str) -> Project:
    """A project by name, or by id when the value is a number and no project has that name."""
    project = Project.objects.filter(name=value).first()
    if project is None and value.isdigit():
        project = Project.objects.filter(pk=int(value)).first()
    if project is None:
        raise CommandError(f"No project named {value!r}.")
    return project


def acting_user(username: str | None) -> Any:
    """The account a command acts as (its roles and the project lock apply), or None for the operator."""
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"No active account named {username!r}.")
    return user
