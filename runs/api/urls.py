from django.urls import include, path
from rest_framework.routers import DefaultRouter

from runs.api.saved_views import SavedViewDetailView, SavedViewListView
from runs.api.views import RunKindListView, RunViewSet, TagListView

class RunsightRouter(DefaultRouter):
    """A router whose browsable root lists every top-level endpoint of the API, not only
    the registered viewsets (DRF's default), so `/api/` is a map a person can follow."""

    TOP_LEVEL = {
        "runs": "run-list",
        "runs-csv": "run-csv",
        "runs-bulk": "run-bulk",
        "runs-bulk-delete": "api-runs-bulk-delete",
        "runs-import": "api-run-import",
        "kinds": "api-kinds",
        "tags": "api-tags",
        "compare": "api-compare",
        "comparisons": "api-comparisons",
        "views": "api-saved-views",
        "cleanup-plan": "api-cleanup-plan",
        "cleanup-execute": "api-cleanup-execute",
        "simulations-compute": "api-simulations-compute",
        "schema": "api-schema",
        "docs": "api-docs",
    }

    def get_api_root_view(self, api_urls=None):
        # Names that do not resolve (an app not installed) are skipped by the root view.
        return self.APIRootView.as_view(api_root_dict=dict(self.TOP_LEVEL))


router = RunsightRouter()
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
    path("views/", SavedViewListView.as_view(), name="api-saved-views"),
    path("views/<int:pk>/", SavedViewDetailView.as_view(), name="api-saved-view"),
    # Fixed paths first: they must win over the router's runs/{run_id}/ pattern.
    path("", include("runs.api.urls_exchange")),
    path("", include("runs.api.urls_compare")),
    path("", include(router.urls)),
]
