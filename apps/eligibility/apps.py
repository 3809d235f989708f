from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EligibilityConfig(AppConfig):
    name = "apps.eligibility"
    verbose_name = _("学时资格查询")
