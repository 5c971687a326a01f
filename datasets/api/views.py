"""API of datasets: list and upload, detail (edit the description, delete), versions, the runs
that used one, a filtered preview and its export. The work is in datasets.services and selectors."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from config.uploads import too_large_message
from datasets import selectors, services
from datasets.filters import DatasetFilterSet
from datasets.ingest import IngestError
from datasets.query import OPERATORS, QueryError
from runs.downloads import as_attachment, download_content_type
from runs.models import Run
from simulations.training.models import Dataset


class CanReadDatasets(permissions.BasePermission):
    """Readers of runs read datasets; writes are checked again in the services."""

    message = "You may not see datasets."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return roles.can_view_datasets(request.user)
        self.message = "You may not upload or edit datasets."
        if request.method == "DELETE":
            return roles.can_view_datasets(request.user)
        return roles.can_edit_datasets(request.user)


class DatasetErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    row = serializers.IntegerField(allow_null=True, required=False, help_text="Data row (1 = the first after the header).")
    column = serializers.CharField(allow_null=True, required=False)


class DatasetLockedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    holder = serializers.CharField(help_text="Who holds the editing lock of a project holding this dataset.")
    taken_at = serializers.DateTimeField()


LOCKED = OpenApiResponse(DatasetLockedSerializer,
                         description="The dataset belongs to a project whose editing lock someone else holds.")


class DatasetVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    columns = serializers.JSONField(read_only=True, help_text="Per column: name, type, nulls, min/max/mean or top values.")
    source = serializers.JSONField(read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "version", "description", "kind", "format", "sha256", "size_bytes", "rows", "columns",
                  "source", "source_filename", "source_format", "source_size_bytes", "created_by", "created_at"]
        read_only_fields = [f for f in fields if f != "description"]


class DatasetFileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8, header row), xlsx, JSON records or Parquet; pickles are refused.")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                 help_text="An existing name adds a version. Default: the file's name.")
    sheet = serializers.CharField(required=False, allow_blank=True, max_length=100,
                                  help_text="The sheet of a workbook with several.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class DatasetUpdateSerializer(serializers.Serializer):
    description = serializers.CharField(allow_blank=True, max_length=4000)


class DatasetRunSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    dataset_version = serializers.SerializerMethodField()
    dataset_sha256 = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = ["run_id", "kind", "status", "owner", "created_at", "dataset_version", "dataset_sha256"]

    def get_dataset_version(self, run: Run) -> int | None:
        return run.params.get("dataset_version") or run.params.get("positions_dataset_version")

    def get_dataset_sha256(self, run: Run) -> str:
        return run.params.get("dataset_sha256") or run.params.get("positions_dataset_sha256") or ""


class PreviewSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(child=serializers.JSONField(allow_null=True)))
    row_numbers = serializers.ListField(child=serializers.IntegerField(allow_null=True),
                                        help_text="Each row's number in the stored file (1 = first).")
    total = serializers.IntegerField(help_text="Rows matching the filters.")
    start = serializers.IntegerField(help_text="Number of the first row shown within the filtered view (1 = first).")


VIEW_PARAMETERS = [
    OpenApiParameter("col", str, many=True, description="Filter column (repeat with op and val, in step)."),
    OpenApiParameter("op", str, many=True, enum=list(OPERATORS), description="Filter operator."),
    OpenApiParameter("val", str, many=True, description="Filter value (not needed by isnull/notnull)."),
    OpenApiParameter("sort", str, description="Column to sort by; prefix with - for descending."),
]


def _refused(exc: DjangoPermissionDenied) -> Response:
    """A refusal by the roles is a 403; by a lock someone else holds (a project's, which raises with its
    `holder` and `taken_at`), a 409 naming them, as the projects API answers."""
    holder = getattr(exc, "holder", None)
    if holder is not None:
        return Response({"detail": str(exc), "holder": holder.get_username(), "taken_at": exc.taken_at.isoformat()},
                        status=status.HTTP_409_CONFLICT)
    raise PermissionDenied(str(exc) or None)


def _error(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, IngestError):
        return exc.as_dict()
    if isinstance(exc, DjangoValidationError):
        return {"detail": " ".join(exc.messages), "row": None, "column": None}
    return {"detail": str(exc), "row": None, "column": None}


class DatasetListApi(generics.ListAPIView):
    """Datasets (every version; `latest=true` for the newest of each name), and uploads."""

    permission_classes = [permissions.IsAuthenticated, CanReadDatasets]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = DatasetVersionSerializer
    filterset_class = DatasetFilterSet

    def get_queryset(self) -> Any:
        return Dataset.objects.select_related("created_by").order_by("-created_at", "-id")

    @extend_schema(operation_id="datasets_list", summary="List datasets")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="datasets_upload",
        summary="Upload a file as a dataset (a new version of its name)",
        request={"multipart/form-data": DatasetFileUploadSerializer},
        responses={201: DatasetVersionSerializer, 400: DatasetErrorSerializer, 403: DatasetErrorSerializer,
                   409: LOCKED, 413: DatasetErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        limit = settings.DATASET_MAX_UPLOAD_BYTES
        refused = getattr(request._request, "upload_refused", None)
        if refused:
            return Response({"detail": refused, "row": None, "column": None}, status=413)
        body = DatasetFileUploadSerializer(data=request.data)
        if not body.is_valid():
            refused = getattr(request._request, "upload_refused", None)  # set while the body streamed
            if refused:
                return Response({"detail": refused, "row": None, "column": None}, status=413)
            first = next(iter(body.errors.items()))
            return Response({"detail": f"{first[0]}: {' '.join(str(e) for e in first[1])}", "row": None,
                             "column": None}, status=400)
        upload = body.validated_data["file"]
        if upload.size > limit:
            return Response({"detail": too_large_message(upload.size, limit), "row": None, "column": None}, status=413)
        try:
            dataset = services.dataset_upload(
                user=request.user, file=upload, name=body.validated_data.get("name", ""), filename=upload.name,
                sheet=body.validated_data.get("sheet") or None, description=body.validated_data.get("description", ""),
            )
        except DjangoPermissionDenied as exc:
            return _refused(exc)
        except (IngestError, DjangoValidationError) as exc:
            return Response(_error(exc), status=status.HTTP_400_BAD_REQUEST)
        return Response(DatasetVersionSerializer(dataset).data, status=status.HTTP_201_CREATED)


class _OneDataset(APIView):
    permission_classes = [permissions.IsAuthenticated, CanReadDatasets]

    def dataset(self, pk: int) -> Dataset:
        return get_object_or_404(Dataset.objects.select_related("created_by"), pk=pk)


class DatasetDetailApi(_OneDataset):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(operation_id="datasets_retrieve", responses=DatasetVersionSerializer, summary="One dataset version")
    def get(self, request: Request, pk: int) -> Response:
        return Response(DatasetVersionSerializer(self.dataset(pk)).data)

    @extend_schema(operation_id="datasets_update", request=DatasetUpdateSerializer,
                   responses={200: DatasetVersionSerializer, 400: DatasetErrorSerializer, 403: DatasetErrorSerializer,
                              409: LOCKED},
                   summary="Change a version's description")
    def patch(self, request: Request, pk: int) -> Response:
        dataset = self.dataset(pk)
        body = DatasetUpdateSerializer(data=request.data)
        if not body.is_valid():
            first = next(iter(body.errors.items()))
            return Response({"detail": f"{first[0]}: {' '.join(str(e) for e in first[1])}", "row": None,
                             "column": None}, status=400)
        try:
            services.dataset_update(user=request.user, dataset=dataset, description=body.validated_data["description"])
        except DjangoPermissionDenied as exc:
            return _refused(exc)
        except DjangoValidationError as exc:
            return Response(_error(exc), status=400)
        return Response(DatasetVersionSerializer(dataset).data)

    @extend_schema(operation_id="datasets_destroy",
                   responses={204: None, 400: DatasetErrorSerializer, 403: DatasetErrorSerializer, 409: LOCKED},
                   summary="Delete a version (admin; refused while runs used it)")
    def delete(self, request: Request, pk: int) -> Response:
        dataset = self.dataset(pk)
        try:
            services.dataset_delete(user=request.user, dataset=dataset)
        except DjangoPermissionDenied as exc:
            return _refused(exc)
        except DjangoValidationError as exc:
            return Response(_error(exc), status=400)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DatasetVersionsApi(_OneDataset):
    @extend_schema(operation_id="datasets_versions", responses=DatasetVersionSerializer(many=True),
                   summary="Every version of this dataset's name, newest first")
    def get(self, request: Request, pk: int) -> Response:
        return Response(DatasetVersionSerializer(selectors.dataset_versions(dataset=self.dataset(pk)), many=True).data)


class DatasetRunsApi(_OneDataset):
    @extend_schema(operation_id="datasets_runs", responses=DatasetRunSerializer(many=True),
                   summary="Runs launched on this version (those you may see)")
    def get(self, request: Request, pk: int) -> Response:
        runs = selectors.dataset_runs_visible(user=request.user, dataset=self.dataset(pk)).select_related("owner")[:500]
        return Response(DatasetRunSerializer(runs, many=True).data)


class DatasetPreviewApi(_OneDataset):
    @extend_schema(
        operation_id="datasets_preview",
        parameters=[*VIEW_PARAMETERS,
                    OpenApiParameter("start", int, description="First row of the filtered view to show (1 = first)."),
                    OpenApiParameter("limit", int, description="Rows to show (at most DATASET_PREVIEW_MAX_ROWS).")],
        responses={200: PreviewSerializer, 400: DatasetErrorSerializer},
        summary="A page of the filtered, sorted view",
    )
    def get(self, request: Request, pk: int) -> Response:
        dataset = self.dataset(pk)
        try:
            page = selectors.dataset_preview(dataset=dataset, view=selectors.view_from_query(request.query_params))
        except QueryError as exc:
            return Response(_error(exc), status=400)
        return Response({"columns": page.columns, "rows": page.rows, "row_numbers": page.row_numbers,
                         "total": page.total, "start": page.start + 1})


class DatasetExportApi(_OneDataset):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # `format` names the export here, not a DRF renderer.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="datasets_export",
        parameters=[*VIEW_PARAMETERS,
                    OpenApiParameter("format", str, enum=["csv", "xlsx", "parquet"], default="csv")],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV"),
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
                OpenApiResponse(OpenApiTypes.BINARY, description="Excel"),
            (200, "application/vnd.apache.parquet"): OpenApiResponse(OpenApiTypes.BINARY, description="Parquet"),
            400: DatasetErrorSerializer,
        },
        summary="The filtered, sorted view as a file, streamed",
    )
    def get(self, request: Request, pk: int) -> Any:
        dataset = self.dataset(pk)
        try:
            export = selectors.dataset_export(dataset=dataset, view=selectors.view_from_query(request.query_params),
                                              fmt=request.query_params.get("format", "csv"))
        except QueryError as exc:
            return Response(_error(exc), status=400)
        response = StreamingHttpResponse(export.chunks, content_type=download_content_type(export.filename))
        return as_attachment(response, export.filename)
