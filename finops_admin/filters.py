"""The one FilterSet of Admin › Batch Runs, shared by the page, its CSV and the API."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import F, QuerySet
from django.utils import timezone

from runs.filters import bounded_values
from runs.models import Run, RunStatus, RunTrigger

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DOMAIN_RE = re.compile(r"^[-a-z0-9_]{1,32}$")

# Triggers a batch can have: the schedule, a person (page or command), the API, a reprocess.
TRIGGER_CHOICES = [
    (RunTrigger.CRON, "CRON"),
    (RunTrigger.MANUAL, "MANUAL"),
    (RunTrigger.API, "API"),
    (RunTrigger.REPROCESS, "REPROCESS"),
]

# (model field, name in ?ordering=)
SORTABLE = (
    ("run_id", "run_id"),
    ("trigger", "trigger"),
    ("status", "status"),
    ("started_at", "started_at"),
    ("finished_at", "finished_at"),
    ("duration_seconds", "duration"),
    ("finops_batch__rows_inserted", "inserted"),
    ("finops_batch__views_refreshed", "views"),
    ("finops_batch__error_count", "errors"),
)
DEFAULT_ORDERING = "-started_at"


def _month(value: str) -> None:
    if value and not MONTH_RE.match(value):
        raise ValidationError("Give a month as YYYY-MM.", code="invalid")


def _domain(value: str) -> None:
    if value and not DOMAIN_RE.match(value):
        raise ValidationError("Give a domain code (letters, digits, - or _).", code="invalid")


def default_order(queryset: QuerySet[Run]) -> QuerySet[Run]:
    """Start, newest first; a run not started yet (PENDING) is newer than any started one;
    then creation, so that pages never shuffle rows with equal keys."""
    return queryset.order_by(F("started_at").desc(nulls_first=True), "-created_at")


class BatchOrderingFilter(django_filters.OrderingFilter):
    def filter(self, qs: QuerySet, value: list[str] | None) -> QuerySet:
        if not value:
            return default_order(qs)
        qs = super().filter(qs, value)
        # Nulls (a run not started or not finished) sort as "newest" both ways on both databases.
        fields = []
        for v in value:
            name = self.param_map.get(v.lstrip("-"), v.lstrip("-"))
            fields.append(F(name).desc(nulls_first=True) if v.startswith("-") else F(name).asc(nulls_last=True))
        return qs.order_by(*fields, "-created_at")


class BatchRunFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Run id", help_text="Part of a run id.")
    status = django_filters.MultipleChoiceFilter(
        choices=RunStatus.choices, distinct=False, validators=[bounded_values], label="Status",
    )
    trigger = django_filters.MultipleChoiceFilter(
        choices=TRIGGER_CHOICES, distinct=False, validators=[bounded_values], label="Trigger",
    )
    period = django_filters.CharFilter(
        method="filter_period", label="Period", validators=[_month],
        help_text="A month YYYY-MM the batch processed.",
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    domain = django_filters.CharFilter(
        method="filter_domain", label="Domain", validators=[_domain], help_text="A domain code, e.g. public.",
    )
    started_after = django_filters.DateFilter(
        method="filter_started_after", label="Started from", help_text="A date YYYY-MM-DD (inclusive).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    started_before = django_filters.DateFilter(
        method="filter_started_before", label="Started until", help_text="A date YYYY-MM-DD (inclusive).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    anomalies = django_filters.BooleanFilter(
        method="filter_anomalies", label="Anomalies only", widget=forms.CheckboxInput,
        help_text="Only the runs flagged as anomalous (duration or volume).",
    )
    ordering = BatchOrderingFilter(fields=SORTABLE)

    class Meta:
        model = Run
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(run_id__icontains=value) if value else queryset

    @staticmethod
    def _holding(queryset: QuerySet, key: str, value: str) -> QuerySet:
        """Runs whose parameter `key` (a JSON list) holds `value`: jsonb containment on PostgreSQL
        (no text conversion of every row), the quoted item in the JSON text on SQLite (which has no
        containment lookup; the quotes make it match one whole item)."""
        if connections[queryset.db].vendor == "postgresql":
            return queryset.filter(params__contains={key: [value]})
        return queryset.filter(**{f"params__{key}__icontains": f'"{value}"'})

    def filter_period(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return self._holding(queryset, "periods", value) if value else queryset

    def filter_domain(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return self._holding(queryset, "domains", value.lower()) if value else queryset

    @staticmethod
    def _day_start(day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time.min))

    def filter_started_after(self, queryset: QuerySet, name: str, value: date | None) -> QuerySet:
        return queryset.filter(started_at__gte=self._day_start(value)) if value else queryset

    def filter_started_before(self, queryset: QuerySet, name: str, value: date | None) -> QuerySet:
        if not value:
            return queryset
        try:
            end = self._day_start(value + timedelta(days=1))
        except OverflowError:
            return queryset
        return queryset.filter(started_at__lt=end)

    def filter_anomalies(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        return queryset.filter(finops_batch__is_anomalous=True) if value else queryset
