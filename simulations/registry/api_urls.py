from django.urls import path

from simulations.registry import api

urlpatterns = [
    path("", api.ModelListApi.as_view(), name="api-models"),
    path("<slug:model_name>/", api.ModelDetailApi.as_view(), name="api-model-detail"),
    path("<slug:model_name>/versions/", api.VersionListApi.as_view(), name="api-model-versions"),
    path("<slug:model_name>/versions/<int:number>/", api.VersionDetailApi.as_view(), name="api-model-version"),
    path("<slug:model_name>/aliases/<slug:alias>/", api.AliasApi.as_view(), name="api-model-alias"),
    path("<slug:model_name>/predict", api.PredictApi.as_view(), name="api-model-predict"),
]
