from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from accounts import roles
from runs import selectors, services
from runs.api.openapi import launch_request
from runs.api.serializers import (
    RunAnnotateSerializer,
    RunBulkSerializer,
    RunCloneSerializer,
    RunKindSerializer,
    RunLaunchSerializer,
    RunListSerializer,
    RunLogSerializer,
    RunSerializer,
)
from runs.filters import RunFilter
from runs.kinds import kinds_launchable_by
from runs.models import LogLevel, Run, RunTrigger, Tag
from runs.pagination import CachedCountPaginator, CursorError, keyset_page
from runs.query import QueryError
from runs.query.columns import Column, parse_columns, split_list
from runs.selectors.listing import run_list_tag_names, run_list_values, run_log_text, runs_csv_rows, with_columns


MAX_LOG_ID = 2**63 - 1  # log line ids are 64-bit


def _as_drf_error(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


COLUMN_PARAMETERS = [
    OpenApiParameter(
        "cursor", str,
        description=(
            "Keyset paging: empty for the first page, then the `cursor` of the previous answer's `next`. "
            "Deep pages cost what the first does (`page` is ignored; `previous` is null)."
        ),
    ),
    OpenApiParameter(
        "metrics", str,
        description="Comma-separated metric keys to return in each run's `metrics` (e.g. `lcr,rwa_total`).",
    ),
    OpenApiParameter(
        "params", str,
        description="Comma-separated parameter keys to return in each run's `params` (e.g. `positions,mix`).",
    ),
    OpenApiParameter(
        "fields", str,
        description="Comma-separated `metrics.<key>` and `params.<key>` columns (both of the above in one list).",
    ),
]


def requested_columns(query_params: Any) -> list[Column]:
    """The metric and parameter columns a list request chose, or a 400 naming the bad one."""
    try:
        return parse_columns(
            [f"metrics.{k}" for k in split_list(query_params.get("metrics", ""))]
            + [f"params.{k}" for k in split_list(query_params.get("params", ""))]
            + split_list(query_params.get("fields", ""))
        )
    except QueryError as exc:
        raise ValidationError({"fields": [exc.describe()]}) from None


def visible_runs_by_id(user: Any, run_ids: list[str]) -> list[Run]:
    """The runs named by `run_ids`, all visible to the user, or a 404 naming the missing ones."""
    found = {r.run_id: r for r in selectors.run_list(user=user).filter(run_id__in=run_ids)}
    missing = [rid for rid in run_ids if rid not in found]
    if missing:
        raise NotFound(f"No such run (or not visible to you): {', '.join(missing)}")
    return [found[rid] for rid in dict.fromkeys(run_ids)]


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Runs of every kind the caller may see. POST launches a run; PATCH annotates one."""

    lookup_field = "run_id"
    filterset_class = RunFilter

    def get_queryset(self):
        return selectors.run_list(user=self.request.user)

    def get_object(self):
        return selectors.run_get(user=self.request.user, run_id=self.kwargs["run_id"])

    @extend_schema(parameters=COLUMN_PARAMETERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Runs of every kind the caller may see, filtered (`filter=` takes the run query
        language), sorted (`ordering=`, metrics and params too) and paginated."""
        columns = requested_columns(request.query_params)
        queryset = with_columns(self.filter_queryset(self.get_queryset()), columns)
        # The page's rows are read as plain values, not model instances (run_list_values:
        # same output, a fraction of the time); totals are counted on the queryset itself.
        rows = run_list_values(queryset, columns)
        context = {**self.get_serializer_context(), "columns": columns}
        if "cursor" in request.query_params:
            return self.keyset_list(request, queryset, rows, context)
        page = run_list_tag_names(self.paginator.paginate_queryset(queryset, request, view=self, rows=rows))
        return self.get_paginated_response(RunListSerializer(page, many=True, context=context).data)

    def keyset_list(self, request: Request, queryset: Any, rows: Any, context: dict[str, Any]) -> Response:
        """A page after `cursor` (empty: the first): as fast at any depth as the first page."""
        size = self.paginator.get_page_size(request)
        ordering = split_list(request.query_params.get("ordering", ""))
        try:
            page = keyset_page(rows, ordering, request.query_params.get("cursor") or None, size)
        except CursorError as exc:
            raise ValidationError({"cursor": [str(exc)]}) from None
        paginator = CachedCountPaginator(queryset, size)
        next_url = None
        if page.next_cursor:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
        return Response({
            "count": paginator.count,
            "next": next_url,
            "previous": None,
            "results": RunListSerializer(run_list_tag_names(page.rows), many=True, context=context).data,
            "count_approximate": paginator.count_is_approximate,
            "count_estimated": paginator.count_is_estimate,
        })

    def get_serializer_class(self):
        if self.action == "list":
            return RunListSerializer
        if self.action == "create":
            return RunLaunchSerializer
        if self.action == "partial_update":
            return RunAnnotateSerializer
        if self.action == "clone":
            return RunCloneSerializer
        if self.action == "bulk":
            return RunBulkSerializer
        return RunSerializer

    @extend_schema(
        request=launch_request(),
        responses={
            201: RunSerializer,
            202: OpenApiResponse(RunSerializer, description="Stored PENDING; queued once the task queue answers again."),
        },
    )
    def create(self, request: Request) -> Response:
        """Launch a run: validates the kind's parameters and queues it for a worker."""
        if not kinds_launchable_by(request.user):  # refused before its input is read
            raise PermissionDenied("You may not launch runs.")
        launch = RunLaunchSerializer(data=request.data)
        launch.is_valid(raise_exception=True)
        try:
            run = services.run_create(
                kind=launch.validated_data["kind"],
                params=launch.validated_data["params"],
                trigger=RunTrigger.API,
                owner=request.user,
                tags=launch.validated_data["tags"],
                notes=launch.validated_data["notes"],
            )
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from None
        return _launched(run)

    @extend_schema(request=RunAnnotateSerializer, responses=RunSerializer)
    def partial_update(self, request: Request, run_id: str) -> Response:
        """Set the favourite flag, the tags (the whole list) or the notes."""
        run = self.get_object()
        body = RunAnnotateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.run_annotate(run=run, actor=request.user, **body.validated_data)
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from None
        return Response(RunSerializer(selectors.run_get(user=request.user, run_id=run.run_id)).data)

    @extend_schema(request=RunCloneSerializer, responses={201: RunSerializer, 202: RunSerializer})
    @action(detail=True, methods=["post"])
    def clone(self, request: Request, run_id: str) -> Response:
        """Launch a copy of this run with some parameters changed (trigger CLONE, parent link)."""
        run = self.get_object()
        body = RunCloneSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            clone = services.run_clone(run=run, actor=request.user, **body.validated_data)
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from None
        return _launched(clone)

    @extend_schema(
        request=RunBulkSerializer,
        responses={
            200: inline_serializer("RunBulkResult", {
                "action": drf_serializers.ChoiceField(choices=RunBulkSerializer.ACTIONS),
                "runs": drf_serializers.IntegerField(help_text="How many runs were changed."),
            }),
            404: OpenApiResponse(description="A run id that does not exist or is not visible to you; nothing was changed."),
        },
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        """Favourite, unfavourite, tag or untag many runs: all of them or none."""
        if not roles.can_annotate_run(request.user):  # refused before its input is read
            raise PermissionDenied("You may not change runs.")
        body = RunBulkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        runs = visible_runs_by_id(request.user, body.validated_data["runs"])
        act = body.validated_data["action"]
        try:
            if act in ("favourite", "unfavourite"):
                count = services.runs_set_favourite(runs=runs, actor=request.user, value=act == "favourite")
            else:
                count = services.runs_tag(runs=runs, actor=request.user, tag=body.validated_data["tag"], add=act == "tag")
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from None
        return Response({"action": act, "runs": count})

    @extend_schema(parameters=COLUMN_PARAMETERS, responses={(200, "text/csv"): str})
    @action(detail=False, methods=["get"], url_path="csv")
    def csv(self, request: Request) -> StreamingHttpResponse:
        """The filtered list (same filters as the list) as CSV, every column, streamed;
        chosen metrics and parameters (`metrics=`, `params=`, `fields=`) as columns of their own."""
        columns = requested_columns(request.query_params)
        queryset = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(runs_csv_rows(queryset, columns), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="runs-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        return response

    @extend_schema(
        parameters=[OpenApiParameter("level", str, enum=LogLevel.values)],
        responses={(200, "text/plain"): str},
        description="All the run's log lines as plain text, oldest first (a trailing slash is accepted too).",
        operation_id="runs_logs_text",
    )
    def logs_text(self, request: Request, run_id: str) -> StreamingHttpResponse:
        """All the run's log lines as plain text (routed in runs/api/urls.py: the router
        would read `logs.txt` as the `logs` action with a `.txt` format suffix)."""
        run = self.get_object()
        level = request.query_params.get("level")
        if level and level not in LogLevel.values:
            raise ValidationError({"level": f"must be one of {', '.join(LogLevel.values)}"})
        response = StreamingHttpResponse(run_log_text(run=run, level=level), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{run.run_id}.log"'
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description=f"Only lines with an id above this one (0 to {2**63 - 1})."),
            OpenApiParameter("level", str, enum=LogLevel.values),
        ],
        responses=RunLogSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def logs(self, request: Request, run_id: str) -> Response:
        """The run's log lines, oldest first, paginated; `after` follows a live run."""
        run = self.get_object()
        after = request.query_params.get("after")
        level = request.query_params.get("level")
        # ASCII digits only (str.isdigit accepts "１２" and "²") and within a bigint, so the
        # database is never asked to compare with a number it cannot hold.
        if after is not None and not (after.isascii() and after.isdigit() and len(after) <= 19 and int(after) <= MAX_LOG_ID):
            raise ValidationError({"after": f"must be a log line id (a whole number from 0 to {MAX_LOG_ID})"})
        if level and level not in LogLevel.values:
            raise ValidationError({"level": f"must be one of {', '.join(LogLevel.values)}"})
        logs = selectors.run_logs(run=run, after=int(after) if after else None, level=level)
        page = self.paginate_queryset(logs)
        return self.get_paginated_response(RunLogSerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={200: RunSerializer, 409: OpenApiResponse(description="The run has already finished.")},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, run_id: str) -> Response:
        """Ask a PENDING or RUNNING run to stop (its owner, or an operator)."""
        run = self.get_object()
        try:
            services.run_cancel(run=run, actor=request.user)
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(RunSerializer(run).data)


class TagListView(APIView):
    """Tag names for autocomplete: those starting with `q`, most used first."""

    @extend_schema(parameters=[OpenApiParameter("q", str)], responses={200: list[str]})
    def get(self, request: Request) -> Response:
        prefix = request.query_params.get("q", "").strip()
        # Only tags of runs the caller may see, counted over those runs: a tag name
        # can say what a hidden run is about.
        tags = Tag.objects.filter(runs__in=Run.objects.visible_to(request.user).values("pk"))
        if prefix:
            tags = tags.filter(name__istartswith=prefix)
        names = tags.annotate(n=Count("runs")).order_by("-n", "name").values_list("name", flat=True)[:20]
        return Response(list(names))


class RunKindListView(APIView):
    """The run kinds the caller may launch, with their parameters."""

    @extend_schema(responses=RunKindSerializer(many=True))
    def get(self, request: Request) -> Response:
        kinds: list[Any] = kinds_launchable_by(request.user)
        return Response(RunKindSerializer(kinds, many=True).data)


def _launched(run: Any) -> Response:
    """The answer to a launch: the run as stored. 201 once its task is queued; 202 when
    the task queue was unreachable: the run is stored PENDING and will be queued when
    the queue is back (the control pass sends it again)."""
    run.refresh_from_db()
    if getattr(run, "queue_unreachable", False):
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
    return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)
