"""Pages for comparing, deleting and cleaning up runs (in the "runs" namespace)."""
from django.urls import path

from runs.views import cleanup, compare

urlpatterns = [
    path("compare/", compare.CompareView.as_view(), name="compare"),
    path("comparisons/", compare.ComparisonListView.as_view(), name="comparisons"),
    path("comparisons/<int:pk>/", compare.ComparisonDetailView.as_view(), name="comparison"),
    path("comparisons/<int:pk>/delete/", compare.ComparisonDeleteView.as_view(), name="comparison_delete"),
    path("cleanup/", cleanup.CleanupView.as_view(), name="cleanup"),
    path("<str:run_id>/delete/", cleanup.RunDeleteView.as_view(), name="delete"),
]
