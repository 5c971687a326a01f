"""API of saved run list views: /api/views/ (list, create) and /api/views/<id>/ (read, change, delete)."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import roles
from runs.models import SavedView
from runs.selectors.saved_views import saved_view_get, saved_view_list
from runs.services.saved_views import saved_view_create, saved_view_delete, saved_view_update


class CanViewRuns(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.can_view_runs(request.user)


class SavedViewSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    columns = serializers.ListField(child=serializers.CharField(max_length=300), required=False, max_length=20)
    sort = serializers.ListField(child=serializers.CharField(max_length=300), required=False, max_length=10)
    query = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    url = serializers.SerializerMethodField(help_text="The run list page opened on this view (shareable).")
    can_change = serializers.SerializerMethodField(help_text="Whether you may change or delete it (its owner).")

    class Meta:
        model = SavedView
        fields = ["id", "name", "owner", "query", "columns", "sort", "shared", "is_default", "url", "can_change",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "owner", "url", "can_change", "created_at", "updated_at"]

    def get_url(self, view: SavedView) -> str:
        return f"/runs/?view={view.pk}"

    def get_can_change(self, view: SavedView) -> bool:
        request = self.context.get("request")
        return roles.can_change_view(getattr(request, "user", None), view)


def _bad(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class SavedViewListView(generics.ListCreateAPIView):
    """Your saved run list views and those others shared. POST saves one (name, query, columns, sort, shared, is_default)."""

    permission_classes = [IsAuthenticated, CanViewRuns]
    serializer_class = SavedViewSerializer

    def get_queryset(self):
        return saved_view_list(user=self.request.user)

    @extend_schema(responses={201: SavedViewSerializer})
    def post(self, request: Request) -> Response:
        incoming = SavedViewSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            view = saved_view_create(actor=request.user, **incoming.validated_data)
        except DjangoValidationError as exc:
            raise _bad(exc) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(SavedViewSerializer(view, context={"request": request}).data, status=status.HTTP_201_CREATED)


class SavedViewDetailView(generics.RetrieveUpdateDestroyAPIView):
    """A saved view: anyone who may see runs reads a shared one; only its owner changes or deletes it."""

    permission_classes = [IsAuthenticated, CanViewRuns]
    serializer_class = SavedViewSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_object(self) -> SavedView:
        return saved_view_get(user=self.request.user, pk=self.kwargs["pk"])

    @extend_schema(responses={200: SavedViewSerializer, 403: OpenApiResponse(description="Not its owner.")})
    def patch(self, request: Request, pk: int) -> Response:
        view = self.get_object()
        if not roles.can_change_view(request.user, view):  # refused before its input is read
            raise PermissionDenied("Only its owner changes a saved view.")
        incoming = SavedViewSerializer(view, data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        try:
            saved_view_update(view=view, actor=request.user, **incoming.validated_data)
        except DjangoValidationError as exc:
            raise _bad(exc) from None
        return Response(SavedViewSerializer(view, context={"request": request}).data)

    @extend_schema(responses={204: None, 403: OpenApiResponse(description="Not its owner.")})
    def delete(self, request: Request, pk: int) -> Response:
        view = self.get_object()
        try:
            saved_view_delete(view=view, actor=request.user)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
