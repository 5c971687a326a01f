"""Pages and API of training datasets: the list, an upload (CSV or Parquet), generating one."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from runs.views.pages import RoleRequiredMixin
from simulations.training.datasets import MAX_UPLOAD_BYTES, dataset_upload
from simulations.training.models import Dataset


class UploadForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, help_text="Default: the file's name.")
    file = forms.FileField(help_text="CSV with a header row, or Parquet. Target and features are chosen at launch.")


class DatasetListView(RoleRequiredMixin, View):
    template_name = "simulations/training_datasets.html"
    allowed = staticmethod(roles.can_view_datasets)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, UploadForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if not roles.can_train_models(request.user):
            raise PermissionDenied
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_UPLOAD_BYTES:
                form.add_error("file", f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
            else:
                try:
                    dataset = dataset_upload(name=form.cleaned_data["name"], filename=upload.name,
                                             data=upload.read(), user=request.user)
                except ValidationError as exc:
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    messages.success(request, f"Dataset #{dataset.pk} stored ({dataset.rows:,} rows, SHA-256 {dataset.sha256[:12]}…).")
                    return HttpResponseRedirect(reverse("training:datasets"))
        return self._render(request, form, status=400)

    def _render(self, request: HttpRequest, form: UploadForm, status: int = 200) -> HttpResponse:
        context = {
            "datasets": Dataset.objects.select_related("created_by")[:200],
            "form": form,
            "can_train": roles.can_train_models(request.user),
        }
        return render(request, self.template_name, context, status=status)


# ---------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------
class CanViewDatasets(permissions.BasePermission):
    message = "You may not see training datasets."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return roles.can_view_datasets(request.user)
        return roles.can_train_models(request.user)


class DatasetSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "kind", "format", "sha256", "size_bytes", "rows", "columns", "source",
                  "created_by", "created_at"]


class DatasetUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV with a header row, or Parquet.")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)


class DatasetListApi(APIView):
    """Training datasets: list (readers of runs), upload (those who may train)."""

    permission_classes = [permissions.IsAuthenticated, CanViewDatasets]
    parser_classes = [MultiPartParser]

    @extend_schema(responses=DatasetSerializer(many=True), summary="List training datasets")
    def get(self, request: Request) -> Response:
        return Response(DatasetSerializer(Dataset.objects.select_related("created_by")[:500], many=True).data)

    @extend_schema(request={"multipart/form-data": DatasetUploadSerializer}, responses={201: DatasetSerializer},
                   summary="Upload a CSV or Parquet file as a training dataset")
    def post(self, request: Request) -> Response:
        body = DatasetUploadSerializer(data=request.data)
        if not body.is_valid():
            return Response(body.errors, status=status.HTTP_400_BAD_REQUEST)
        upload = body.validated_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            return Response({"file": [f"larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"]}, status=400)
        try:
            dataset = dataset_upload(name=body.validated_data.get("name", ""), filename=upload.name,
                                     data=upload.read(), user=request.user)
        except ValidationError as exc:
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)
