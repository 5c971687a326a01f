"""The model registry: registered models, their numbered versions and the aliases that point at them.

A version is a snapshot of a SUCCEEDED training run computed here (never an imported
one): the run's parameters, dataset checksum, metrics and model-file checksum are
copied at registration, so the version still says what it was if the run's rows
change or the run is deleted (then the version can no longer be scored, but its
lineage stays readable).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class RegisteredModel(models.Model):
    name = models.SlugField(max_length=100, unique=True, help_text="Letters, digits, - and _; used in URLs.")
    description = models.CharField(max_length=500, blank=True)
    model_card = models.TextField(blank=True, help_text="Markdown; rendered as text (no raw HTML).")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    # SET_NULL: deleting a run must stay possible; the snapshot below keeps the lineage.
    run = models.ForeignKey("runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="model_versions")
    source_run_id = models.CharField(max_length=40)
    model_type = models.CharField(max_length=32)
    params = models.JSONField(default=dict, blank=True)
    dataset_id = models.BigIntegerField(null=True, blank=True)
    dataset_name = models.CharField(max_length=200, blank=True)
    dataset_sha256 = models.CharField(max_length=64)
    metrics = models.JSONField(default=dict, blank=True)
    artifact_name = models.CharField(max_length=200)
    artifact_sha256 = models.CharField(max_length=64)
    run_checksum = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    notes = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["model", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["model", "number"], name="modelversion_number_unique"),
            models.UniqueConstraint(fields=["model", "source_run_id"], name="modelversion_run_once"),
            models.CheckConstraint(condition=Q(number__gte=1), name="modelversion_number_positive"),
            models.CheckConstraint(condition=~Q(artifact_sha256=""), name="modelversion_artifact_sha_present"),
        ]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.number}"


class ModelAlias(models.Model):
    model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="aliases")
    name = models.SlugField(max_length=50)
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="aliases")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model", "name"]
        constraints = [models.UniqueConstraint(fields=["model", "name"], name="modelalias_unique")]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.name}"
