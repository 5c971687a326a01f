from django.urls import path

from runs.api.exchange import RunExportView, RunImportView

urlpatterns = [
    path("runs/import/", RunImportView.as_view(), name="api-run-import"),
    path("runs/<str:run_id>/export/", RunExportView.as_view(), name="api-run-export"),
]
