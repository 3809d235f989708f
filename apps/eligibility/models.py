"""Every eligibility lookup (R6) is logged: who looked up whom, when, from where, through which channel."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EligibilityLookup(models.Model):
    class Outcome(models.TextChoices):
        FOUND = "found", _("已查到")
        NOT_FOUND = "not_found", _("无此人或不在查询范围内")
        INVALID = "invalid", _("查询条件有误")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("查询人"))
    person = models.ForeignKey("personnel.Person", models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("被查询人"))
    id_number_masked = models.CharField(_("查询的身份证号（脱敏）"), max_length=18, blank=True)
    years = models.CharField(_("查询年度"), max_length=20, blank=True)
    outcome = models.CharField(_("结果"), max_length=10, choices=Outcome.choices)
    channel = models.CharField(_("渠道"), max_length=10, choices=[("api", "API"), ("page", _("页面"))])
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    at = models.DateTimeField(_("查询时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("资格查询记录")
        verbose_name_plural = _("资格查询记录")
        ordering = ["-at"]
