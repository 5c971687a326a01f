from django.urls import path

from accounts.console import api_ops, views_ops

app_name = "console_ops"

urlpatterns = [
    path("console/health/", views_ops.HealthView.as_view(), name="health"),
    path("console/logs/", views_ops.LogsView.as_view(), name="logs"),
    path("console/logs/download/", views_ops.LogsDownloadView.as_view(), name="logs_download"),
    path("console/caches/", views_ops.CachesView.as_view(), name="caches"),
    path("console/caches/action/", views_ops.CachesActionView.as_view(), name="caches_action"),
    path("api/health/", api_ops.HealthApiView.as_view(), name="api_health"),
    path("api/logs/", api_ops.LogsApiView.as_view(), name="api_logs"),
    path("api/caches/", api_ops.CachesApiView.as_view(), name="api_caches"),
    path("api/caches/clear-all/", api_ops.CacheActionApiView.as_view(action_name="clear-all"), name="api_caches_clear_all"),
    path("api/caches/clear-expired/", api_ops.CacheActionApiView.as_view(action_name="clear-expired"),
         name="api_caches_clear_expired"),
    path("api/caches/<slug:name>/clear/", api_ops.CacheActionApiView.as_view(action_name="clear"), name="api_cache_clear"),
    path("api/caches/<slug:name>/evict/", api_ops.CacheActionApiView.as_view(action_name="evict"), name="api_cache_evict"),
]
