from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BasesConfig(AppConfig):
    name = "apps.bases"
    verbose_name = _("继续教育基地")
