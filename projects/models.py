"""Projects: a named piece of work holding experiments, datasets and runs.

A project is edited by one member at a time (ProjectLock); the runs app's own
tables are not changed: a run is filed under a project through RunPlacement.
"""
from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Project(models.Model):
    """A named piece of work with an owner and members, holding experiments, datasets and runs."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Identity kept across export and import.")
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_projects"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    imported_at = models.DateTimeField(
        null=True, blank=True, help_text="When this project arrived from a project bundle (empty: made here)."
    )

    class Meta:
        ordering = ["name"]
        permissions = [
            ("manage_all_projects", "Can edit every project, member or not, and break editing locks"),
        ]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="project_name_present")]

    def __str__(self) -> str:
        return self.name

    def has_member(self, user: Any) -> bool:
        """Is `user` one of the members (the owner is made the first member on creation)?"""
        if not getattr(user, "is_authenticated", False):
            return False
        return self.members.filter(user_id=user.pk).exists()


class ProjectMember(models.Model):
    """A user who may edit a project (when their role allows editing at all)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_memberships")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "user__username"]
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="project_member_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project}"


class ExperimentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class Experiment(models.Model):
    """A named group of runs inside a project, with a purpose, parameters and a status (an MLflow experiment)."""

    Status = ExperimentStatus

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Identity kept across export and import.")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(max_length=120)
    purpose = models.TextField(blank=True)
    parameters = models.JSONField(default=dict, blank=True, help_text="Parameters shared by the experiment's runs.")
    tags = models.JSONField(default=dict, blank=True, help_text="Free key/value labels (MLflow experiment tags).")
    status = models.CharField(max_length=10, choices=ExperimentStatus.choices, default=ExperimentStatus.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="experiment_name_unique_in_project"),
            models.CheckConstraint(condition=Q(status__in=ExperimentStatus.values), name="experiment_status_valid"),
            models.CheckConstraint(condition=~Q(name=""), name="experiment_name_present"),
        ]

    def __str__(self) -> str:
        return f"{self.project.name} / {self.name}"


class RunPlacement(models.Model):
    """Where a run is filed: one project and, optionally, one of its experiments."""

    run = models.OneToOneField("runs.Run", on_delete=models.CASCADE, primary_key=True, related_name="placement")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="placements")
    experiment = models.ForeignKey(
        Experiment, null=True, blank=True, on_delete=models.SET_NULL, related_name="placements"
    )
    placed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["project"], name="placement_project_idx"),
            models.Index(fields=["experiment"], name="placement_experiment_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} in {self.project_id}"


class ProjectDataset(models.Model):
    """A dataset attached to a project by name, so every version of it follows."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="datasets")
    dataset_name = models.CharField(max_length=200)
    attached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attached_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "dataset_name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "dataset_name"], name="project_dataset_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset_name} in {self.project}"


class ProjectLock(models.Model):
    """The exclusive editing lock of a project: who holds it, since when, last activity.

    A lock idle for longer than PROJECT_LOCK_IDLE_SECONDS counts as free; the row is
    replaced by the next taker (projects.services.lock).
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, primary_key=True, related_name="lock")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_locks")
    taken_at = models.DateTimeField(default=timezone.now)
    last_active_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.project} held by {self.holder}"
