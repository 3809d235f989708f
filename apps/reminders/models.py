"""Reminders to trainees and units behind pace (at most one a week per person; see apps/reminders/services.py)."""
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Reminder(models.Model):
    class Kind(models.TextChoices):
        PACE = "pace", _("学时进度落后")
        PUBLIC = "public", _("公需科目未完成")
        UNIT = "unit", _("本单位人员学时落后")

    person = models.ForeignKey("personnel.Person", models.CASCADE, null=True, blank=True, related_name="reminders",
                               verbose_name=_("人员"))
    unit = models.ForeignKey("orgs.Unit", models.CASCADE, null=True, blank=True, related_name="reminders",
                             verbose_name=_("单位"))
    year = models.PositiveSmallIntegerField(_("年度"))
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    message = models.TextField(_("内容"))
    emailed_to = models.CharField(_("邮件发送至"), max_length=254, blank=True)
    created_at = models.DateTimeField(_("提醒时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("学时提醒")
        verbose_name_plural = _("学时提醒")
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(person__isnull=False) | Q(unit__isnull=False),
                                              name="reminder_has_recipient")]
        indexes = [models.Index(fields=["person", "created_at"], name="reminder_person_recent"),
                   models.Index(fields=["unit", "created_at"], name="reminder_unit_recent")]
