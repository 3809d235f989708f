"""Writes of the catalogue: industry plans for professional subjects (W3, R12).

An industry department drafts a plan of its industry's professional courses and files it with the city bureau,
which acknowledges it (备案) or returns it with a reason; a returned plan may be filed again. Each change is one
atomic service that locks the plan row and checks its status after the lock, so a department refiling and the
bureau deciding at the same moment cannot both win.
"""
import datetime
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.models import Role
from apps.core.errors import DomainError, NotVisible
from apps.orgs.models import IndustryDepartment

from .models import Category, Course, IndustryPlan

logger = logging.getLogger(__name__)

REVIEWERS = {Role.CITY_BUREAU, Role.SYSTEM_ADMIN}
RETURN_REASON_MAX = IndustryPlan._meta.get_field("return_reason").max_length


class NotAllowed(DomainError):
    """The user's role may not do this, whatever the object."""

    status_code = 403
    default_message = gettext_lazy("无权进行此操作")


def _locked(plan_id: int) -> IndustryPlan:
    try:
        return IndustryPlan.objects.select_for_update(of=("self",)).select_related("department").get(pk=plan_id)
    except IndustryPlan.DoesNotExist:
        raise NotVisible() from None


def _refuse_status(plan: IndustryPlan, action: str) -> DomainError:
    return DomainError(_("计划“%(title)s”的状态为“%(status)s”，不能%(action)s")
                       % {"title": plan.title, "status": plan.get_status_display(), "action": action},
                       field="status", rule="R12", code="plan_wrong_status")


def _require_reviewer(by) -> None:
    if by is None or getattr(by, "role", None) not in REVIEWERS:
        raise NotAllowed(_("只有市人社局可以确认备案或退回行业计划（R12）"), rule="R12", code="not_reviewer")


def plan_create(*, department: IndustryDepartment, title: str, year: int, starts_on: datetime.date,
                ends_on: datetime.date, course_ids: list[int], by=None) -> IndustryPlan:
    """A draft plan of professional courses of the department's own industry and the plan's year."""
    title = (title or "").strip()
    if not title:
        raise DomainError(_("请填写计划名称"), field="title")
    if ends_on < starts_on:
        raise DomainError(_("结束日期不能早于开始日期"), field="ends_on")
    if not (starts_on.year <= year <= ends_on.year):
        raise DomainError(_("计划的起止日期须覆盖 %(y)s 年度") % {"y": year}, field="starts_on")
    course_ids = list(dict.fromkeys(int(c) for c in course_ids))
    if not course_ids:
        raise DomainError(_("请至少选择一门专业科目课程"), field="courses")
    courses = {c.pk: c for c in Course.objects.filter(pk__in=course_ids)}
    missing = [c for c in course_ids if c not in courses]
    if missing:
        raise DomainError(_("课程不存在：%(ids)s") % {"ids": missing}, field="courses")
    wrong = [c for c in courses.values() if c.category != Category.PROFESSIONAL
             or c.industry_id != department.industry_id or c.year != year]
    if wrong:
        raise DomainError(_("行业计划只能包含本行业 %(y)s 年度的专业科目课程，以下课程不符合：%(list)s")
                          % {"y": year, "list": "、".join(f"{c.code} {c.title}" for c in wrong)},
                          field="courses", rule="R12")
    with transaction.atomic():
        plan = IndustryPlan.objects.create(department=department, title=title, year=year, starts_on=starts_on,
                                           ends_on=ends_on)
        plan.courses.set(course_ids)
    logger.info("plan %s created by %s", plan.pk, getattr(by, "pk", None))
    return plan


def plan_file(*, plan_id: int, by=None) -> IndustryPlan:
    """Draft or returned → filed (报备). The last return reason stays on the plan for the reviewer to compare."""
    with transaction.atomic():
        plan = _locked(plan_id)
        if plan.status not in (IndustryPlan.Status.DRAFT, IndustryPlan.Status.RETURNED):
            raise _refuse_status(plan, _("报备"))
        if not plan.courses.exists():
            raise DomainError(_("计划“%(title)s”没有任何课程，不能报备") % {"title": plan.title}, field="courses")
        plan.status = IndustryPlan.Status.FILED
        plan.filed_at = timezone.now()
        plan.save(update_fields=["status", "filed_at"])
    logger.info("plan %s filed by %s", plan.pk, getattr(by, "pk", None))
    return plan


def plan_acknowledge(*, plan_id: int, by) -> IndustryPlan:
    """Filed → acknowledged (已备案), by the city bureau: bases may now run its courses (R12)."""
    _require_reviewer(by)
    with transaction.atomic():
        plan = _locked(plan_id)
        if plan.status != IndustryPlan.Status.FILED:
            raise _refuse_status(plan, _("确认备案"))
        plan.status = IndustryPlan.Status.ACKNOWLEDGED
        plan.reviewed_at = timezone.now()
        plan.reviewed_by = by
        plan.save(update_fields=["status", "reviewed_at", "reviewed_by"])
    logger.info("plan %s acknowledged by %s", plan.pk, by.pk)
    return plan


def plan_return(*, plan_id: int, reason: str, by) -> IndustryPlan:
    """Filed → returned, by the city bureau, always with a reason the department can act on."""
    _require_reviewer(by)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("退回须填写原因"), field="reason", code="reason_required")
    if len(reason) > RETURN_REASON_MAX:
        raise DomainError(_("退回原因不能超过 %(n)d 个字") % {"n": RETURN_REASON_MAX}, field="reason")
    with transaction.atomic():
        plan = _locked(plan_id)
        if plan.status != IndustryPlan.Status.FILED:
            raise _refuse_status(plan, _("退回"))
        plan.status = IndustryPlan.Status.RETURNED
        plan.return_reason = reason
        plan.reviewed_at = timezone.now()
        plan.reviewed_by = by
        plan.save(update_fields=["status", "return_reason", "reviewed_at", "reviewed_by"])
    logger.info("plan %s returned by %s", plan.pk, by.pk)
    return plan
