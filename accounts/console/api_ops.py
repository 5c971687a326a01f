"""The console's operations API: health, application logs, caches (console roles)."""
from __future__ import annotations

from typing import Any

from rest_framework import exceptions, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer

from accounts import roles
from accounts.console import caches as cache_registry
from accounts.console import health, logreader


def _predicate(check: Any) -> type[permissions.BasePermission]:
    class Allowed(permissions.BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            return bool(request.user and request.user.is_authenticated and check(request.user))

    return Allowed


CanView = _predicate(roles.can_view_console)
CanManage = _predicate(roles.can_manage_console)


class HealthApiView(APIView):
    """Every health check, green/amber/red with why. HTTP 200 whatever the status (the body says it)."""

    permission_classes = [permissions.IsAuthenticated, CanView]
    serializer_class = None

    def get(self, request: Request) -> Response:
        return Response(health.health_report())


class LogsApiView(APIView):
    """A page of log lines, newest first: ?source, level (repeatable), q, since, until, logger, process,
    cursor, limit (≤ 500), chart=1 for counts per level per hour."""

    permission_classes = [permissions.IsAuthenticated, CanView]

    @extend_schema(parameters=[
        OpenApiParameter("source", str, description="A file of LOG_DIR (web.log by default)."),
        OpenApiParameter("level", str, many=True, enum=list(logreader.LEVELS)),
        OpenApiParameter("q", str, description="Text the line contains (any case)."),
        OpenApiParameter("since", OpenApiTypes.DATETIME), OpenApiParameter("until", OpenApiTypes.DATETIME),
        OpenApiParameter("logger", str, description="Logger name prefix."),
        OpenApiParameter("process", str, description="Process role (web, worker, beat, command) or pid."),
        OpenApiParameter("cursor", str, description="next_cursor of the previous page (opaque)."),
        OpenApiParameter("limit", int), OpenApiParameter("chart", str, enum=["1"]),
    ], responses=inline_serializer("LogPage", {
        "source": serializers.CharField(), "sources": serializers.ListField(child=serializers.CharField()),
        "results": serializers.ListField(child=serializers.JSONField()),
        "next_cursor": serializers.CharField(allow_null=True), "scanned_bytes": serializers.IntegerField(),
        "file_size": serializers.IntegerField(allow_null=True),
        "chart": serializers.JSONField(required=False, help_text="With chart=1: counts per level per hour."),
    }))
    def get(self, request: Request) -> Response:
        sources = logreader.log_sources()
        source = request.query_params.get("source") or ("web.log" if "web.log" in sources else (sources[0] if sources else ""))
        try:
            limit = min(max(int(request.query_params.get("limit") or 100), 1), 500)
        except ValueError:
            raise exceptions.ValidationError({"limit": "a whole number from 1 to 500"}) from None
        try:
            query = logreader.query_from_params(request.query_params)
            page = logreader.read_page(source=source, query=query, cursor=request.query_params.get("cursor") or None,
                                       limit=limit)
            body: dict[str, Any] = {"source": source, "sources": sources, "results": page.lines,
                                    "next_cursor": page.next_cursor, "scanned_bytes": page.scanned_bytes,
                                    "file_size": page.file_size}
            if request.query_params.get("chart") == "1":
                body["chart"] = logreader.level_counts_per_hour(source=source)
        except logreader.LogError as exc:
            raise exceptions.ValidationError({"detail": str(exc)}) from None
        return Response(body)


class CachesApiView(APIView):
    permission_classes = [permissions.IsAuthenticated, CanView]

    @extend_schema(responses=inline_serializer("CacheList", {
        "results": serializers.ListField(child=serializers.JSONField()),
    }))
    def get(self, request: Request) -> Response:
        return Response({"results": [managed.as_dict() for managed in cache_registry.registered_caches()]})


class EvictSerializer(serializers.Serializer):
    older_than_days = serializers.IntegerField(required=False, min_value=0)
    max_total_bytes = serializers.IntegerField(required=False, min_value=0)


class CacheActionApiView(APIView):
    """POST clear (one cache), clear-all, clear-expired, or evict (older_than_days / max_total_bytes)."""

    permission_classes = [permissions.IsAuthenticated, CanManage]
    action_name = "clear"

    @extend_schema(request=EvictSerializer, responses=inline_serializer("CacheActionResult", {
        "name": serializers.CharField(required=False), "removed": serializers.JSONField(),
    }))
    def post(self, request: Request, name: str = "") -> Response:
        try:
            if self.action_name == "clear":
                return Response({"name": name, "removed": cache_registry.cache_clear(actor=request.user, name=name)})
            if self.action_name == "clear-all":
                return Response({"removed": cache_registry.caches_clear_all(actor=request.user)})
            if self.action_name == "clear-expired":
                return Response({"removed": cache_registry.caches_clear_expired(actor=request.user)})
            data = EvictSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            removed = cache_registry.cache_evict_by(actor=request.user, name=name, **data.validated_data)
            return Response({"name": name, "removed": removed})
        except LookupError as exc:
            return Response({"detail": str(exc).strip("'\"")}, status=status.HTTP_404_NOT_FOUND)
        except ValueError as exc:
            raise exceptions.ValidationError({"detail": str(exc)}) from None
