from django.urls import include, path
from rest_framework.routers import DefaultRouter

from runs.api.views import RunKindListView, RunViewSet, TagListView

router = DefaultRouter()
# No `.json`-style twins of every route: the views do not take a `format` argument (a 500),
# and the README and schema document one spelling per endpoint.
router.include_format_suffixes = False
router.register("runs", RunViewSet, basename="run")

# Before the router, whose format-suffix patterns would take `logs.txt` for the
# `logs` action asked in a `txt` format (a 404). The schema documents one spelling.
logs_text = RunViewSet.as_view({"get": "logs_text"})
logs_text_slash = RunViewSet.as_view({"get": "logs_text"}, schema=None)

urlpatterns = [
    path("runs/<str:run_id>/logs.txt", logs_text, name="run-logs-text"),
    path("runs/<str:run_id>/logs.txt/", logs_text_slash, name="run-logs-text-slash"),
    path("kinds/", RunKindListView.as_view(), name="api-kinds"),
    path("tags/", TagListView.as_view(), name="api-tags"),
    # Fixed paths first: they must win over the router's runs/{run_id}/ pattern.
    path("", include("runs.api.urls_exchange")),
    path("", include("runs.api.urls_compare")),
    path("", include(router.urls)),
]
