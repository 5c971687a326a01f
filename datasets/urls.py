from django.urls import path

from datasets import views

app_name = "datasets"

urlpatterns = [
    path("", views.DatasetListView.as_view(), name="list"),
    path("upload/", views.DatasetUploadView.as_view(), name="upload"),
    path("<int:pk>/", views.DatasetDetailView.as_view(), name="detail"),
    path("<int:pk>/export/", views.DatasetExportView.as_view(), name="export"),
    path("<int:pk>/edit/", views.DatasetEditView.as_view(), name="edit"),
    path("<int:pk>/delete/", views.DatasetDeleteView.as_view(), name="delete"),
]
