from rest_framework.routers import SimpleRouter

from projects.api.views import ExperimentViewSet, ProjectViewSet

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="api-project")
router.register("experiments", ExperimentViewSet, basename="api-experiment")

urlpatterns = router.urls
