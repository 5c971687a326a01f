from django.urls import path

from datasets.api import views

urlpatterns = [
    path("", views.DatasetListApi.as_view(), name="api-datasets-list"),
    path("<int:pk>/", views.DatasetDetailApi.as_view(), name="api-datasets-detail"),
    path("<int:pk>/versions/", views.DatasetVersionsApi.as_view(), name="api-datasets-versions"),
    path("<int:pk>/preview/", views.DatasetPreviewApi.as_view(), name="api-datasets-preview"),
    path("<int:pk>/export/", views.DatasetExportApi.as_view(), name="api-datasets-export"),
    path("<int:pk>/runs/", views.DatasetRunsApi.as_view(), name="api-datasets-runs"),
]
