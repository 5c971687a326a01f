from django.urls import path

from simulations.training import views

urlpatterns = [
    path("datasets/", views.DatasetListApi.as_view(), name="api-training-datasets"),
]
