"""The console's lists: one FilterSet each, shared by the page and the API."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import ApiKey, AuditEvent, User
from accounts.roles import Role


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search", max_length=100)
    role = django_filters.ChoiceFilter(choices=Role.choices, method="by_role", label="Role")
    active = django_filters.BooleanFilter(field_name="is_active", label="Active")

    class Meta:
        model = User
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(username__icontains=value) | Q(email__icontains=value)
                               | Q(first_name__icontains=value) | Q(last_name__icontains=value))

    def by_role(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == Role.ADMIN:
            return queryset.filter(Q(groups__name=value) | Q(is_superuser=True)).distinct()
        return queryset.filter(groups__name=value).distinct()


class ApiKeyFilter(django_filters.FilterSet):
    owner = django_filters.CharFilter(field_name="owner__username", lookup_expr="iexact", max_length=150)
    state = django_filters.ChoiceFilter(
        choices=[("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")], method="by_state")

    class Meta:
        model = ApiKey
        fields: list[str] = []

    def by_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        now = timezone.now()
        if value == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if value == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class AuditFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor_name", lookup_expr="iexact", max_length=150, label="Actor")
    action = django_filters.CharFilter(field_name="action", lookup_expr="istartswith", max_length=64,
                                       label="Action (or its start, e.g. user.)")
    target = django_filters.CharFilter(field_name="target", lookup_expr="icontains", max_length=200, label="Target")
    surface = django_filters.ChoiceFilter(field_name="surface", choices=AuditEvent._meta.get_field("surface").choices)
    since = django_filters.DateFilter(method="from_day", label="From (day)")
    until = django_filters.DateFilter(method="to_day", label="To (day, included)")

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def from_day(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(created_at__gte=timezone.make_aware(datetime.combine(value, time.min)))

    def to_day(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(created_at__lt=timezone.make_aware(datetime.combine(value + timedelta(days=1), time.min)))
