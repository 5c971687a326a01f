"""The one FilterSet of the run list, shared by the page and the API."""
from __future__ import annotations

from datetime import timedelta

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from runs.kinds import all_kinds
from runs.models import Run, RunStatus, RunTrigger, Tag

PERIOD_CHOICES = [("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days")]
SORTABLE = (
    ("run_id", "run_id"),
    ("kind", "kind"),
    ("status", "status"),
    ("trigger", "trigger"),
    ("owner__username", "owner"),
    ("created_at", "created_at"),
    ("started_at", "started_at"),
    ("finished_at", "finished_at"),
    ("duration_seconds", "duration"),
    ("progress", "progress"),
    ("is_favourite", "favourite"),
)


class StableOrderingFilter(django_filters.OrderingFilter):
    """Sorts as asked, then newest first, so that pages never shuffle rows with equal keys."""

    def filter(self, qs: QuerySet, value: list[str] | None) -> QuerySet:
        qs = super().filter(qs, value)
        if value and not any(v.lstrip("-") == "created_at" for v in value):
            qs = qs.order_by(*qs.query.order_by, "-created_at")
        return qs


def _kind_choices() -> list[tuple[str, str]]:
    return [(k.name, k.label) for k in all_kinds()]


class RunFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    # distinct=False: these are plain columns, no join can repeat a row, and DISTINCT
    # would make PostgreSQL sort the whole filtered table.
    status = django_filters.MultipleChoiceFilter(choices=RunStatus.choices, distinct=False)
    kind = django_filters.MultipleChoiceFilter(choices=[], distinct=False)
    trigger = django_filters.MultipleChoiceFilter(choices=RunTrigger.choices, distinct=False)
    favourite = django_filters.BooleanFilter(field_name="is_favourite", label="Favourites only")
    tag = django_filters.CharFilter(method="filter_tag", label="Tag")
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner")
    parent = django_filters.CharFilter(field_name="parent__run_id", label="Parent run id")
    period = django_filters.ChoiceFilter(choices=PERIOD_CHOICES, method="filter_period", label="Period")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = StableOrderingFilter(fields=SORTABLE)

    class Meta:
        model = Run
        fields: list[str] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Kinds register when apps load, after this module is imported.
        self.filters["kind"].extra["choices"] = _kind_choices()

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        # Three index-backed lookups (trigram indexes on PostgreSQL) united into one id
        # set: an OR across the run table and its tags would scan every run.
        by_id = Run.objects.filter(run_id__icontains=value).order_by().values("pk")
        by_notes = Run.objects.filter(notes__icontains=value).order_by().values("pk")
        by_tag = Run.tags.through.objects.filter(tag__name__icontains=value).order_by().values("run_id")
        return queryset.filter(pk__in=by_id.union(by_notes, by_tag))

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        names = [v.strip() for v in value.split(",") if v.strip()]
        for tag in names:
            queryset = queryset.filter(Exists(Tag.objects.filter(runs=OuterRef("pk"), name=tag)))
        return queryset

    def filter_period(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(created_at__gte=timezone.now() - timedelta(days=int(value)))
