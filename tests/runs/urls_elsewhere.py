"""The run pages mounted under another path (tests/runs/test_run_table.py)."""
from django.urls import include, path

urlpatterns = [path("elsewhere/", include("runs.urls"))]
