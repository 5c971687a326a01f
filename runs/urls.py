from django.urls import include, path

from runs.views import pages as views

app_name = "runs"

urlpatterns = [
    path("", views.RunListView.as_view(), name="list"),
    path("launch/", views.LaunchChooseView.as_view(), name="launch_choose"),
    path("launch/<slug:kind>/", views.LaunchView.as_view(), name="launch"),
    path("export.csv", views.RunCsvView.as_view(), name="csv"),
    path("bulk/", views.RunBulkView.as_view(), name="bulk"),
    path("bulk/delete/", views.RunBulkDeleteView.as_view(), name="bulk_delete"),
    path("views/", views.SavedViewSaveView.as_view(), name="view_save"),
    path("views/<int:pk>/default/", views.SavedViewDefaultView.as_view(), name="view_default"),
    path("views/<int:pk>/delete/", views.SavedViewDeleteView.as_view(), name="view_delete"),
    # Fixed paths before <run_id>/ so that "compare/" is never read as a run id.
    path("", include("runs.urls_exchange")),
    path("", include("runs.urls_compare")),
    path("<str:run_id>/", views.RunDetailView.as_view(), name="detail"),
    path("<str:run_id>/cancel/", views.RunCancelView.as_view(), name="cancel"),
    path("<str:run_id>/annotate/", views.RunAnnotateView.as_view(), name="annotate"),
    path("<str:run_id>/clone/", views.RunCloneView.as_view(), name="clone"),
    path("<str:run_id>/logs.txt", views.RunLogsTextView.as_view(), name="logs_text"),
    path("<str:run_id>/validation/", views.RunValidationView.as_view(), name="validation"),
]
