"""The Batch Runs API: list (the page's filters), detail, logs as text, launch, reprocess (with preview)."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from finops_admin import selectors
from finops_admin.api.serializers import (
    BatchLaunchSerializer,
    BatchRunDetailSerializer,
    BatchRunListSerializer,
    ReprocessRequestSerializer,
    ReprocessSerializer,
)
from finops_admin.filters import BatchRunFilter
from finops_admin.services.reprocess import batch_reprocess
from runs.api.views import _as_drf_error
from runs.models import RunTrigger
from runs.selectors.listing import run_log_text
from runs.services import run_create

LAUNCH_PARAMS = ("periods", "domains", "source")


class CanViewBatches(BasePermission):
    """Admin › Batch Runs: reading needs the section; launching and reprocessing the trigger permission."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return roles.can_view_finops_batches(request.user)
        return roles.can_trigger_finops_batch(request.user)


def _detail(run: Any) -> dict[str, Any]:
    run.detail = selectors.batch_run_detail(run=run)
    return BatchRunDetailSerializer(run).data


def _launched(run: Any) -> Response:
    """201 once queued; 202 when the task queue was unreachable (stored PENDING, queued when it is back)."""
    from runs.models import Run

    stored = Run.objects.select_related("parent", "owner").get(pk=run.pk)
    code = status.HTTP_202_ACCEPTED if getattr(run, "queue_unreachable", False) else status.HTTP_201_CREATED
    return Response(_detail(stored), status=code)


class BatchRunListView(generics.ListAPIView):
    """FinOps batch runs, newest start first, with the filters of the Batch Runs page."""

    permission_classes = [CanViewBatches]
    serializer_class = BatchRunListSerializer
    filterset_class = BatchRunFilter

    def get_queryset(self):
        return selectors.batch_runs(user=self.request.user)

    @extend_schema(
        request=BatchLaunchSerializer,
        responses={
            201: BatchRunDetailSerializer,
            202: OpenApiResponse(BatchRunDetailSerializer, description="Stored PENDING; queued once the task queue answers again."),
        },
    )
    def post(self, request: Request) -> Response:
        """Launch a batch (trigger API): periods, domains and source, each optional."""
        if not isinstance(request.data, dict):
            raise ValidationError({"detail": "Send an object with periods, domains and source (each optional)."})
        unknown = sorted(set(request.data) - set(LAUNCH_PARAMS))
        if unknown:
            raise ValidationError({"detail": f"Unknown field(s): {', '.join(unknown)} (known: {', '.join(LAUNCH_PARAMS)})."})
        params = {name: request.data[name] for name in LAUNCH_PARAMS if name in request.data}
        try:
            run = run_create(kind="finops_batch", params=params, trigger=RunTrigger.API, owner=request.user)
        except DjangoValidationError as exc:
            raise _as_drf_error(exc) from None
        return _launched(run)


class BatchRunDetailView(APIView):
    permission_classes = [CanViewBatches]

    @extend_schema(responses=BatchRunDetailSerializer)
    def get(self, request: Request, run_id: str) -> Response:
        """A batch run: summary, periods, blocks per domain, aggregates refreshed, the last log lines."""
        return Response(_detail(selectors.batch_run_get(user=request.user, run_id=run_id)))


class BatchRunLogsView(APIView):
    permission_classes = [CanViewBatches]

    @extend_schema(responses={(200, "text/plain"): OpenApiResponse(str, description="The whole log, oldest line first.")})
    def get(self, request: Request, run_id: str) -> StreamingHttpResponse:
        """The run's log as plain text (a download)."""
        run = selectors.batch_run_get(user=request.user, run_id=run_id)
        response = StreamingHttpResponse(run_log_text(run=run), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{run.run_id}.log"'
        return response


class BatchReprocessView(APIView):
    permission_classes = [CanViewBatches]

    @extend_schema(
        request=ReprocessRequestSerializer,
        responses={
            200: OpenApiResponse(ReprocessSerializer, description="Preview: what would be replaced; nothing launched."),
            201: OpenApiResponse(ReprocessSerializer, description="Launched: the new run's id, what it replaces."),
            202: OpenApiResponse(ReprocessSerializer, description="Stored PENDING; queued once the task queue answers."),
            404: OpenApiResponse(
                {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
                description="No such FinOps batch run.",
            ),
            409: OpenApiResponse(
                {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
                description="The run is still active: wait for it to end.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """Run a past batch's periods and domains again (trigger REPROCESS, parent link); `preview` first."""
        body = ReprocessRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run_id = body.validated_data["run_id"]
        try:
            run = selectors.batch_run_get(user=request.user, run_id=run_id)
        except Http404:
            raise NotFound(f"No such FinOps batch run: {run_id}") from None
        try:
            plan = batch_reprocess(run=run, actor=request.user, preview=body.validated_data["preview"])
        except DjangoValidationError as exc:
            if run.is_active:
                return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
            raise _as_drf_error(exc) from None
        data = ReprocessSerializer(plan).data
        if plan.run is None:
            return Response(data)
        code = status.HTTP_202_ACCEPTED if getattr(plan.run, "queue_unreachable", False) else status.HTTP_201_CREATED
        return Response(data, status=code)
