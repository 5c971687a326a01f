from django.urls import include, path
from rest_framework.routers import DefaultRouter

from runs.api.views import RunKindListView, RunViewSet, TagListView

router = DefaultRouter()
router.register("runs", RunViewSet, basename="run")

urlpatterns = [
    path("kinds/", RunKindListView.as_view(), name="api-kinds"),
    path("tags/", TagListView.as_view(), name="api-tags"),
    # Fixed paths first: they must win over the router's runs/{run_id}/ pattern.
    path("", include("runs.api.urls_exchange")),
    path("", include("runs.api.urls_compare")),
    path("", include(router.urls)),
]
