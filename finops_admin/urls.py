from django.urls import path

from finops_admin import views

app_name = "finops_admin"

urlpatterns = [
    path("", views.BatchListView.as_view(), name="batch_list"),
    path("export.csv", views.BatchCsvView.as_view(), name="batch_csv"),
    path("launch/", views.BatchLaunchView.as_view(), name="batch_launch"),
    path("<str:run_id>/", views.BatchDetailView.as_view(), name="batch_detail"),
    path("<str:run_id>/logs.txt", views.BatchLogsView.as_view(), name="batch_logs"),
    path("<str:run_id>/reprocess/", views.BatchReprocessView.as_view(), name="batch_reprocess"),
]
