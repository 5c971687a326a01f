"""The console's API: users, roles, API keys, the audit trail. Writes go through accounts.services."""
from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers

from accounts import roles, services
from accounts.api.serializers import (
    ApiKeyCreateSerializer, ApiKeySerializer, AuditEventSerializer, UserSerializer, UserWriteSerializer,
)
from accounts.console import selectors
from accounts.console.filters import ApiKeyFilter, AuditFilter, UserFilter
from accounts.models import ApiKey, User


class ConsolePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _predicate(check: Any) -> type[permissions.BasePermission]:
    class Allowed(permissions.BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            return bool(request.user and request.user.is_authenticated and check(request.user))

    return Allowed


def _refusal(exc: Exception) -> exceptions.APIException:
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, ValidationError):
        return exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    return exceptions.ValidationError(str(exc))


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Users (admin, governance_admin). Create returns a generated password once; DELETE is a soft delete."""

    serializer_class = UserSerializer
    permission_classes = [permissions.IsAuthenticated, _predicate(roles.can_manage_users)]
    filter_backends = [DjangoFilterBackend]
    filterset_class = UserFilter
    pagination_class = ConsolePagination
    lookup_url_kwarg = "user_id"
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return selectors.user_list()

    def create(self, request: Request) -> Response:
        data = UserWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        if not fields.get("username"):
            raise exceptions.ValidationError({"username": ["This field is required."]})
        if User.objects.filter(username__iexact=fields["username"]).exists():
            raise exceptions.ValidationError({"username": ["An account with this username exists already."]})
        password = secrets.token_urlsafe(12)
        try:
            with transaction.atomic():
                user = services.user_create(actor=request.user, username=fields["username"], password=password,
                                            email=fields.get("email", ""), first_name=fields.get("first_name", ""),
                                            last_name=fields.get("last_name", ""))
                if fields.get("roles"):
                    services.user_set_roles(user=user, roles=fields["roles"], actor=request.user)
        except (PermissionDenied, ValidationError, ValueError) as exc:
            raise _refusal(exc) from None
        body = dict(UserSerializer(selectors.user_list().get(pk=user.pk)).data, password=password)
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    def partial_update(self, request: Request, **kwargs: Any) -> Response:
        target = self.get_object()
        if not roles.can_change_user(request.user, target):
            raise exceptions.PermissionDenied(f"You may not change the account {target.username!r}.")
        data = UserWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        new_roles = fields.pop("roles", None)
        try:
            with transaction.atomic():
                if fields:
                    services.user_update(actor=request.user, user=target, changes=fields)
                if new_roles is not None:
                    services.user_set_roles(user=target, roles=new_roles, actor=request.user)
        except (PermissionDenied, ValidationError, ValueError) as exc:
            raise _refusal(exc) from None
        return Response(UserSerializer(selectors.user_list().get(pk=target.pk)).data)

    def destroy(self, request: Request, **kwargs: Any) -> Response:
        """Soft delete: the account is deactivated (restorable), never removed."""
        return self._set_active(request, active=False)

    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, **kwargs: Any) -> Response:
        return self._set_active(request, active=False)

    @action(detail=True, methods=["post"])
    def restore(self, request: Request, **kwargs: Any) -> Response:
        return self._set_active(request, active=True)

    def _set_active(self, request: Request, *, active: bool) -> Response:
        target = self.get_object()
        try:
            if active:
                services.user_restore(actor=request.user, user=target)
            else:
                services.user_deactivate(actor=request.user, user=target)
        except (PermissionDenied, ValidationError) as exc:
            raise _refusal(exc) from None
        return Response(UserSerializer(selectors.user_list().get(pk=target.pk)).data)


class RolesView(APIView):
    """The role matrix, generated from accounts/roles.py, and who holds each role."""

    permission_classes = [permissions.IsAuthenticated, _predicate(roles.can_manage_users)]

    @extend_schema(responses=inline_serializer("RoleMatrix", {
        "predicates": drf_serializers.ListField(child=drf_serializers.CharField()),
        "roles": inline_serializer("RoleMatrixRow", {
            "role": drf_serializers.CharField(), "label": drf_serializers.CharField(),
            "permissions": drf_serializers.ListField(child=drf_serializers.CharField()),
            "answers": drf_serializers.JSONField(), "holders": drf_serializers.JSONField(),
        }, many=True),
    }))
    def get(self, request: Request) -> Response:
        predicates, rows = selectors.role_matrix()
        return Response({"predicates": predicates, "roles": [
            {"role": r.role, "label": r.label, "permissions": r.permissions, "answers": r.answers, "holders": r.holders}
            for r in rows]})


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's API keys (?scope=all: every key, for admin and governance). The secret is returned once."""

    serializer_class = ApiKeySerializer
    permission_classes = [permissions.IsAuthenticated, _predicate(lambda u: roles.can_create_api_key(u, u))]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApiKeyFilter
    pagination_class = ConsolePagination
    lookup_url_kwarg = "key_id"
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no caller
            return ApiKey.objects.none()
        everyone = self.action != "list" or self.request.query_params.get("scope") == "all"
        return selectors.api_keys_visible_to(self.request.user, everyone=everyone)

    def get_object(self) -> ApiKey:
        try:
            key = ApiKey.objects.select_related("owner").get(pk=self.kwargs["key_id"])
        except (ApiKey.DoesNotExist, ValidationError, ValueError):
            raise Http404 from None
        if not roles.can_manage_api_key(self.request.user, key):
            raise Http404  # another user's key is not shown to exist
        return key

    def create(self, request: Request) -> Response:
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            key, secret = services.api_key_create(owner=request.user, actor=request.user,
                                                  name=data.validated_data["name"],
                                                  expires_at=data.validated_data.get("expires_at"))
        except (PermissionDenied, ValidationError) as exc:
            raise _refusal(exc) from None
        return Response(dict(ApiKeySerializer(key).data, secret=secret), status=status.HTTP_201_CREATED,
                        headers={"Cache-Control": "no-store"})

    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, **kwargs: Any) -> Response:
        key = self.get_object()
        services.api_key_revoke(key=key, actor=request.user)
        return Response(ApiKeySerializer(key).data)


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, read-only (admin, governance_admin): no method changes or deletes an entry."""

    serializer_class = AuditEventSerializer
    permission_classes = [permissions.IsAuthenticated, _predicate(roles.can_view_audit)]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditFilter
    pagination_class = ConsolePagination
    lookup_url_kwarg = "event_id"
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return selectors.audit_list()
