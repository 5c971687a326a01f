"""Datasets: tables stored once in the artifact store, keyed by their SHA-256, in versions.

A name has versions 1..n: uploading again under the same name adds a version and
older versions stay readable. Training runs and simulations read a version by id
and checksum. The datasets app (`datasets/`) holds the ingest, preview and export
services; this module keeps the table where training first put it.
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
    """How the stored bytes are encoded (every new version is Parquet; early uploads kept their CSV)."""

    PARQUET = "parquet", "Parquet"
    CSV = "csv", "CSV"


class DatasetSourceFormat(models.TextChoices):
    """What the data came as, before it was stored as Parquet."""

    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (xlsx)"
    JSON = "json", "JSON records"
    PARQUET = "parquet", "Parquet"
    GENERATED = "generated", "Generated"


class Dataset(models.Model):
    """One version of a named table, stored once, content-addressed: `sha256` is checked on every read."""

    Kind = DatasetKind
    Format = DatasetFormat
    SourceFormat = DatasetSourceFormat

    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(
        default=1, help_text="1 for the first upload under this name, then 2, 3, … (older versions stay readable)."
    )
    description = models.TextField(blank=True, max_length=4000)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    format = models.CharField(max_length=8, choices=Format.choices)
    path = models.CharField(max_length=500, help_text="Where the bytes live in the artifact store.")
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    rows = models.BigIntegerField()
    columns = models.JSONField(
        default=list,
        help_text="Schema and statistics: one object per column (name, type, nulls, min/max/mean or top values, "
                  "distinct values up to a cap).",
    )
    source_filename = models.CharField(max_length=255, blank=True, help_text="The uploaded file's name.")
    source_format = models.CharField(max_length=16, choices=SourceFormat.choices, blank=True)
    source_size_bytes = models.BigIntegerField(null=True, blank=True, help_text="Size of the uploaded file.")
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
            models.UniqueConstraint(fields=["name", "version"], name="dataset_name_version_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="dataset_version_positive"),
            models.CheckConstraint(
                condition=Q(source_format__in=[*DatasetSourceFormat.values, ""]), name="dataset_source_format_valid"
            ),
            models.CheckConstraint(condition=Q(kind__in=DatasetKind.values), name="dataset_kind_valid"),
            models.CheckConstraint(condition=Q(format__in=DatasetFormat.values), name="dataset_format_valid"),
            models.CheckConstraint(condition=~Q(path=""), name="dataset_bytes_present"),
        ]
        indexes = [
            models.Index(fields=["path"], name="dataset_path_idx"),
            models.Index(fields=["sha256"], name="dataset_sha256_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} (#{self.pk})"

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def column_names(self) -> list[str]:
        return [c["name"] for c in self.columns]

    def column(self, name: str) -> dict | None:
        for c in self.columns:
            if c["name"] == name:
                return c
        return None
