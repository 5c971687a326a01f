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
from runs.selectors.cleanup import CLEANUP_MAX_DAYS, CLEANUP_MIN_DAYS, cleanup_plan
from runs.selectors.compare import (
    COMPARE_MAX_RUNS,
    COMPARE_MIN_RUNS,
    comparison_baseline_id,
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
    label = serializers.CharField()
    unit = serializers.ChoiceField(
        choices=["ratio", "amount", "count", "number", "flag", "text"],
        help_text="How the number reads: a ratio is a fraction (0.0967 is 9.67 %), an amount is money.",
    )
    deltas = serializers.ListField(
        child=serializers.FloatField(allow_null=True), help_text="value − baseline value; null for the baseline itself."
    )
    delta_pcts = serializers.ListField(
        child=serializers.FloatField(allow_null=True), help_text="Δ / |baseline| × 100; null when the baseline is 0."
    )
    numeric = serializers.BooleanField()


class ProductRowSerializer(NumberRowSerializer):
    product = serializers.CharField()
    side = serializers.CharField(allow_blank=True)


class BreakdownRowSerializer(NumberRowSerializer):
    item = serializers.CharField()
    item_label = serializers.CharField()
    figure = serializers.CharField()


class BreakdownSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The metric holding the records, e.g. rwa_by_class.")
    title = serializers.CharField()
    item_title = serializers.CharField()
    figures = inline_serializer(
        "BreakdownFigure",
        {"name": serializers.CharField(), "label": serializers.CharField(), "unit": serializers.CharField()},
        many=True,
    )
    rows = BreakdownRowSerializer(many=True)


class ComparisonResultSerializer(serializers.Serializer):
    runs = serializers.ListField(child=serializers.CharField(), help_text="Run ids in column order.")
    baseline = serializers.CharField(help_text="The run Δ and Δ% are against.")
    metadata = RowSerializer(many=True)
    params = RowSerializer(many=True)
    metrics = NumberRowSerializer(many=True, help_text="Scalar metrics; nested ones under dotted names.")
    breakdowns = BreakdownSerializer(
        many=True, help_text="Metrics holding lists of records (by exposure class, by product), item by item."
    )
    by_product = ProductRowSerializer(many=True, help_text="The by-product breakdown as (product, side, figure) rows.")


class ComparisonRunIdsField(serializers.ListField):
    """A saved comparison's run ids, in the order they were saved in."""

    child = serializers.CharField()

    def get_attribute(self, instance: RunComparison) -> list[str]:
        return comparison_run_ids(instance)


class ComparisonBaselineField(serializers.CharField):
    """A saved comparison's baseline run id."""

    def get_attribute(self, instance: RunComparison) -> str | None:
        return comparison_baseline_id(instance)


class SavedComparisonSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True, default=None, allow_null=True)
    runs = ComparisonRunIdsField(
        min_length=COMPARE_MIN_RUNS, max_length=COMPARE_MAX_RUNS,
        help_text=f"Run ids, {COMPARE_MIN_RUNS} to {COMPARE_MAX_RUNS}, in column order; kept in this order.",
    )
    baseline = ComparisonBaselineField(
        required=False, allow_null=True,
        help_text="The run id Δ and Δ% are against, one of runs; the first run when left out.",
    )

    class Meta:
        model = RunComparison
        fields = ["id", "name", "notes", "owner", "runs", "baseline", "created_at", "updated_at"]
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
        return run_compare(
            user=self.context["request"].user, run_ids=run_ids, baseline=comparison_baseline_id(instance)
        ).as_dict()


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


@extend_schema_field({"type": "integer", "minimum": CLEANUP_MIN_DAYS, "maximum": CLEANUP_MAX_DAYS})
class CleanupDaysField(serializers.IntegerField):
    """The schema states the range; the cleanup selector checks it and says so in `detail`."""


class DaysSerializer(serializers.Serializer):
    days = CleanupDaysField(
        help_text=f"Runs created more than this many days ago ({CLEANUP_MIN_DAYS} to {CLEANUP_MAX_DAYS}).",
    )


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
    """2 to 10 runs side by side, in the order given; Δ and Δ% are against the baseline (the first unless named)."""

    permission_classes = [IsAuthenticated, CanCompareRuns]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "runs", {"type": "array", "items": {"type": "string"}, "minItems": COMPARE_MIN_RUNS, "maxItems": COMPARE_MAX_RUNS},
                required=True, explode=True,
                description=f"Run id, repeated {COMPARE_MIN_RUNS} to {COMPARE_MAX_RUNS} times (or comma-separated).",
            ),
            OpenApiParameter("baseline", str, required=False, description="One of the runs; the first when left out."),
        ],
        responses={200: ComparisonResultSerializer, 400: ERROR, 404: ERROR},
    )
    def get(self, request: Request) -> Response:
        run_ids = [part for value in request.query_params.getlist("runs") for part in value.replace(",", " ").split()]
        try:
            comparison = run_compare(
                user=request.user, run_ids=run_ids, baseline=request.query_params.get("baseline") or None
            )
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
        if not roles.can_save_comparison(request.user):  # refused before its input is read
            raise PermissionDenied("You may not save comparisons.")
        incoming = SavedComparisonSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            saved = comparison_create(
                name=incoming.validated_data["name"],
                notes=incoming.validated_data.get("notes", ""),
                run_ids=incoming.validated_data["runs"],
                baseline=incoming.validated_data.get("baseline") or None,
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
                baseline=data.get("baseline") or None,
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
        if not roles.can_delete_some_runs(request.user):  # refused before its input is read
            raise PermissionDenied("You may not delete runs.")
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
