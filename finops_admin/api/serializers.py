"""Shapes of the Batch Runs API."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from finops_admin import selectors
from finops_admin.models import AggregateRefresh, BatchBlock


class ChipSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()


class BlockSerializer(serializers.ModelSerializer):
    domain = serializers.CharField(source="domain.code")
    domain_name = serializers.CharField(source="domain.name")
    status = serializers.CharField(help_text="PENDING, RUNNING, SUCCEEDED, FAILED or SKIPPED (after a cancel).")
    errors = serializers.ListField(child=serializers.DictField(), help_text="The first errors: file, row, column, reason.")
    per_period = serializers.DictField(help_text='{"2026-11": {"inserted": n, "deleted": n}, …}')

    class Meta:
        model = BatchBlock
        fields = ["domain", "domain_name", "status", "started_at", "finished_at", "duration_seconds", "files_read",
                  "rows_read", "rows_inserted", "rows_deleted", "rows_rejected", "error_count", "errors", "per_period"]


class RefreshSerializer(serializers.ModelSerializer):
    class Meta:
        model = AggregateRefresh
        fields = ["view", "started_at", "finished_at", "duration_seconds", "rows"]


class BatchRunListSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    trigger = serializers.CharField()
    status = serializers.CharField()
    periods = serializers.SerializerMethodField()
    domains = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)
    progress = serializers.IntegerField()
    readings_inserted = serializers.SerializerMethodField()
    readings_deleted = serializers.SerializerMethodField()
    rows_rejected = serializers.SerializerMethodField()
    views_refreshed = serializers.SerializerMethodField()
    error_count = serializers.SerializerMethodField()
    short_error = serializers.SerializerMethodField()
    is_anomalous = serializers.SerializerMethodField()
    anomalies = serializers.SerializerMethodField()
    parent = serializers.SerializerMethodField()
    logs_url = serializers.CharField(help_text="Link to the log platform (LOGS_URL_TEMPLATE), empty if none.")

    def _batch(self, run: Any) -> Any:
        return selectors.batch_of(run)

    def get_periods(self, run: Any) -> list[str]:
        return list(run.params.get("periods", []))

    def get_domains(self, run: Any) -> list[dict[str, str]]:
        if "domain_names" not in self.context:  # once per response, not once per row
            self.context["domain_names"] = selectors._domain_names()
        names = self.context["domain_names"]
        return [vars(c) for c in selectors.row_chips(run, names)]

    def _num(self, run: Any, name: str) -> int:
        batch = self._batch(run)
        return int(getattr(batch, name)) if batch else 0

    def get_readings_inserted(self, run: Any) -> int:
        return self._num(run, "rows_inserted")

    def get_readings_deleted(self, run: Any) -> int:
        return self._num(run, "rows_deleted")

    def get_rows_rejected(self, run: Any) -> int:
        return self._num(run, "rows_rejected")

    def get_views_refreshed(self, run: Any) -> int:
        return self._num(run, "views_refreshed")

    def get_error_count(self, run: Any) -> int:
        return self._num(run, "error_count")

    def get_short_error(self, run: Any) -> str:
        return selectors.short_error(run)

    def get_is_anomalous(self, run: Any) -> bool:
        batch = self._batch(run)
        return bool(batch and batch.is_anomalous)

    def get_anomalies(self, run: Any) -> list[str]:
        batch = self._batch(run)
        return list(batch.anomalies) if batch else []

    def get_parent(self, run: Any) -> str | None:
        return run.parent.run_id if run.parent_id else None


class LogLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    level = serializers.CharField()
    message = serializers.CharField()


class PeriodLineSerializer(serializers.Serializer):
    period = serializers.CharField()
    recompute = serializers.CharField(help_text='"current month", "previous month, recomputed" or empty.')


class BatchRunDetailSerializer(BatchRunListSerializer):
    code_version = serializers.CharField()
    owner = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()
    period_lines = PeriodLineSerializer(many=True, source="detail.periods")
    blocks = BlockSerializer(many=True, source="detail.blocks")
    refreshes = RefreshSerializer(many=True, source="detail.refreshes")
    log_tail = LogLineSerializer(many=True, source="detail.log_tail", help_text="The last lines of the log.")
    log_count = serializers.IntegerField(source="detail.log_count")
    children = serializers.SerializerMethodField(help_text="Reprocesses of this run.")

    def get_owner(self, run: Any) -> str | None:
        return run.owner.username if run.owner_id else None

    def get_source(self, run: Any) -> str:
        return str(run.params.get("source", ""))

    def get_children(self, run: Any) -> list[str]:
        return [c.run_id for c in run.detail.children]


class BatchLaunchSerializer(serializers.Serializer):
    """Launch parameters; each may be left out (the defaults of the batch)."""

    periods = serializers.CharField(required=False, allow_blank=True,
                                    help_text="Months YYYY-MM separated by commas (a list is accepted too); "
                                              "empty: the current month and the previous one (recomputed).")
    domains = serializers.CharField(required=False, allow_blank=True,
                                    help_text="Domain codes separated by commas (a list is accepted too); empty: all.")
    source = serializers.CharField(required=False, allow_blank=True,
                                   help_text="A folder under FINOPS_SOURCE_ROOTS; empty: FINOPS_SOURCE_DIR.")


class ReprocessRequestSerializer(serializers.Serializer):
    run_id = serializers.CharField(max_length=40, help_text="The past batch run whose periods and domains are run again.")
    preview = serializers.BooleanField(default=False, help_text="Only say what would be replaced; launch nothing.")


class ReplacedSerializer(serializers.Serializer):
    period = serializers.CharField()
    domain = serializers.CharField()
    rows = serializers.IntegerField(help_text="Readings held now, replaced by the reprocess.")


class ReprocessSerializer(serializers.Serializer):
    preview = serializers.SerializerMethodField(help_text="True when nothing was launched.")
    source_run = serializers.CharField(source="source_run.run_id")
    periods = serializers.ListField(child=serializers.CharField())
    domains = serializers.ListField(child=serializers.CharField())
    source = serializers.CharField()
    replaced = ReplacedSerializer(many=True)
    total = serializers.IntegerField()
    run_id = serializers.SerializerMethodField(help_text="The new run (null for a preview).")

    def get_preview(self, plan: Any) -> bool:
        return plan.run is None

    def get_run_id(self, plan: Any) -> str | None:
        return plan.run.run_id if plan.run else None
