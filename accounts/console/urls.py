from django.urls import path

from accounts.console import views

app_name = "console"

urlpatterns = [
    path("users/", views.UserListView.as_view(), name="users"),
    path("users/new/", views.UserCreateView.as_view(), name="user_create"),
    path("users/<int:user_id>/", views.UserDetailView.as_view(), name="user_detail"),
    path("users/<int:user_id>/deactivate/", views.UserActiveView.as_view(), name="user_deactivate"),
    path("users/<int:user_id>/restore/", views.UserActiveView.as_view(activate=True), name="user_restore"),
    path("roles/", views.RolesView.as_view(), name="roles"),
    path("api-keys/", views.ApiKeyListView.as_view(), name="api_keys"),
    path("api-keys/<uuid:key_id>/revoke/", views.ApiKeyRevokeView.as_view(), name="api_key_revoke"),
    path("audit/", views.AuditListView.as_view(), name="audit"),
    path("audit/csv/", views.AuditCsvView.as_view(), name="audit_csv"),
    path("sessions/", views.SessionsView.as_view(), name="sessions"),
    path("users/<int:user_id>/sessions/end/", views.UserSessionsEndView.as_view(), name="user_sessions_end"),
    path("preferences/", views.SettingsView.as_view(), name="settings"),
]
