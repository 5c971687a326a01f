from django.urls import path

from finops_admin.api import views

urlpatterns = [
    path("", views.BatchRunListView.as_view(), name="api-finops-runs"),
    # Before <run_id>/ so that "reprocess" is never read as a run id.
    path("reprocess/", views.BatchReprocessView.as_view(), name="api-finops-reprocess"),
    path("<str:run_id>/", views.BatchRunDetailView.as_view(), name="api-finops-run"),
    path("<str:run_id>/logs/", views.BatchRunLogsView.as_view(), name="api-finops-run-logs"),
]
