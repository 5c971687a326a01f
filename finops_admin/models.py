"""FinOps: the cost catalogue, allocation rules, cost readings and the batch that loads them.

The batch is a run kind (`finops_batch`): the run core tracks its lifecycle; the
rows here hold what only FinOps knows about it (blocks per domain, aggregate
refreshes, anomalies) and the readings it loaded.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from runs.models import Run

MONEY = {"max_digits": 20, "decimal_places": 6}


# ---------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------
class Domain(models.Model):
    """A hosting domain whose costs are loaded as one block (Open, Private, Public, Native).

    Domains are data: the batch, the views and the source folders all read them from here.
    """

    code = models.SlugField(max_length=32, unique=True, help_text="Folder name of its sources, e.g. public.")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0, help_text="Display order.")

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class Family(models.Model):
    """A family of applications within a domain (the middle level of the cost drill-down)."""

    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="families")
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    is_unallocated = models.BooleanField(
        default=False, help_text="The domain's bucket for costs that match no allocation rule."
    )

    class Meta:
        ordering = ["domain__position", "name"]
        verbose_name_plural = "families"
        constraints = [models.UniqueConstraint(fields=["domain", "code"], name="finops_family_unique_code")]

    def __str__(self) -> str:
        return f"{self.domain.name} › {self.name}"


class Application(models.Model):
    """An application costs are allocated to; its family fixes its domain."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="applications")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="applications")
    owner_team = models.CharField(max_length=200, blank=True)
    is_unallocated = models.BooleanField(
        default=False, help_text="The domain's 'Unallocated' bucket: costs no rule matched, kept, never dropped."
    )

    class Meta:
        ordering = ["code"]
        indexes = [models.Index(fields=["domain", "family"], name="finops_app_domain_family_idx")]
        constraints = [
            # One unallocated bucket per domain.
            models.UniqueConstraint(
                fields=["domain"], condition=Q(is_unallocated=True), name="finops_app_one_unallocated_per_domain"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class AllocationRule(models.Model):
    """Maps a FOCUS row to an application; the first matching rule by priority wins."""

    class Field(models.TextChoices):
        PROVIDER = "provider", "Provider"
        BILLING_ACCOUNT = "billing_account", "Billing account"
        SUB_ACCOUNT = "sub_account", "Sub-account"
        TAG = "tag", "Tag"

    priority = models.PositiveIntegerField(help_text="Lower numbers are tried first.")
    domain = models.ForeignKey(
        Domain, null=True, blank=True, on_delete=models.CASCADE, related_name="rules",
        help_text="Only rows of this domain (empty: every domain).",
    )
    field = models.CharField(max_length=20, choices=Field.choices)
    tag_key = models.CharField(max_length=200, blank=True, help_text="For tag rules: the FOCUS Tags key.")
    value = models.CharField(max_length=500, help_text="Exact value to match.")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="rules")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(field__in=["provider", "billing_account", "sub_account", "tag"]),
                                   name="finops_rule_field_valid"),
            models.CheckConstraint(condition=~Q(field="tag") | ~Q(tag_key=""), name="finops_rule_tag_needs_key"),
        ]

    def __str__(self) -> str:
        what = f"tag {self.tag_key}={self.value}" if self.field == self.Field.TAG else f"{self.field}={self.value}"
        return f"#{self.priority} {what} → {self.application.code}"


# ---------------------------------------------------------------------------
# Readings
# ---------------------------------------------------------------------------
class CostReading(models.Model):
    """One cost reading of a month, loaded from one row of a FOCUS export.

    Domain and family are copied from the application at load time so that the
    aggregates group without joins. A block replaces its domain's readings for its
    periods, so (period, domain) is the unit of replacement.
    """

    # The foreign keys of this (large) table are checked by Django (PROTECT, SET_NULL) and by the
    # loader (ids come from the catalogue), not by database constraints: a constraint costs a
    # trigger per row and foreign key at commit, which dominated the time of a batch's COPY.
    period = models.DateField(help_text="First day of the month the cost belongs to.")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="readings",
                                    db_constraint=False)
    provider = models.CharField(max_length=100)
    service_category = models.CharField(max_length=100, blank=True)
    service_name = models.CharField(max_length=200, blank=True)
    billing_account = models.CharField(max_length=200, blank=True)
    sub_account = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=100, blank=True)
    billed_cost = models.DecimalField(**MONEY)
    effective_cost = models.DecimalField(**MONEY)
    list_cost = models.DecimalField(**MONEY, null=True, blank=True)
    billing_currency = models.CharField(max_length=3)
    consumed_quantity = models.DecimalField(max_digits=28, decimal_places=6, null=True, blank=True)
    consumed_unit = models.CharField(max_length=100, blank=True)
    source_file = models.CharField(max_length=500)
    source_row = models.PositiveIntegerField()
    batch_run = models.ForeignKey(Run, null=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False)

    class Meta:
        indexes = [
            models.Index(fields=["period", "domain"], name="finops_reading_period_dom_idx"),
            models.Index(fields=["period", "application"], name="finops_reading_period_app_idx"),
            models.Index(fields=["batch_run"], name="finops_reading_run_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} {self.application_id} {self.billed_cost}"


# ---------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------
class BatchRun(models.Model):
    """What FinOps keeps about one run of the `finops_batch` kind, beside the run core's row.

    Summary columns are denormalised here at the end of each block so that the
    Batch Runs list reads one row per run.
    """

    run = models.OneToOneField(Run, primary_key=True, on_delete=models.CASCADE, related_name="finops_batch")
    periods = models.JSONField(default=list, help_text='Months processed, e.g. ["2026-10", "2026-11"].')
    domains = models.JSONField(default=list, help_text="Domain codes processed.")
    source = models.CharField(max_length=500, blank=True, help_text="Source folder, or 'upload'.")
    rows_inserted = models.BigIntegerField(default=0)
    rows_deleted = models.BigIntegerField(default=0)
    rows_rejected = models.BigIntegerField(default=0)
    views_refreshed = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    short_error = models.CharField(max_length=300, blank=True)
    is_anomalous = models.BooleanField(default=False)
    anomalies = models.JSONField(default=list, blank=True, help_text="Reasons, one sentence each.")

    class Meta:
        permissions = [("trigger_batchrun", "Can launch and reprocess FinOps batch runs")]
        indexes = [models.Index(fields=["is_anomalous"], name="finops_batch_anomalous_idx")]

    def __str__(self) -> str:
        return str(self.run_id)


class BlockStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    RUNNING = "RUNNING", "Running"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"
    SKIPPED = "SKIPPED", "Skipped"


class BatchBlock(models.Model):
    """The load of one domain within a batch run: replaced in one transaction, or not at all."""

    batch = models.ForeignKey(BatchRun, on_delete=models.CASCADE, related_name="blocks")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=BlockStatus.choices, default=BlockStatus.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    files_read = models.PositiveIntegerField(default=0)
    rows_read = models.BigIntegerField(default=0)
    rows_inserted = models.BigIntegerField(default=0)
    rows_deleted = models.BigIntegerField(default=0)
    rows_rejected = models.BigIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list, blank=True, help_text="The first errors: {file, row, column, reason} each."
    )
    per_period = models.JSONField(
        default=dict, blank=True, help_text='{"2026-11": {"inserted": n, "deleted": n}, …}'
    )

    class Meta:
        ordering = ["domain__position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "domain"], name="finops_block_unique_domain"),
            models.CheckConstraint(condition=Q(status__in=BlockStatus.values), name="finops_block_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id} {self.domain.code} {self.status}"


class AggregateRefresh(models.Model):
    """One refresh of one aggregate (a materialized view on PostgreSQL, a table on SQLite)."""

    batch = models.ForeignKey(BatchRun, on_delete=models.CASCADE, related_name="refreshes")
    view = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    duration_seconds = models.FloatField()
    rows = models.BigIntegerField()

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.view} {self.rows} rows in {self.duration_seconds:.2f} s"


class Currency(models.Model):
    """A billing currency the batch accepts (ISO 4217 code); others are refused row by row."""

    code = models.CharField(max_length=3, primary_key=True)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "currencies"

    def __str__(self) -> str:
        return self.code



# ---------------------------------------------------------------------------
# Aggregates (read-only): materialized views on PostgreSQL, tables on SQLite
# ---------------------------------------------------------------------------
# Created by migrations 0003 and 0005 (finops_admin/aggregate_sql.py), refreshed at the end
# of each batch by finops_admin.aggregates; read through these models the same way
# on both databases.
class _Aggregate(models.Model):
    period = models.DateField()
    billed_cost = models.DecimalField(**MONEY)
    effective_cost = models.DecimalField(**MONEY)
    list_cost = models.DecimalField(**MONEY, null=True)
    readings = models.BigIntegerField()

    class Meta:
        abstract = True
        managed = False


class CostByDomainMonth(_Aggregate):
    pk = models.CompositePrimaryKey("period", "domain")
    domain = models.ForeignKey(Domain, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")

    class Meta:
        managed = False
        db_table = "finops_agg_domain_month"
        ordering = ["period", "domain"]


class CostByFamilyMonth(_Aggregate):
    pk = models.CompositePrimaryKey("period", "domain", "family")
    domain = models.ForeignKey(Domain, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    family = models.ForeignKey(Family, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")

    class Meta:
        managed = False
        db_table = "finops_agg_family_month"
        ordering = ["period", "domain", "family"]


class CostByApplicationMonth(_Aggregate):
    pk = models.CompositePrimaryKey("period", "domain", "family", "application")
    domain = models.ForeignKey(Domain, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    family = models.ForeignKey(Family, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")

    class Meta:
        managed = False
        db_table = "finops_agg_application_month"
        ordering = ["period", "application"]


class CostByServiceMonth(_Aggregate):
    """Per month and application, by provider and service category (the application view's split)."""

    pk = models.CompositePrimaryKey("application", "period", "provider", "service_category", "domain", "family")
    domain = models.ForeignKey(Domain, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    family = models.ForeignKey(Family, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    provider = models.CharField(max_length=100)
    service_category = models.CharField(max_length=100)

    class Meta:
        managed = False
        db_table = "finops_agg_service_month"
        ordering = ["period", "application", "provider", "service_category"]


class ApplicationRanking(models.Model):
    """Per month and application: its effective cost, last month's, the change and both ranks."""

    pk = models.CompositePrimaryKey("period", "application")
    period = models.DateField()
    application = models.ForeignKey(Application, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    billed_cost = models.DecimalField(**MONEY)
    effective_cost = models.DecimalField(**MONEY)
    previous_effective_cost = models.DecimalField(**MONEY)
    change = models.DecimalField(**MONEY)
    cost_rank = models.BigIntegerField(help_text="1 = the highest effective cost of the month.")
    change_rank = models.BigIntegerField(help_text="1 = the largest increase over the previous month.")

    class Meta:
        managed = False
        db_table = "finops_agg_application_ranking"
        ordering = ["period", "cost_rank"]
