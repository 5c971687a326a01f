from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from accounts.console.views_ops import healthz
from runs.api.schema import SchemaView
from runs.views.pages import HomeView, favicon

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    # Browsers ask for /favicon.ico on every page that names no icon (the API's JSON, files).
    path("favicon.ico", favicon, name="favicon"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("runs/", include("runs.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file (?script): no inline script, as the CSP requires.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("simulations/", include("simulations.urls")),
    path("api/simulations/", include("simulations.api_urls")),
    path("training/", include("simulations.training.urls")),
    path("api/training/", include("simulations.training.api_urls")),
    path("datasets/", include("datasets.urls")),
    path("api/datasets/", include("datasets.api.urls")),
    path("models/", include("simulations.registry.urls")),
    path("api/models/", include("simulations.registry.api_urls")),
    path("finops/admin/runs/", include("finops_admin.urls")),
    path("finops/", include("finops_admin.cost_urls")),
    path("api/finops/costs/", include("finops_admin.cost_api_urls")),
    path("api/finops/admin/runs/", include("finops_admin.api.urls")),
    # The MLflow-compatible tracking API, where MLflow's client looks for it (docs/mlflow.md).
    path("api/2.0/mlflow/", include("tracking.urls")),
    path("projects/", include("projects.urls")),
    path("api/", include("projects.api.urls")),
    # Operations: console › health, logs, caches, their API, and /healthz for load balancers.
    path("healthz", healthz, name="healthz"),
    path("", include("accounts.console.urls_ops")),
    path("console/", include("accounts.console.urls")),
    path("api/", include("accounts.api.urls")),
    path("api/", include("runs.api.urls")),
]

handler403 = "config.error_views.permission_denied"
handler404 = "config.error_views.page_not_found"
handler500 = "config.error_views.server_error"
