from django.urls import path

from simulations.registry import views

app_name = "registry"

urlpatterns = [
    path("", views.ModelListView.as_view(), name="list"),
    path("register/<str:run_id>/", views.RegisterRunView.as_view(), name="register"),
    path("<slug:model_name>/", views.ModelDetailView.as_view(), name="model"),
    path("<slug:model_name>/score/", views.ScoreView.as_view(), name="score"),
    path("<slug:model_name>/versions/<int:number>/", views.VersionDetailView.as_view(), name="version"),
]
