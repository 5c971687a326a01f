from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class ResultKind(models.TextChoices):
    POSITIONS = "positions", "Positions"
    EXPLAIN = "explain", "Per-position breakdown"
    SUMMARY = "summary", "Summary"
    RWA = "rwa", "RWA by exposure class"
    STATS = "stats", "Stats by product"
    LCR = "lcr", "LCR"
    NSFR = "nsfr", "NSFR"
    RATIOS = "ratios", "Capital and leverage ratios"
    REPORT = "report", "Excel report"


class ResultFormat(models.TextChoices):
    PARQUET = "parquet", "Parquet"
    JSON = "json", "JSON"
    XLSX = "xlsx", "Excel"


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ParameterSet(models.Model):
    """One set of simulation parameters, the key of the result cache.

    `params` is the canonical form of everything that decides a simulation's
    bytes (seed, size, bank configuration, regulatory settings, engine and
    writer versions); `params_hash` is its SHA-256 (runs.hashing), so two
    spellings of the same parameters share one row.
    """

    params_hash = models.CharField(max_length=64, unique=True)
    params = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        # Capabilities of the simulations app that belong to no table of their own.
        permissions = [
            ("train_model", "Can train models"),
            ("manage_registry", "Can manage the model registry"),
        ]

    def __str__(self) -> str:
        return self.params_hash[:12]


class CachedResult(models.Model):
    """One result file of a simulation, kept so an identical launch can reuse it.

    The bytes live in the artifact store like run artifacts: a content-addressed
    file shared with the runs that produced or reused it, or a blob when
    ARTIFACT_STORE is "db". `sha256` is checked on every read; an entry whose
    bytes no longer match is dropped and recomputed, never served.
    """

    Kind = ResultKind
    Format = ResultFormat

    class Storage(models.TextChoices):
        FILE = "file", "File"
        DB = "db", "Database"

    parameter_set = models.ForeignKey(ParameterSet, on_delete=models.CASCADE, related_name="results")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    part = models.PositiveIntegerField(default=0, help_text="Part number of a table stored in parts.")
    name = models.CharField(max_length=200, help_text="File name, as a run artifact.")
    format = models.CharField(max_length=8, choices=Format.choices)
    storage = models.CharField(max_length=4, choices=Storage.choices)
    path = models.CharField(max_length=500, blank=True)
    blob = models.BinaryField(null=True, blank=True)
    rows = models.BigIntegerField(null=True, blank=True, help_text="Rows of a table; empty for documents.")
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    source_run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The run that computed these bytes: a run our engine computed, checked when the entry is "
                  "written and again when it is read. Empty once that run is deleted.",
    )
    results_checksum = models.CharField(
        max_length=64, blank=True,
        help_text="For a report: the checksum of the result bytes it was built from. A report is served only "
                  "to a run whose checksum is exactly this.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_hit_at = models.DateTimeField(null=True, blank=True)
    hit_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["parameter_set", "kind", "part"]
        constraints = [
            models.UniqueConstraint(fields=["parameter_set", "kind", "part"], name="cachedresult_unique_kind_part"),
            models.CheckConstraint(
                condition=~Q(kind="report") | ~Q(results_checksum=""), name="cachedresult_report_keyed_by_checksum"
            ),
            models.UniqueConstraint(fields=["parameter_set", "name"], name="cachedresult_unique_name"),
            models.CheckConstraint(condition=Q(kind__in=ResultKind.values), name="cachedresult_kind_valid"),
            models.CheckConstraint(condition=Q(format__in=ResultFormat.values), name="cachedresult_format_valid"),
            models.CheckConstraint(
                condition=(Q(storage="file") & ~Q(path="")) | (Q(storage="db") & Q(blob__isnull=False)),
                name="cachedresult_bytes_present",
            ),
        ]
        indexes = [models.Index(fields=["path"], name="cachedresult_path_idx")]

    def __str__(self) -> str:
        return f"{self.parameter_set}:{self.name}"


class SimulationChunk(models.Model):
    """A range of whole parts of a chunked simulation run, computed by one worker.

    The run's own task creates its chunks, offers them to other workers as a
    Celery group and computes itself those nobody has claimed, so a run never
    waits on a queue that no free worker serves.
    """

    Status = ChunkStatus

    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="simulation_chunks")
    index = models.PositiveIntegerField()
    first_part = models.PositiveIntegerField()
    stop_part = models.PositiveIntegerField(help_text="One past the last part.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="simulationchunk_unique_index"),
            models.CheckConstraint(condition=Q(stop_part__gt=models.F("first_part")), name="simulationchunk_not_empty"),
            models.CheckConstraint(condition=Q(status__in=ChunkStatus.values), name="simulationchunk_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.index}"


# The training datasets live in their own module; imported here so Django sees the model.
from simulations.training.models import Dataset  # noqa: E402,F401
# The model registry, likewise in its own module.
from simulations.registry.models import ModelAlias, ModelVersion, RegisteredModel  # noqa: E402,F401
