from django.urls import include, path
from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter()
router.include_format_suffixes = False
router.register("users", views.UserViewSet, basename="api-user")
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("audit", views.AuditEventViewSet, basename="api-audit")

urlpatterns = [
    path("roles/", views.RolesView.as_view(), name="api-roles"),
    path("", include(router.urls)),
]
