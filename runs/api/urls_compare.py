"""API routes for comparing, bulk deletion, cleanup and checksums (before the router)."""
from django.urls import path

from runs.api import compare

urlpatterns = [
    path("compare/", compare.CompareView.as_view(), name="api-compare"),
    path("comparisons/", compare.ComparisonListView.as_view(), name="api-comparisons"),
    path("comparisons/<int:pk>/", compare.ComparisonDetailView.as_view(), name="api-comparison"),
    path("runs/bulk-delete/", compare.RunBulkDeleteView.as_view(), name="api-runs-bulk-delete"),
    path("runs/<str:run_id>/checksum/", compare.RunChecksumView.as_view(), name="api-run-checksum"),
    path("cleanup/plan/", compare.CleanupPlanView.as_view(), name="api-cleanup-plan"),
    path("cleanup/execute/", compare.CleanupExecuteView.as_view(), name="api-cleanup-execute"),
]
