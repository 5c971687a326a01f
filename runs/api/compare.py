"""API for comparing runs, saved comparisons, bulk deletion, cleanup and checksums.

Errors are {"detail": "…"}: 400 for bad input, 403 when a role forbids it (a
bulk delete lists the refused runs), 404 for runs the caller may not see, 409
when a cleanup plan went stale.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from runs.limits import SHOWN_IN_MESSAGES, check_run_id_count, summarise_ids
from runs.models import Run, RunComparison
from runs.selectors.cleanup import cleanup_plan
from runs.selectors.compare import (
    COMPARE_MIN_RUNS,
    comparison_get,
    comparison_list,
    comparison_run_ids,
    run_compare,
)
from runs.selectors.core import run_get
from runs.services.compare import comparison_create, comparison_delete, comparison_update
from runs.services.manage import CleanupPlanStale, RunsDeleteRefused, run_checksum_recompute, runs_cleanup, runs_delete


def _bad_request(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError({"detail": " ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())})
    return ValidationError({"detail": " ".join(exc.messages)})


class CanCompareRuns(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.can_compare_runs(request.user)


class CanCleanupRuns(BasePermission):
    message = "You may not clean up runs."

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.can_cleanup_runs(request.user)


# ---------------------------------------------------------------------------
# Serializers (shapes of requests and responses, for validation and the schema)
# ---------------------------------------------------------------------------
class RowSerializer(serializers.Serializer):
    name = serializers.CharField()
    values = serializers.ListField(child=serializers.JSONField())
    differs = serializers.BooleanField()


class NumberRowSerializer(RowSerializer):
    deltas = serializers.ListField(child=serializers.FloatField(allow_null=True))
    delta_pcts = serializers.ListField(child=serializers.FloatField(allow_null=True), help_text="None when the baseline is 0.")
    numeric = serializers.BooleanField()


class ProductRowSerializer(NumberRowSerializer):
    product = serializers.CharField()


class ComparisonResultSerializer(serializers.Serializer):
    runs = serializers.ListField(child=serializers.CharField())
    baseline = serializers.CharField(help_text="The first run: Δ and Δ% are against it.")
    metadata = RowSerializer(many=True)
    params = RowSerializer(many=True)
    metrics = NumberRowSerializer(many=True)
    by_product = ProductRowSerializer(many=True)


class ComparisonRunIdsField(serializers.ListField):
    """A saved comparison's run ids, oldest first (the baseline)."""

    child = serializers.CharField()

    def get_attribute(self, instance: RunComparison) -> list[str]:
        return comparison_run_ids(instance)


class SavedComparisonSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True, default=None)
    runs = ComparisonRunIdsField(help_text="Run ids, 2 to 10; once saved, the oldest run is the baseline.")

    class Meta:
        model = RunComparison
        fields = ["id", "name", "notes", "owner", "runs", "created_at", "updated_at"]
        read_only_fields = ["id", "owner", "created_at", "updated_at"]


class SavedComparisonDetailSerializer(SavedComparisonSerializer):
    comparison = serializers.SerializerMethodField(help_text="The runs side by side; null when fewer than 2 remain.")

    class Meta(SavedComparisonSerializer.Meta):
        fields = [*SavedComparisonSerializer.Meta.fields, "comparison"]

    @extend_schema_field(ComparisonResultSerializer(allow_null=True))
    def get_comparison(self, instance: RunComparison) -> dict[str, Any] | None:
        run_ids = comparison_run_ids(instance)
        if len(run_ids) < COMPARE_MIN_RUNS:
            return None
        return run_compare(user=self.context["request"].user, run_ids=run_ids).as_dict()


class RunIdsSerializer(serializers.Serializer):
    runs = serializers.ListField(
        child=serializers.CharField(max_length=100), allow_empty=False,
        help_text="Run ids, at most RUN_BULK_MAX_IDS (1000 by default).",
    )

    def validate_runs(self, value: list[str]) -> list[str]:
        try:
            return check_run_id_count(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class DaysSerializer(serializers.Serializer):
    days = serializers.IntegerField(help_text="Runs created more than this many days ago (7 to 365).")


class CleanupExecuteSerializer(DaysSerializer):
    runs = serializers.ListField(
        child=serializers.CharField(max_length=100),
        help_text="Run ids of the dry run's to_delete list, at most RUN_BULK_MAX_IDS (1000 by default) at a time.",
    )

    def validate_runs(self, value: list[str]) -> list[str]:
        try:
            return check_run_id_count(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class CleanupPlanSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    cutoff = serializers.DateTimeField()
    to_delete = inline_serializer(
        "CleanupCandidate",
        {"run_id": serializers.CharField(), "size_bytes": serializers.IntegerField(), "created_at": serializers.DateTimeField()},
        many=True,
    )
    kept = inline_serializer(
        "CleanupKept",
        {"run_id": serializers.CharField(), "reason": serializers.CharField(), "created_at": serializers.DateTimeField()},
        many=True,
    )
    total_bytes = serializers.IntegerField()


class DeletedSerializer(serializers.Serializer):
    deleted = serializers.ListField(child=serializers.CharField())
    count = serializers.IntegerField()


class ChecksumResultSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    old = serializers.CharField(allow_blank=True)
    new = serializers.CharField(allow_blank=True)
    changed = serializers.BooleanField()


ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
REFUSED = inline_serializer(
    "BulkDeleteRefused", {"detail": serializers.CharField(), "refused": serializers.ListField(child=serializers.CharField())}
)


# ---------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------
class CompareView(APIView):
    """2 to 10 runs side by side; the first is the baseline of Δ and Δ%."""

    permission_classes = [IsAuthenticated, CanCompareRuns]

    @extend_schema(
        parameters=[OpenApiParameter("runs", str, many=True, required=True, description="Run id, repeated 2 to 10 times.")],
        responses={200: ComparisonResultSerializer, 400: ERROR, 404: ERROR},
    )
    def get(self, request: Request) -> Response:
        run_ids = [part for value in request.query_params.getlist("runs") for part in value.replace(",", " ").split()]
        try:
            comparison = run_compare(user=request.user, run_ids=run_ids)
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return Response(comparison.as_dict())


class ComparisonListView(generics.ListCreateAPIView):
    """Saved comparisons (shared by the team). POST saves one: name, notes, runs."""

    permission_classes = [IsAuthenticated, CanCompareRuns]
    serializer_class = SavedComparisonSerializer

    def get_queryset(self):
        return comparison_list(user=self.request.user)

    @extend_schema(responses={201: SavedComparisonDetailSerializer, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request: Request) -> Response:
        incoming = SavedComparisonSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            saved = comparison_create(
                name=incoming.validated_data["name"],
                notes=incoming.validated_data.get("notes", ""),
                run_ids=incoming.validated_data["runs"],
                actor=request.user,
            )
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        body = SavedComparisonDetailSerializer(comparison_get(user=request.user, pk=saved.pk), context={"request": request})
        return Response(body.data, status=status.HTTP_201_CREATED)


class ComparisonDetailView(generics.RetrieveUpdateDestroyAPIView):
    """A saved comparison with its runs side by side. PATCH changes name, notes or runs."""

    permission_classes = [IsAuthenticated, CanCompareRuns]
    serializer_class = SavedComparisonDetailSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_object(self) -> RunComparison:
        return comparison_get(user=self.request.user, pk=self.kwargs["pk"])

    @extend_schema(request=SavedComparisonSerializer, responses={200: SavedComparisonDetailSerializer, 400: ERROR, 403: ERROR})
    def patch(self, request: Request, pk: int) -> Response:
        saved = self.get_object()
        incoming = SavedComparisonSerializer(saved, data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        try:
            comparison_update(
                comparison=saved, actor=request.user,
                name=data.get("name"), notes=data.get("notes"), run_ids=data.get("runs"),
            )
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        body = SavedComparisonDetailSerializer(self.get_object(), context={"request": request})
        return Response(body.data)

    @extend_schema(responses={204: None, 403: ERROR})
    def delete(self, request: Request, pk: int) -> Response:
        comparison_delete(comparison=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------
# Deleting, cleaning up, checksums
# ---------------------------------------------------------------------------
class RunBulkDeleteView(APIView):
    """Delete several runs with their logs and artifacts: all of them, or none."""

    @extend_schema(
        request=RunIdsSerializer,
        responses={200: DeletedSerializer, 400: ERROR, 403: REFUSED, 404: ERROR},
    )
    def post(self, request: Request) -> Response:
        incoming = RunIdsSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        wanted = list(dict.fromkeys(incoming.validated_data["runs"]))
        runs = list(Run.objects.visible_to(request.user).filter(run_id__in=wanted))
        missing = sorted(set(wanted) - {run.run_id for run in runs})
        if missing:
            return Response({"detail": f"No such run: {summarise_ids(missing)}. Nothing was deleted."}, status=404)
        try:
            deleted = runs_delete(runs=runs, actor=request.user)
        except RunsDeleteRefused as exc:
            detail = f"You may not delete {summarise_ids(exc.refused)}. Nothing was deleted."
            return Response({"detail": detail, "refused": exc.refused}, status=status.HTTP_403_FORBIDDEN)
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return Response({"deleted": deleted, "count": len(deleted)})


class CleanupPlanView(APIView):
    """The dry run of a cleanup: every run it would delete with its size, every old run it keeps and why."""

    permission_classes = [IsAuthenticated, CanCleanupRuns]

    @extend_schema(request=DaysSerializer, responses={200: CleanupPlanSerializer, 400: ERROR, 403: ERROR})
    def post(self, request: Request) -> Response:
        incoming = DaysSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            plan = cleanup_plan(days=incoming.validated_data["days"], user=request.user)
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return Response(CleanupPlanSerializer(plan.as_dict()).data)


class CleanupExecuteView(APIView):
    """Delete exactly the runs of a dry run. 409 (nothing deleted) if the plan went stale."""

    permission_classes = [IsAuthenticated, CanCleanupRuns]

    @extend_schema(request=CleanupExecuteSerializer, responses={200: DeletedSerializer, 400: ERROR, 403: ERROR, 409: ERROR})
    def post(self, request: Request) -> Response:
        incoming = CleanupExecuteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            deleted = runs_cleanup(
                days=incoming.validated_data["days"], run_ids=incoming.validated_data["runs"], actor=request.user
            )
        except CleanupPlanStale as exc:
            problems = [f"{run_id}: {why}" for run_id, why in sorted(exc.problems.items())]
            detail = (
                "The cleanup plan is out of date, nothing was deleted. Make a new dry run. "
                f"({'; '.join(problems[:SHOWN_IN_MESSAGES])}"
                + (f"; and {len(problems) - SHOWN_IN_MESSAGES} more" if len(problems) > SHOWN_IN_MESSAGES else "")
                + ")"
            )
            return Response({"detail": detail}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return Response({"deleted": deleted, "count": len(deleted)})


class RunChecksumView(APIView):
    """Recompute a run's checksum from its stored result bytes."""

    @extend_schema(request=None, responses={200: ChecksumResultSerializer, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request: Request, run_id: str) -> Response:
        run = run_get(user=request.user, run_id=run_id)
        if not roles.can_cleanup_runs(request.user):
            raise PermissionDenied("You may not recompute checksums.")
        try:
            old, new = run_checksum_recompute(run=run, actor=request.user)
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return Response({"run_id": run.run_id, "old": old, "new": new, "changed": old != new})
