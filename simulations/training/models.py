"""The dataset a training run reads: bytes in the artifact store, keyed by their SHA-256.

Kept small and self-contained (no project, no versioning) so that a later
projects-and-datasets capability can adopt the table as it is.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class DatasetKind(models.TextChoices):
    GENERATED = "generated", "Generated"
    UPLOADED = "uploaded", "Uploaded"


class DatasetFormat(models.TextChoices):
    PARQUET = "parquet", "Parquet"
    CSV = "csv", "CSV"


class Dataset(models.Model):
    """A table stored once, content-addressed: `sha256` is checked on every read."""

    Kind = DatasetKind
    Format = DatasetFormat

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    format = models.CharField(max_length=8, choices=Format.choices)
    path = models.CharField(max_length=500, help_text="Where the bytes live in the artifact store.")
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    rows = models.BigIntegerField()
    columns = models.JSONField(
        default=list,
        help_text="Schema: one object per column (name, dtype, nulls, distinct values up to a cap).",
    )
    source = models.JSONField(
        default=dict, blank=True,
        help_text="How it was made: the generator and its arguments, or the uploaded file's name.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DatasetKind.values), name="dataset_kind_valid"),
            models.CheckConstraint(condition=Q(format__in=DatasetFormat.values), name="dataset_format_valid"),
            models.CheckConstraint(condition=~Q(path=""), name="dataset_bytes_present"),
        ]
        indexes = [models.Index(fields=["path"], name="dataset_path_idx")]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"

    @property
    def column_names(self) -> list[str]:
        return [c["name"] for c in self.columns]

    def column(self, name: str) -> dict | None:
        for c in self.columns:
            if c["name"] == name:
                return c
        return None
