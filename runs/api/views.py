from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from runs import selectors, services
from runs.api.serializers import (
    RunKindSerializer,
    RunLaunchSerializer,
    RunListSerializer,
    RunLogSerializer,
    RunSerializer,
)
from runs.filters import RunFilter
from runs.kinds import kinds_launchable_by
from runs.models import LogLevel, RunTrigger


def _as_drf_error(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Runs of every kind the caller may see. POST launches a run."""

    lookup_field = "run_id"
    filterset_class = RunFilter

    def get_queryset(self):
        return selectors.run_list(user=self.request.user)

    def get_object(self):
        return selectors.run_get(user=self.request.user, run_id=self.kwargs["run_id"])

    def get_serializer_class(self):
        if self.action == "list":
            return RunListSerializer
        if self.action == "create":
            return RunLaunchSerializer
        return RunSerializer

    @extend_schema(request=RunLaunchSerializer, responses={201: RunSerializer})
    def create(self, request: Request) -> Response:
        """Launch a run: validates the kind's parameters and queues it for a worker."""
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
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="Only lines with an id above this one."),
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
        if after is not None and not after.isdigit():
            raise ValidationError({"after": "must be a log line id (a whole number)"})
        if level and level not in LogLevel.values:
            raise ValidationError({"level": f"must be one of {', '.join(LogLevel.values)}"})
        logs = selectors.run_logs(run=run, after=int(after) if after else None, level=level)
        page = self.paginate_queryset(logs)
        return self.get_paginated_response(RunLogSerializer(page, many=True).data)

    @extend_schema(request=None, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, run_id: str) -> Response:
        run = self.get_object()
        try:
            services.run_cancel(run=run, actor=request.user)
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(RunSerializer(run).data)


class RunKindListView(APIView):
    """The run kinds the caller may launch, with their parameters."""

    @extend_schema(responses=RunKindSerializer(many=True))
    def get(self, request: Request) -> Response:
        kinds: list[Any] = kinds_launchable_by(request.user)
        return Response(RunKindSerializer(kinds, many=True).data)
