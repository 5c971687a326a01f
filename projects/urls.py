from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    path("", views.ProjectListView.as_view(), name="list"),
    path("new/", views.ProjectCreateView.as_view(), name="create"),
    path("import/", views.ProjectImportView.as_view(), name="import"),
    path("<int:project_id>/", views.ProjectDetailView.as_view(), name="detail"),
    path("<int:project_id>/edit/", views.ProjectEditView.as_view(), name="edit"),
    path("<int:project_id>/lock/", views.ProjectLockView.as_view(), name="lock"),
    path("<int:project_id>/members/", views.ProjectMembersView.as_view(), name="members"),
    path("<int:project_id>/datasets/", views.ProjectDatasetsView.as_view(), name="datasets"),
    path("<int:project_id>/experiments/", views.ExperimentCreateView.as_view(), name="experiment_create"),
    path("<int:project_id>/export/", views.ProjectExportView.as_view(), name="export"),
    path("experiments/<int:experiment_id>/", views.ExperimentDetailView.as_view(), name="experiment"),
]
