"""The one API router: every app registers its viewsets here under /api/v1/."""
from rest_framework.routers import DefaultRouter

router = DefaultRouter()
urlpatterns = router.urls
