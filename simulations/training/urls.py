from django.urls import path

from simulations.training import views

app_name = "training"

urlpatterns = [
    path("datasets/", views.DatasetListView.as_view(), name="datasets"),
]
