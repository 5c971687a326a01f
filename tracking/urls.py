"""/api/2.0/mlflow/…: the endpoints MLflow's Python client calls, spelled as MLflow spells them."""
from django.urls import path

from tracking.api import views

app_name = "mlflow"

urlpatterns = [
    path("experiments/search", views.ExperimentSearchView.as_view(), name="experiments-search"),
    path("experiments/get", views.ExperimentGetView.as_view(), name="experiments-get"),
    path("experiments/get-by-name", views.ExperimentGetByNameView.as_view(), name="experiments-get-by-name"),
    path("experiments/create", views.ExperimentCreateView.as_view(), name="experiments-create"),
    path("runs/search", views.RunSearchView.as_view(), name="runs-search"),
    path("runs/get", views.RunGetView.as_view(), name="runs-get"),
    path("runs/create", views.RunCreateView.as_view(), name="runs-create"),
    path("runs/update", views.RunUpdateView.as_view(), name="runs-update"),
    path("runs/log-batch", views.RunLogBatchView.as_view(), name="runs-log-batch"),
    path("runs/log-metric", views.RunLogMetricView.as_view(), name="runs-log-metric"),
    path("runs/log-parameter", views.RunLogParamView.as_view(), name="runs-log-parameter"),
    path("runs/set-tag", views.RunSetTagView.as_view(), name="runs-set-tag"),
    path("runs/delete-tag", views.RunDeleteTagView.as_view(), name="runs-delete-tag"),
    path("metrics/get-history", views.MetricHistoryView.as_view(), name="metrics-get-history"),
]
