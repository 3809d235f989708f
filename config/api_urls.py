"""The one API router: every app registers its endpoints here under /api/v1/."""
from django.urls import path
from rest_framework.routers import DefaultRouter

from apps.accounts import api as accounts_api
from apps.bases import api as bases_api
from apps.catalog import api as catalog_api
from apps.eligibility import api as eligibility_api
from apps.enrollment import api as enrollment_api
from apps.ledger import api as ledger_api
from apps.orgs import api as orgs_api
from apps.personnel import api as personnel_api

router = DefaultRouter()
router.register("regions", orgs_api.RegionViewSet)
router.register("industries", orgs_api.IndustryViewSet)
router.register("departments", orgs_api.IndustryDepartmentViewSet)
router.register("units", orgs_api.UnitViewSet)
router.register("people", personnel_api.PersonViewSet)
router.register("bases", bases_api.TrainingBaseViewSet)
router.register("delegations", bases_api.CountyDelegationViewSet)
router.register("policies", catalog_api.YearPolicyViewSet)
router.register("courses", catalog_api.CourseViewSet)

urlpatterns = [
    path("me/", accounts_api.me, name="api-me"),
    path("people/<int:person_id>/compliance/", ledger_api.ComplianceView.as_view(), name="api-person-compliance"),
    path("people/<int:person_id>/hours/", ledger_api.HoursView.as_view(), name="api-person-hours"),
    path("eligibility/", eligibility_api.EligibilityView.as_view(), name="api-eligibility"),
    path("bases/<slug:code>/completions/", enrollment_api.CompletionsView.as_view(), name="api-base-completions"),
    *router.urls,
]
