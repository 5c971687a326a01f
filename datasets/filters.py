"""The one FilterSet of the dataset list, shared by the page and the API."""
from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery

from simulations.training.models import Dataset, DatasetKind, DatasetSourceFormat


class DatasetFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Name or file contains")
    name = django_filters.CharFilter(field_name="name", lookup_expr="exact", label="Exact name (every version)")
    source_format = django_filters.MultipleChoiceFilter(choices=DatasetSourceFormat.choices, label="Source format")
    kind = django_filters.ChoiceFilter(choices=DatasetKind.choices)
    created_by = django_filters.CharFilter(field_name="created_by__username", label="Uploaded by (username)")
    latest = django_filters.BooleanFilter(method="filter_latest", label="Latest version of each name only")
    ordering = django_filters.OrderingFilter(
        fields=(("name", "name"), ("version", "version"), ("rows", "rows"), ("size_bytes", "size"),
                ("created_at", "created")),
    )

    class Meta:
        model = Dataset
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet[Dataset], name: str, value: str) -> QuerySet[Dataset]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(source_filename__icontains=value))

    def filter_latest(self, queryset: QuerySet[Dataset], name: str, value: Any) -> QuerySet[Dataset]:
        if not value:
            return queryset
        newest = Dataset.objects.filter(name=OuterRef("name")).values("name").annotate(v=Max("version")).values("v")
        return queryset.filter(version=Subquery(newest))
