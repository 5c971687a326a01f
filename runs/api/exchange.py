"""API of run export and import. The work is in runs.services.exchange."""
from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from runs import selectors
from runs.api.serializers import RunSerializer
from runs.services.exchange import (
    EXPORT_FORMATS,
    ExchangeRefused,
    ExportNotReady,
    ImportConflict,
    ImportTooLarge,
    import_upload_refusal,
    run_export,
    run_import,
)
from runs.services.exchange_bulk import BulkImportRefused, runs_import_bulk

class CanImportRuns(permissions.BasePermission):
    message = "You may not import runs."

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.can_import_runs(request.user)


class ExchangeErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class RunImportConflictSerializer(ExchangeErrorSerializer):
    run_id = serializers.CharField(help_text="The run that already holds this identity.")


class RunImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A JSON export, a bundle (.zip) or a Parquet file of results.")
    as_new = serializers.BooleanField(
        required=False, default=False, help_text="Import a copy under a fresh id (trigger IMPORT)."
    )
    kind = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Run kind of a Parquet file (required for Parquet)."
    )


class RunExportView(APIView):
    """Download a finished run as JSON, Parquet (its results) or a bundle (zip), streamed."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # `format` names the export here, not a DRF renderer: never 404 on format=parquet.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="runs_export",
        parameters=[
            OpenApiParameter("format", str, enum=list(EXPORT_FORMATS), default="json", description="What to download."),
            OpenApiParameter(
                "artifact", str, description="Parquet only: which Parquet result (default: the first by name)."
            ),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(OpenApiTypes.BINARY, description="JSON export"),
            (200, "application/vnd.apache.parquet"): OpenApiResponse(OpenApiTypes.BINARY, description="Parquet"),
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="Bundle"),
            400: ExchangeErrorSerializer,
            409: ExchangeErrorSerializer,
        },
    )
    def get(self, request: Request, run_id: str) -> Any:
        run = selectors.run_get(user=request.user, run_id=run_id)
        fmt = request.query_params.get("format", "json")
        try:
            export = run_export(run=run, fmt=fmt, actor=request.user, artifact=request.query_params.get("artifact"))
        except ExportNotReady as exc:
            return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
        except ExchangeRefused as exc:
            return Response({"detail": exc.message}, status=status.HTTP_400_BAD_REQUEST)
        response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response


class RunImportView(APIView):
    """Import a run from a JSON export, a bundle or a Parquet file (multipart `file`)."""

    permission_classes = [permissions.IsAuthenticated, CanImportRuns]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="runs_import",
        request={"multipart/form-data": RunImportSerializer},
        responses={
            201: RunSerializer,
            400: ExchangeErrorSerializer,
            403: ExchangeErrorSerializer,
            409: RunImportConflictSerializer,
            413: ExchangeErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        too_large = import_upload_refusal(request.META.get("CONTENT_LENGTH"))
        if too_large:  # before request.data: the upload is not parsed at all
            return Response({"detail": too_large}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        form = RunImportSerializer(data=request.data)
        if not form.is_valid():
            raise ValidationError(form.errors)
        upload = form.validated_data["file"]
        try:
            result = run_import(
                file=upload,
                actor=request.user,
                as_new=form.validated_data["as_new"],
                kind=form.validated_data["kind"] or None,
                filename=upload.name or "",
            )
        except ImportConflict as exc:
            return Response({"detail": f"{exc.message} Send as_new=true to import a copy.", "run_id": exc.existing.run_id}, status=status.HTTP_409_CONFLICT)
        except ImportTooLarge as exc:
            return Response({"detail": exc.message}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        except ExchangeRefused as exc:
            return Response({"detail": exc.message}, status=status.HTTP_400_BAD_REQUEST)
        return Response(RunSerializer(result.run).data, status=status.HTTP_201_CREATED)


class RunBulkImportResultSerializer(serializers.Serializer):
    format = serializers.CharField(help_text="JSON lines, or a zip of bundles.")
    imported = serializers.IntegerField(help_text="Runs stored by this import.")
    skipped = serializers.IntegerField(help_text="Runs already here (or twice in the file): skipped.")
    renamed = serializers.IntegerField(help_text="Runs whose run id was taken here: stored under a local one.")
    batches = serializers.IntegerField(help_text="Transactions written (RUN_BULK_IMPORT_BATCH runs each).")
    seconds = serializers.FloatField()
    first_run_id = serializers.CharField(allow_blank=True)
    last_run_id = serializers.CharField(allow_blank=True)


class RunBulkImportRefusedSerializer(RunBulkImportResultSerializer):
    detail = serializers.CharField(help_text="The document or batch refused, and why; the batches before it stay.")


class RunBulkImportFileSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="JSON lines (one run document per line, as a JSON export writes it) or a zip of run bundles."
    )


class RunBulkImportView(APIView):
    """Import many runs from one file. Runs already here are skipped (re-importing never duplicates);
    each batch of runs is written whole or not at all."""

    permission_classes = [permissions.IsAuthenticated, CanImportRuns]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="runs_import_bulk",
        request={"multipart/form-data": RunBulkImportFileSerializer},
        responses={
            201: RunBulkImportResultSerializer,
            400: RunBulkImportRefusedSerializer,
            403: ExchangeErrorSerializer,
            413: ExchangeErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        too_large = import_upload_refusal(request.META.get("CONTENT_LENGTH"))
        if too_large:  # before request.data: the upload is not parsed at all
            return Response({"detail": too_large}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        form = RunBulkImportFileSerializer(data=request.data)
        if not form.is_valid():
            raise ValidationError(form.errors)
        upload = form.validated_data["file"]
        try:
            result = runs_import_bulk(file=upload, actor=request.user, filename=upload.name or "")
        except BulkImportRefused as exc:
            return Response({"detail": exc.message, **exc.result.as_dict()}, status=status.HTTP_400_BAD_REQUEST)
        except ImportTooLarge as exc:
            return Response({"detail": exc.message}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        except ExchangeRefused as exc:
            return Response({"detail": exc.message}, status=status.HTTP_400_BAD_REQUEST)
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)
