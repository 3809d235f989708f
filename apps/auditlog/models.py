"""The audit log (操作日志): one row per sensitive action — who, what, on what, when and from where.

Written only by `apps.auditlog.services.record`, inside the caller's transaction where there is one (an action
rolled back leaves no event; an event cannot outlive nor miss the action it describes).
"""
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Role


class AuditLogIsImmutable(Exception):
    """Raised when code tries to change or remove an audit event."""


class Action(models.TextChoices):
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOCKOUT = "lockout", _("账号锁定")
    LOGOUT = "logout", _("退出登录")
    ENDORSEMENT = "endorsement", _("审核认证")
    RETURN = "return", _("退回")
    REVERSAL = "reversal", _("冲销")
    EXPORT = "export", _("导出")
    VIEW_FULL_ID = "view_full_id", _("查看完整身份证号")
    ELIGIBILITY_LOOKUP = "eligibility_lookup", _("资格查询")


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditLogIsImmutable(_("操作日志不能修改"))

    def delete(self):
        raise AuditLogIsImmutable(_("操作日志不能删除"))

    def bulk_update(self, *args, **kwargs):
        raise AuditLogIsImmutable(_("操作日志不能修改"))


class AuditEvent(models.Model):
    """One sensitive action. Nothing changes or removes an event: the ORM refuses (save of an existing row,
    delete, QuerySet.update/delete), and so do database triggers on PostgreSQL and SQLite (apps/auditlog/triggers.py)
    for any other path; the admin shows events read-only, to superusers too.

    Retention: events are kept indefinitely — at least 180 days are required, and no code deletes any. A future
    archive job may only *move* events older than 180 days to cold storage (it would have to lift the trigger
    explicitly, as a deliberate, reviewed operation); none exists yet.
    """

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    # PROTECT, not SET_NULL: nulling the user would be an UPDATE of the event, which the trigger refuses anyway.
    # A user with events is deactivated, never deleted; the copied username and role keep the row readable.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("用户"), db_index=False)
    username = models.CharField(_("用户名"), max_length=150, blank=True,
                                help_text=_("操作时的用户名；登录失败时为尝试的用户名"))
    role = models.CharField(_("角色"), max_length=20, blank=True)
    action = models.CharField(_("操作"), max_length=30, choices=Action.choices)
    target = models.CharField(_("操作对象"), max_length=255, blank=True)
    target_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    target_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器标识"), max_length=255, blank=True)
    details = models.JSONField(_("详情"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("操作日志")
        verbose_name_plural = _("操作日志")
        ordering = ["-at", "-id"]
        # The search page filters by a time range, an action and a user, newest first.
        indexes = [
            models.Index(fields=["action", "-at"], name="auditevent_action_at"),
            models.Index(fields=["user", "-at"], name="auditevent_user_at"),
            models.Index(fields=["username", "-at"], name="auditevent_username_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.get_action_display()}"

    @property
    def role_label(self) -> str:
        return str(dict(Role.choices).get(self.role, self.role))

    @property
    def details_text(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in (self.details or {}).items())

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogIsImmutable(_("操作日志不能修改"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsImmutable(_("操作日志不能删除"))
