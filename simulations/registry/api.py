"""The registry's API: models, versions, aliases, predict (OpenAPI through drf-spectacular)."""
from __future__ import annotations

from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from runs.models import Run
from simulations.registry import selectors, services
from simulations.registry.models import ModelVersion, RegisteredModel
from simulations.registry.scoring import ScoringError, max_rows, resolve_version, score


class RegistryPermission(permissions.BasePermission):
    """Reads: whoever reads runs. Writes: ml_admin and admin (predict is a read: it changes nothing)."""

    message = "You may not use the model registry."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS or getattr(view, "read_only_post", False):
            return roles.can_view_registry(request.user)
        return roles.can_manage_registry(request.user)


def _invalid(exc: ValidationError) -> Response:
    body = exc.message_dict if hasattr(exc, "error_dict") else {"detail": " ".join(exc.messages)}
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class VersionSerializer(serializers.ModelSerializer):
    model = serializers.SlugRelatedField(slug_field="name", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    aliases = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = ["model", "number", "source_run_id", "model_type", "dataset_id", "dataset_name", "dataset_sha256",
                  "params", "metrics", "artifact_name", "artifact_sha256", "run_checksum", "created_by",
                  "created_at", "notes", "archived_at", "aliases"]

    def get_aliases(self, obj: ModelVersion) -> list[str]:
        return sorted(a.name for a in obj.aliases.all())


class ModelSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    aliases = serializers.SerializerMethodField(help_text="Alias name → version number.")
    version_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = RegisteredModel
        fields = ["name", "description", "model_card", "owner", "created_at", "updated_at", "archived_at",
                  "aliases", "version_count"]

    def get_aliases(self, obj: RegisteredModel) -> dict[str, int]:
        return {a.name: a.version.number for a in obj.aliases.all()}


class RegisterSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=100, help_text="The model; created when new.")
    run_id = serializers.CharField(max_length=40, help_text="A SUCCEEDED training run computed here.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=500)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)


class VersionCreateSerializer(serializers.Serializer):
    run_id = serializers.CharField(max_length=40)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)


class ModelUpdateSerializer(serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True, max_length=500)
    model_card = serializers.CharField(required=False, allow_blank=True, max_length=100_000)


class AliasSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)


class PredictSerializer(serializers.Serializer):
    alias = serializers.SlugField(required=False, max_length=50, help_text="Default: champion.")
    version = serializers.IntegerField(required=False, min_value=1, help_text="A version number (wins over alias).")
    rows = serializers.ListField(
        child=serializers.DictField(), allow_empty=False,
        help_text="The batch: one object per row, column name → value; at most REGISTRY_PREDICT_MAX_ROWS rows.",
    )


PREDICT_RESPONSE = inline_serializer("PredictResult", {
    "model": serializers.CharField(),
    "version": serializers.IntegerField(),
    "run_id": serializers.CharField(),
    "artifact_sha256": serializers.CharField(),
    "predictions": serializers.ListField(child=serializers.JSONField()),
    "classes": serializers.ListField(child=serializers.JSONField(), allow_null=True),
    "probabilities": serializers.ListField(child=serializers.ListField(child=serializers.FloatField()),
                                           allow_null=True, help_text="Per row, in `classes` order (classifiers)."),
})
MISSING_COLUMNS = inline_serializer("PredictBadBatch", {
    "detail": serializers.CharField(),
    "missing": serializers.ListField(child=serializers.CharField(), required=False),
    "required": serializers.ListField(child=serializers.CharField(), required=False),
})
REFUSED = inline_serializer("ModelRefused", {
    "detail": serializers.CharField(),
    "refused": serializers.CharField(required=False, help_text="`model_integrity` when the model file was altered."),
})


def _run_or_400(run_id: str, user: Any) -> Run | Response:
    run = Run.objects.visible_to(user).filter(run_id=run_id).first()
    if run is None:
        return Response({"run_id": [f"no run {run_id!r}"]}, status=status.HTTP_400_BAD_REQUEST)
    return run


class ModelListApi(APIView):
    permission_classes = [permissions.IsAuthenticated, RegistryPermission]

    @extend_schema(responses=ModelSerializer(many=True), summary="List registered models",
                   parameters=[OpenApiParameter("archived", bool, description="Include archived models.")])
    def get(self, request: Request) -> Response:
        qs = selectors.models_visible(request.user, include_archived=request.query_params.get("archived") in ("1", "true"))
        return Response(ModelSerializer(qs[:1000], many=True).data)

    @extend_schema(request=RegisterSerializer, responses={201: VersionSerializer},
                   summary="Register a training run's model as the next version of a model (ml_admin, admin)")
    def post(self, request: Request) -> Response:
        body = RegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = _run_or_400(body.validated_data["run_id"], request.user)
        if isinstance(run, Response):
            return run
        try:
            version = services.model_register(run=run, name=body.validated_data["name"], actor=request.user,
                                              description=body.validated_data.get("description", ""),
                                              notes=body.validated_data.get("notes", ""))
        except ValidationError as exc:
            return _invalid(exc)
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)


class ModelDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated, RegistryPermission]

    @extend_schema(responses=ModelSerializer, summary="A registered model")
    def get(self, request: Request, model_name: str) -> Response:
        return Response(ModelSerializer(selectors.model_get(request.user, model_name)).data)

    @extend_schema(request=ModelUpdateSerializer, responses=ModelSerializer,
                   summary="Edit a model's description and model card (markdown)")
    def patch(self, request: Request, model_name: str) -> Response:
        model = selectors.model_get(request.user, model_name)
        body = ModelUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not body.validated_data:
            return Response({"detail": "nothing to change: give description or model_card"}, status=400)
        try:
            services.model_card_update(model=model, actor=request.user, **body.validated_data)
        except ValidationError as exc:
            return _invalid(exc)
        return Response(ModelSerializer(selectors.model_get(request.user, model_name)).data)

    @extend_schema(responses={200: ModelSerializer, 409: OpenApiResponse(description="Archived already.")},
                   summary="Archive a model (kept, its aliases removed, no longer scored)")
    def delete(self, request: Request, model_name: str) -> Response:
        model = selectors.model_get(request.user, model_name)
        if model.archived_at is not None:
            return Response({"detail": f"{model.name} is archived already"}, status=status.HTTP_409_CONFLICT)
        services.model_archive(model=model, actor=request.user)
        return Response(ModelSerializer(selectors.model_get(request.user, model_name)).data)


class VersionListApi(APIView):
    permission_classes = [permissions.IsAuthenticated, RegistryPermission]

    @extend_schema(responses=VersionSerializer(many=True), summary="Versions of a model, newest first")
    def get(self, request: Request, model_name: str) -> Response:
        model = selectors.model_get(request.user, model_name)
        return Response(VersionSerializer(selectors.versions_of(model), many=True).data)

    @extend_schema(request=VersionCreateSerializer, responses={201: VersionSerializer},
                   summary="Register a training run as the model's next version (ml_admin, admin)")
    def post(self, request: Request, model_name: str) -> Response:
        model = selectors.model_get(request.user, model_name)
        body = VersionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = _run_or_400(body.validated_data["run_id"], request.user)
        if isinstance(run, Response):
            return run
        try:
            version = services.version_create(model=model, run=run, actor=request.user,
                                              notes=body.validated_data.get("notes", ""))
        except ValidationError as exc:
            return _invalid(exc)
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)


class VersionDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated, RegistryPermission]

    @extend_schema(responses=VersionSerializer, summary="One version")
    def get(self, request: Request, model_name: str, number: int) -> Response:
        model = selectors.model_get(request.user, model_name)
        return Response(VersionSerializer(selectors.version_get(model, number)).data)

    @extend_schema(responses={200: VersionSerializer, 409: OpenApiResponse(description="Archived already.")},
                   summary="Archive a version (kept; the aliases pointing at it are removed)")
    def delete(self, request: Request, model_name: str, number: int) -> Response:
        model = selectors.model_get(request.user, model_name)
        version = selectors.version_get(model, number)
        if version.archived_at is not None:
            return Response({"detail": f"v{number} is archived already"}, status=status.HTTP_409_CONFLICT)
        services.version_archive(version=version, actor=request.user)
        return Response(VersionSerializer(selectors.version_get(model, number)).data)


class AliasApi(APIView):
    permission_classes = [permissions.IsAuthenticated, RegistryPermission]

    @extend_schema(responses=inline_serializer("AliasTarget", {"alias": serializers.CharField(),
                                                              "version": serializers.IntegerField()}),
                   summary="Which version an alias names")
    def get(self, request: Request, model_name: str, alias: str) -> Response:
        model = selectors.model_get(request.user, model_name)
        row = model.aliases.select_related("version").filter(name=alias).first()
        if row is None:
            return Response({"detail": f"{model.name} has no alias {alias!r}"}, status=status.HTTP_404_NOT_FOUND)
        return Response({"alias": row.name, "version": row.version.number})

    @extend_schema(request=AliasSerializer,
                   responses=inline_serializer("AliasSet", {"alias": serializers.CharField(),
                                                            "version": serializers.IntegerField(),
                                                            "previous": serializers.IntegerField(allow_null=True)}),
                   summary="Point an alias (champion, challenger, any slug) at a version; audited (ml_admin, admin)")
    def put(self, request: Request, model_name: str, alias: str) -> Response:
        model = selectors.model_get(request.user, model_name)
        body = AliasSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = model.versions.filter(number=body.validated_data["version"]).first()
        if version is None:
            return Response({"version": [f"{model.name} has no version {body.validated_data['version']}"]}, status=400)
        previous = selectors.aliases_of(model).get(alias)
        try:
            services.alias_set(model=model, name=alias, version=version, actor=request.user)
        except ValidationError as exc:
            return _invalid(exc)
        return Response({"alias": alias, "version": version.number, "previous": previous})

    @extend_schema(responses={204: None}, summary="Remove an alias; audited (ml_admin, admin)")
    def delete(self, request: Request, model_name: str, alias: str) -> Response:
        model = selectors.model_get(request.user, model_name)
        if not model.aliases.filter(name=alias).exists():
            return Response({"detail": f"{model.name} has no alias {alias!r}"}, status=status.HTTP_404_NOT_FOUND)
        services.alias_delete(model=model, name=alias, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PredictApi(APIView):
    """Score a small JSON batch with a version (by `version`, or `alias`, default champion)."""

    permission_classes = [permissions.IsAuthenticated, RegistryPermission]
    read_only_post = True  # scoring writes nothing: readers of the registry may score

    @extend_schema(
        request=PredictSerializer,
        parameters=[OpenApiParameter("alias", str, description="Alias to score with (body wins)."),
                    OpenApiParameter("version", int, description="Version to score with (body wins).")],
        responses={
            200: PREDICT_RESPONSE,
            400: OpenApiResponse(MISSING_COLUMNS, description="A bad batch: no rows, too many rows, missing columns "
                                                              "(named in `missing`), empty values, wrong types."),
            404: OpenApiResponse(description="No such model, version or alias."),
            409: OpenApiResponse(REFUSED, description="The version or model is archived, or its model file no "
                                                      "longer matches its registered SHA-256: refused, never used."),
        },
        summary="Predict with a registered model",
    )
    def post(self, request: Request, model_name: str) -> Response:
        model = selectors.model_get(request.user, model_name)
        data = request.data if isinstance(request.data, dict) else {}
        body = PredictSerializer(data={**{k: request.query_params[k] for k in ("alias", "version")
                                          if k in request.query_params}, **data})
        body.is_valid(raise_exception=True)
        rows = body.validated_data["rows"]
        if len(rows) > max_rows():
            return Response({"detail": f"the batch has {len(rows):,} rows; at most {max_rows():,} are scored at once"},
                            status=400)
        try:
            version = resolve_version(model, alias=body.validated_data.get("alias"),
                                      version=body.validated_data.get("version"))
            result = score(version, pd.DataFrame.from_records(rows))
        except ScoringError as exc:
            return Response({"detail": str(exc), **exc.extra}, status=exc.status)
        return Response({
            "model": model.name, "version": version.number, "run_id": version.source_run_id,
            "artifact_sha256": version.artifact_sha256, "predictions": result.predictions,
            "classes": result.classes, "probabilities": result.probabilities,
        })
