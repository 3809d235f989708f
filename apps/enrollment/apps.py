from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrollmentConfig(AppConfig):
    name = "apps.enrollment"
    verbose_name = _("培训与上报")
