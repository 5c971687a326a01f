from django.urls import path

from runs.api.exchange import RunBulkImportView, RunExportView, RunImportView

urlpatterns = [
    path("runs/import/", RunImportView.as_view(), name="api-run-import"),
    path("runs/import/bulk/", RunBulkImportView.as_view(), name="api-run-import-bulk"),
    path("runs/<str:run_id>/export/", RunExportView.as_view(), name="api-run-export"),
]
