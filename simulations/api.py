"""API of the simulations app: metrics of an uploaded book, a simulation run's report and files.

Launching a simulation is the run core's POST /api/runs/ with kind "simulation".
"""
from __future__ import annotations

from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from runs.artifacts import artifact_iter
from runs.downloads import as_attachment, download_content_type
from simulations import conf
from simulations.engine import CapitalFormatError, PositionsFormatError, frame_to_parquet_bytes
from simulations.results import PARQUET_TYPE, XLSX_TYPE
from simulations.services import ReportUnavailable, simulation_report_get
from simulations.user_files import compute_book, load_capital, load_settings
from simulations.views import simulation_run


class CanViewRuns(permissions.BasePermission):
    message = "You may not see runs."

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.can_view_runs(request.user)


class ComputeRequestSerializer(serializers.Serializer):
    positions = serializers.FileField(
        help_text="Positions file: CSV with a header row, or Parquet (docs/positions_format.md)."
    )
    capital = serializers.FileField(
        required=False,
        help_text='Capital stack as JSON, e.g. {"cet1": 550000000, "at1": 0, "tier2": 0} (EUR). '
                  "Without it, the capital instruments of the positions file.",
    )
    settings = serializers.CharField(
        required=False, max_length=4096,
        help_text='Regulatory settings of this computation as a JSON object, e.g. '
                  '{"real_estate_approach": "loan_splitting", "as_of_date": "2026-01-31"}; missing keys keep '
                  "their defaults (docs/simulations.md lists them).",
    )


class CapitalStackSerializer(serializers.Serializer):
    cet1 = serializers.FloatField()
    at1 = serializers.FloatField()
    tier2 = serializers.FloatField()
    source = serializers.CharField(help_text="Where the capital came from: the capital file or the positions.")


class CheckSerializer(serializers.Serializer):
    measure = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    minimum = serializers.FloatField()
    with_buffers = serializers.FloatField(allow_null=True)
    pass_minimum = serializers.BooleanField()
    pass_buffers = serializers.BooleanField(allow_null=True)


class ComputeResultSerializer(serializers.Serializer):
    positions = serializers.IntegerField(help_text="Number of positions read.")
    format = serializers.ChoiceField(choices=["csv", "parquet"])
    capital_stack = CapitalStackSerializer()
    settings = serializers.DictField(help_text="The regulatory settings the computation used.")
    summary = serializers.DictField(help_text="Headline figures and pass/fail flags.")
    checks = CheckSerializer(many=True)
    rwa_by_class = serializers.ListField(child=serializers.DictField())
    stats_by_product = serializers.ListField(child=serializers.DictField())
    lcr = serializers.DictField(help_text="LCR composition: HQLA, outflows, inflows, rules.")
    nsfr = serializers.DictField(help_text="NSFR composition: ASF and RSF by factor, derivatives, rules.")
    capital = serializers.DictField(help_text="Capital and leverage ratios against their requirements.")


class FileErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What is wrong, naming the row and column.")
    field = serializers.ChoiceField(
        choices=["positions", "capital", "settings"], allow_null=True, help_text="Which upload or field is at fault."
    )
    row = serializers.IntegerField(allow_null=True, help_text="1-based data row (line 2 of a CSV is row 1).")
    column = serializers.CharField(allow_null=True, help_text="Column (or capital field) at fault.")


class AnyAcceptMixin:
    """Answer whatever the client accepts: these views return files, not DRF renderings."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)  # type: ignore[misc]


def _file_error(field: str, exc: Exception, row: int | None, column: str | None) -> Response:
    return Response({"detail": str(exc), "field": field, "row": row, "column": column}, status=400)


class ComputeView(AnyAcceptMixin, APIView):
    """Every metric of an uploaded book. Nothing is stored: the answer is the response."""

    permission_classes = [permissions.IsAuthenticated, CanViewRuns]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="simulations_compute",
        request={"multipart/form-data": ComputeRequestSerializer},
        parameters=[
            OpenApiParameter(
                "explain", OpenApiTypes.BOOL, default=False,
                description="Return the per-position breakdown as Parquet instead of the metrics.",
            )
        ],
        responses={
            (200, "application/json"): ComputeResultSerializer,
            (200, PARQUET_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="Per-position breakdown"),
            400: FileErrorSerializer,
            413: OpenApiResponse(FileErrorSerializer, description="The declared length passes the upload limit: "
                                 "refused before the body is read."),
        },
    )
    def post(self, request: Request) -> Response | HttpResponse:
        data = request.data  # parses the body: files stream to temporary files, within the limit
        refused = getattr(request._request, "upload_refused", None)
        if refused:
            return _file_error("positions", ValueError(refused), None, None)
        body = ComputeRequestSerializer(data=data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["positions"]
        limit = conf.upload_max_bytes()
        if upload.size > limit:
            too_large = ValueError(f"the file is {upload.size:,} bytes; the limit is {limit:,}")
            return _file_error("positions", too_large, None, None)
        capital_file = body.validated_data.get("capital")
        try:
            settings = load_settings(body.validated_data["settings"]) if "settings" in body.validated_data else None
        except ValueError as exc:
            return _file_error("settings", exc, None, None)
        try:
            capital = load_capital(capital_file.read()) if capital_file else None
        except CapitalFormatError as exc:
            return _file_error("capital", exc, None, exc.field)
        try:
            book = compute_book(
                upload.file, filename=upload.name, capital=capital, max_positions=conf.compute_max_positions(),
                settings=settings,
            )
        except PositionsFormatError as exc:
            return _file_error("positions", exc, exc.row, exc.column)
        if request.query_params.get("explain") in ("1", "true", "yes"):
            stem = upload.name.rsplit(".", 1)[0] or "positions"
            response = HttpResponse(frame_to_parquet_bytes(book.result.explain), content_type=PARQUET_TYPE)
            as_attachment(response, f"{stem}-explain.parquet")
            return response
        return Response(book.as_dict())


class RunReportView(AnyAcceptMixin, APIView):
    """The Excel report of a simulation run: summary, RWA by class, stats by product, LCR, NSFR, capital."""

    @extend_schema(
        operation_id="simulations_run_report",
        responses={
            (200, XLSX_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="Excel workbook"),
            404: OpenApiResponse(description="No such simulation run visible to you, or no results yet."),
        },
    )
    def get(self, request: Request, run_id: str) -> HttpResponse:
        run = simulation_run(request.user, run_id)
        try:
            data, cached = simulation_report_get(run=run)
        except ReportUnavailable as exc:
            raise NotFound(str(exc)) from None
        response = HttpResponse(data, content_type=XLSX_TYPE)
        as_attachment(response, f"{run.run_id}-report.xlsx")
        response["X-Cache"] = "hit" if cached else "miss"
        return response


class RunFileView(AnyAcceptMixin, APIView):
    """One result file of a simulation run (positions and explain Parquet parts, JSON aggregates)."""

    @extend_schema(
        operation_id="simulations_run_file",
        responses={
            (200, PARQUET_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="A Parquet part"),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.BINARY, description="A JSON aggregate"),
            404: OpenApiResponse(description="No such file, or no such simulation run visible to you."),
        },
    )
    def get(self, request: Request, run_id: str, name: str) -> StreamingHttpResponse:
        run = simulation_run(request.user, run_id)
        artifact = run.artifacts.filter(name=name).first()
        if artifact is None:
            raise NotFound("No such result file")
        # The stored content type is the producer's (an importer's): never sent. Ours, by name.
        response = StreamingHttpResponse(artifact_iter(artifact), content_type=download_content_type(artifact.name))
        response["Content-Length"] = str(artifact.size_bytes)
        as_attachment(response, f"{run.run_id}-{artifact.name}")
        return response
