from django.urls import path

from simulations import api

urlpatterns = [
    path("compute/", api.ComputeView.as_view(), name="api-simulations-compute"),
    path("runs/<str:run_id>/report/", api.RunReportView.as_view(), name="api-simulations-run-report"),
    path("runs/<str:run_id>/files/<str:name>/", api.RunFileView.as_view(), name="api-simulations-run-file"),
]
