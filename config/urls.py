from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.certificates.views import verify
from apps.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its init script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("config.api_urls")),
    path("", include("apps.ledger.urls")),
    path("enrollment/", include("apps.enrollment.urls")),
    path("certificates/", include("apps.certificates.urls")),
    path("assessment/", include("apps.assessment.urls")),
    path("reports/", include("apps.reports.urls")),
    path("eligibility/", include("apps.eligibility.urls")),
    path("reminders/", include("apps.reminders.urls")),
    path("auditlog/", include("apps.auditlog.urls")),
    # Public (no login): the address printed in every certificate's QR code, so it must never move.
    path("verify/<str:serial>/", verify, name="verify"),
    path("", include("apps.portal.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler403 = "apps.portal.views.error_403"
handler404 = "apps.portal.views.error_404"
handler500 = "apps.portal.views.error_500"
