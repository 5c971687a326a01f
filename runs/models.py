from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class RunStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    RUNNING = "RUNNING", "Running"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"


FINISHED_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
ACTIVE_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING)


class RunTrigger(models.TextChoices):
    MANUAL = "MANUAL", "Manual"
    CRON = "CRON", "Cron"
    API = "API", "API"
    CLONE = "CLONE", "Clone"
    IMPORT = "IMPORT", "Import"
    REPROCESS = "REPROCESS", "Reprocess"


class RunOrigin(models.TextChoices):
    """Where a run's results come from. Only ENGINE results are trusted by caches and other runs."""

    ENGINE = "ENGINE", "Computed here"
    IMPORT = "IMPORT", "Imported"


class LogLevel(models.TextChoices):
    INFO = "INFO", "Info"
    WARNING = "WARNING", "Warning"
    ERROR = "ERROR", "Error"


class Tag(models.Model):
    """A free label attached to runs, shared across kinds."""

    name = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RunQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> "RunQuerySet":
        """Runs of the kinds this user may see. Every list and lookup goes through here."""
        from runs.kinds import kinds_visible_to

        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(kind__in=kinds_visible_to(user))


class Run(models.Model):
    """One execution of a computational job of some kind, tracked from launch to end."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run_id = models.CharField(max_length=40, unique=True, help_text="Human-readable id, e.g. run_20261120_001.")
    kind = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    trigger = models.CharField(max_length=10, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    params = models.JSONField(default=dict, blank=True)
    params_hash = models.CharField(max_length=64, db_index=True)
    seed = models.BigIntegerField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    checksum = models.CharField(max_length=64, blank=True)
    is_favourite = models.BooleanField(default=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="runs")
    notes = models.TextField(blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # Provenance. An imported run's results are untrusted data: they never enter a cache
    # or reach another run. Its times (created, started, finished) stay the original
    # run's; imported_at says when it arrived here.
    origin = models.CharField(max_length=8, choices=RunOrigin.choices, default=RunOrigin.ENGINE)
    imported_at = models.DateTimeField(null=True, blank=True)
    imported_from = models.CharField(
        max_length=300, blank=True, help_text="What was imported: the source run and file format, or the file name."
    )
    import_format = models.CharField(max_length=8, blank=True, help_text="json, bundle or parquet.")
    # Fencing token: the claim increments it; every write of an execution attempt is
    # conditional on (pk, attempt, RUNNING), so an attempt that lost its claim writes nothing.
    attempt = models.PositiveIntegerField(default=0)
    # Outbox: when the run's task message was last sent, and how many were sent, so
    # a PENDING run whose message was lost is sent again (or failed, with the reason).
    queued_at = models.DateTimeField(null=True, blank=True)
    enqueue_count = models.PositiveIntegerField(default=0)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("launch_run", "Can launch, clone and re-run runs"),
            ("annotate_run", "Can tag, annotate and favourite runs and save comparisons"),
            ("import_run", "Can import runs"),
            ("delete_own_run", "Can delete runs they own"),
            ("cleanup_runs", "Can clean up old runs"),
            ("cancel_run", "Can cancel any run"),
        ]
        indexes = [
            models.Index(fields=["-created_at"], name="run_created_idx"),
            models.Index(fields=["status", "-created_at"], name="run_status_created_idx"),
            models.Index(fields=["kind", "-created_at"], name="run_kind_created_idx"),
            models.Index(fields=["trigger", "-created_at"], name="run_trigger_created_idx"),
            models.Index(fields=["owner", "-created_at"], name="run_owner_created_idx"),
            models.Index(fields=["is_favourite", "-created_at"], name="run_fav_created_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="run_status_heartbeat_idx"),
            # One per sortable column, so any sort of the list reads an index in order.
            models.Index(fields=["duration_seconds"], name="run_duration_idx"),
            models.Index(fields=["started_at"], name="run_started_idx"),
            models.Index(fields=["finished_at"], name="run_finished_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="run_progress_at_most_100"),
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="run_status_valid"),
            models.CheckConstraint(condition=Q(trigger__in=RunTrigger.values), name="run_trigger_valid"),
            models.CheckConstraint(
                condition=(Q(origin=RunOrigin.ENGINE) & Q(imported_at__isnull=True))
                | (Q(origin=RunOrigin.IMPORT) & Q(imported_at__isnull=False)),
                name="run_origin_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.run_id

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_imported(self) -> bool:
        return self.origin == RunOrigin.IMPORT

    @property
    def is_data_only(self) -> bool:
        """An imported table of results with no run behind it: no parameters, no metrics of its kind."""
        return self.is_imported and self.import_format == "parquet"

    @property
    def is_engine_result(self) -> bool:
        """Results our own engine computed for a run that succeeded: the only ones a cache may hold."""
        return self.origin == RunOrigin.ENGINE and self.status == RunStatus.SUCCEEDED

    @property
    def logs_url(self) -> str:
        """Link to the run's logs on the central log platform, when one is configured."""
        template = settings.LOGS_URL_TEMPLATE
        return template.format(run_id=self.run_id) if template else ""


class RunLog(models.Model):
    """One line of a run's log."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="logs")
    created_at = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=7, choices=LogLevel.choices, default=LogLevel.INFO)
    message = models.TextField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "id"], name="runlog_run_id_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%H:%M:%S} {self.level} {self.message[:60]}"


class RunArtifact(models.Model):
    """A result a run produced: bytes in the artifact store, with their SHA-256."""

    class Storage(models.TextChoices):
        FILE = "file", "File"
        DB = "db", "Database"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="artifacts")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    storage = models.CharField(max_length=4, choices=Storage.choices)
    path = models.CharField(max_length=500, blank=True)
    blob = models.BinaryField(null=True, blank=True)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="runartifact_unique_name")]
        # Files are content-addressed and shared; "who else uses this path?" must be cheap.
        indexes = [models.Index(fields=["path"], name="runartifact_path_idx")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.name}"


class RunDaySequence(models.Model):
    """The last sequence number used for human run ids on one day."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class RunComparison(models.Model):
    """A saved side-by-side comparison of 2 to 10 runs. It protects its runs from cleanup."""

    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="run_comparisons"
    )
    runs = models.ManyToManyField(Run, related_name="comparisons")
    # The many-to-many keeps no order: the columns' order and the baseline of Δ and Δ%
    # are stored as saved, so reopening shows exactly what was on screen.
    run_order = models.JSONField(default=list, blank=True, help_text="Run ids in the order of the columns.")
    baseline = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The run Δ and Δ% are against; when it is deleted, the first remaining run.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class RunFavourite(models.Model):
    """One user's star on one run. Each user has their own favourites; a run that
    anyone starred is kept by cleanup (Run.is_favourite says "starred by someone")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="run_favourites")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)
    # The run's own created_at, copied when starred (a run's creation time does not change
    # once it exists): "my favourites, newest first" is then a range of one index,
    # run_favourite_newest, read in the list's order, instead of every starred run fetched
    # and sorted. save() fills it; bulk_create callers set it (services.annotate).
    run_created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "run"], name="run_favourite_once_per_user")]
        indexes = [
            models.Index(fields=["user", "-run_created_at", "-run"], name="run_favourite_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ★ {self.run_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.run_created_at is None:
            if self.run_id is not None and "run" in self._state.fields_cache:
                self.run_created_at = self.run.created_at
            else:
                self.run_created_at = Run.objects.filter(pk=self.run_id).values_list("created_at", flat=True).first()
        super().save(*args, **kwargs)


class SavedView(models.Model):
    """A named run list: its query, the columns it shows and its sort, kept on the server.

    Its owner edits it; when shared, everyone who may see runs can open it (through
    /runs/?view=<id>), each seeing only the runs their own roles allow. One view per
    owner may be their default: a bare /runs/ opens with it."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    query = models.TextField(blank=True, help_text="A filter in the run query language (docs/search.md).")
    columns = models.JSONField(default=list, blank=True, help_text='Extra columns, e.g. ["metrics.lcr", "params.mix"].')
    sort = models.JSONField(default=list, blank=True, help_text='Sort keys, e.g. ["-metrics.rwa_total"].')
    shared = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False, help_text="Opened by a bare /runs/ for its owner.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="savedview_name_once_per_owner"),
            models.UniqueConstraint(
                fields=["owner"], condition=Q(is_default=True), name="savedview_one_default_per_owner"
            ),
        ]

    def __str__(self) -> str:
        return self.name
