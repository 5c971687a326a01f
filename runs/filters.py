"""The one FilterSet of the run list, shared by the page and the API."""
from __future__ import annotations

from datetime import timedelta
from datetime import timezone as dt_timezone
from typing import Iterator

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.choices import BaseChoiceIterator

from runs.kinds import all_kinds
from runs.models import Run, RunFavourite, RunStatus, RunTrigger
from runs.query import QueryError, compile_filter, compile_order
from runs.query.columns import split_list
from runs.selectors.listing import favourites_newest_first

PERIOD_CHOICES = [("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days")]


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, turned into UTC while the form is cleaned.

    ISO allows UTC offsets up to ±23:59; PostgreSQL holds only ±15:59, and a moment
    near year 1 or 9999 may fall outside the calendar once in UTC: both are a clear
    400 here, or a correct filter, never a database error."""

    def to_python(self, value: object):
        value = super().to_python(value)
        if value is None or timezone.is_naive(value):
            return value
        try:
            return value.astimezone(dt_timezone.utc)
        except (OverflowError, ValueError):
            raise ValidationError("Enter a date and time between years 1 and 9999 in UTC.", code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
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
    ("is_my_favourite", "favourite"),  # the caller's own star, annotated by selectors.run_list
)


def validate_query(value: str) -> None:
    """A filter in the run query language, or a form error naming the offending character."""
    try:
        compile_filter(value)
    except QueryError as exc:
        raise ValidationError(exc.describe(), code="invalid_query") from None


def validate_ordering(value: str) -> None:
    try:
        compile_order(split_list(value or ""))
    except QueryError as exc:
        raise ValidationError(exc.describe(), code="invalid_ordering") from None


class RunOrderingFilter(django_filters.CharFilter):
    """`ordering=-created_at`, `ordering=status,-duration`, `ordering=-metrics.rwa_total`,
    `ordering=params.mix DESC`: the list's columns, or any metric or parameter (runs
    without it last). Ties are broken newest first, then by id, so pages never shuffle."""

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        items = split_list(value or "")
        if not items:
            return qs
        return compile_order(items).apply(qs)


class KindChoices(BaseChoiceIterator):
    """The registered kinds, read again each time a form iterates its choices.

    Kinds register when apps load, after this module is imported; and a filter
    builds its form field once and keeps it (the schema generator builds it on the
    class-level filter, which every later FilterSet copies), so a list computed at
    any single moment goes stale. A lazy iterator cannot."""

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter([(k.name, k.label) for k in all_kinds()])

    def __len__(self) -> int:
        return len(all_kinds())


def bounded_values(value: object) -> None:
    """Refuse more values than RUN_FILTER_MAX_VALUES in one multi-valued filter.

    Each value costs the database some work; an unbounded list is a way to make
    one request as expensive as the caller likes.
    """
    if value in (None, ""):
        return
    if isinstance(value, (list, tuple, set)):
        count = len(value)
    else:
        count = len([v for v in str(value).split(",") if v.strip()])
    limit = settings.RUN_FILTER_MAX_VALUES
    if count > limit:
        raise ValidationError(
            "at most %(limit)d values may be given (got %(count)d).",
            code="too_many_values",
            params={"limit": limit, "count": count},
        )


def _projects_model(name: str):
    from django.apps import apps

    return apps.get_model("projects", name)


class RunFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    # distinct=False: these are plain columns, no join can repeat a row, and DISTINCT
    # would make PostgreSQL sort the whole filtered table.
    status = django_filters.MultipleChoiceFilter(choices=RunStatus.choices, distinct=False, validators=[bounded_values])
    kind = django_filters.MultipleChoiceFilter(choices=KindChoices(), distinct=False, validators=[bounded_values])
    trigger = django_filters.MultipleChoiceFilter(choices=RunTrigger.choices, distinct=False, validators=[bounded_values])
    favourite = django_filters.BooleanFilter(method="filter_favourite", label="My favourites only")
    tag = django_filters.CharFilter(
        method="filter_tag", label="Tag", validators=[bounded_values],
        help_text="Comma-separated tag names; a run must hold all of them (at most RUN_FILTER_MAX_VALUES).",
    )
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner")
    parent = django_filters.CharFilter(field_name="parent__run_id", label="Parent run id")
    period = django_filters.ChoiceFilter(choices=PERIOD_CHOICES, method="filter_period", label="Period")
    # Where a run is filed (projects.RunPlacement, one row per run); the querysets are read
    # when the form is built, so this module imports nothing of the projects app.
    project = django_filters.ModelChoiceFilter(
        field_name="placement__project", queryset=lambda request: _projects_model("Project").objects.all(),
        label="Project", help_text="A project's id: its runs only.",
    )
    experiment = django_filters.ModelChoiceFilter(
        field_name="placement__experiment", queryset=lambda request: _projects_model("Experiment").objects.all(),
        label="Experiment", help_text="An experiment's id: its runs only.",
    )
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = RunOrderingFilter(
        label="Sort", validators=[validate_ordering],
        help_text=(
            "Comma-separated sort keys, each `-` prefixed (or followed by DESC) for descending: "
            + ", ".join(label for _, label in SORTABLE)
            + ", metrics.<key> or params.<key> (runs without the value last)."
        ),
    )
    filter = django_filters.CharFilter(
        method="filter_query", label="Query", validators=[validate_query],
        help_text='A filter in the run query language, e.g. `kind = simulation AND metrics.lcr > 1.5` (docs/search.md).',
    )

    class Meta:
        model = Run
        fields: list[str] = []

    def filter_query(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value.strip():
            return queryset
        return compile_filter(value, user=getattr(self.request, "user", None)).apply(queryset)

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
        names = list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
        if not names:
            return queryset
        # One grouped subquery: the runs linked to all the names. One EXISTS per
        # name made the planner's work grow much faster than the number of names.
        holding_all = (
            Run.tags.through.objects.filter(tag__name__in=names)
            .order_by()
            .values("run_id")
            .annotate(matched=Count("tag_id", distinct=True))
            .filter(matched=len(names))
            .values("run_id")
        )
        return queryset.filter(pk__in=holding_all)

    def filter_favourite(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        """The caller's own favourites (or, with false, the runs the caller did not star).

        The favourites are joined, not tested with EXISTS: a user stars a run once
        (run_favourite_once_per_user), so no run repeats, and filter_queryset can then
        read them newest first from their own index."""
        if value is None:
            return queryset
        user_pk = getattr(getattr(self.request, "user", None), "pk", None)
        if value:
            return queryset.filter(favourites__user_id=user_pk)
        mine = RunFavourite.objects.filter(run=OuterRef("pk"), user_id=user_pk)
        return queryset.exclude(Exists(mine))

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if not split_list(self.form.cleaned_data.get("ordering") or ""):
            # The default order, newest first, breaks ties by id as every explicit sort and
            # every cursor does: numbered pages and the pages "Next" reaches by cursor then
            # agree row for row, even for runs created at the same instant.
            queryset = queryset.order_by(F("created_at").desc(), F("pk").desc())
        if self.form.cleaned_data.get("favourite") is True:
            queryset = favourites_newest_first(queryset)
        return queryset

    def filter_period(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(created_at__gte=timezone.now() - timedelta(days=int(value)))
