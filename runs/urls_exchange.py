from django.urls import path

from runs.views import exchange as views

urlpatterns = [
    path("import/", views.RunImportView.as_view(), name="import"),
    path("import/bulk/", views.RunBulkImportView.as_view(), name="import_bulk"),
    path("<str:run_id>/export/<slug:fmt>/", views.RunExportView.as_view(), name="export"),
]
