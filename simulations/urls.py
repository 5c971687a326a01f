from django.urls import path

from simulations import views

app_name = "simulations"

urlpatterns = [
    path("compute/", views.ComputeView.as_view(), name="compute"),
    path("positions-format/", views.PositionsFormatView.as_view(), name="positions_format"),
    path("positions-format/example.csv", views.PositionsExampleView.as_view(), name="positions_example"),
    path("runs/<str:run_id>/report.xlsx", views.RunReportView.as_view(), name="run_report"),
    path("runs/<str:run_id>/files/<str:name>", views.RunFileView.as_view(), name="run_file"),
]
