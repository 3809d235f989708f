"""Self-reported activities (学时申报): a person reports a conference, degree course, research project, publication
or other training with evidence; their unit checks it; the city bureau recognises it with the hours the year's
policy sets for its kind (one ledger entry), or either returns it with a reason.

Each state change locks the report row, checks its current state under the lock and records who and when, so two
reviewers (or a retried request) cannot both act. Recognition writes the ledger in the same transaction with the
unique source key "activity:<id>": a retry finds the report recognised and changes nothing.
"""
import datetime
import os

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Role
from apps.catalog.models import ActivityHours, ActivityKind, Category
from apps.core.errors import Conflict, DomainError, NotVisible
from apps.ledger import services as ledger
from apps.ledger.models import Source

from .models import ActivityReport

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
# What the first bytes of an accepted file must be, by extension: the extension alone proves nothing.
EVIDENCE_TYPES = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
}
UNIT_CHECKERS = (Role.UNIT_ADMIN,)
BUREAU = (Role.CITY_BUREAU, Role.SYSTEM_ADMIN)


def evidence_check(evidence) -> None:
    """PDF, PNG or JPEG, at most 10 MB, its content matching its extension."""
    name = getattr(evidence, "name", "") or ""
    ext = os.path.splitext(name)[1].lower()
    if ext not in EVIDENCE_TYPES:
        raise DomainError(_("证明材料只接受 PDF、PNG 或 JPG 文件"), field="evidence")
    if evidence.size > MAX_EVIDENCE_BYTES:
        raise DomainError(_("证明材料不能超过 10 MB"), field="evidence")
    evidence.seek(0)
    head = evidence.read(16)
    evidence.seek(0)
    if not head.startswith(EVIDENCE_TYPES[ext]):
        raise DomainError(_("文件内容与扩展名不符"), field="evidence")


def activity_report(*, person, kind: str, title: str, activity_date: datetime.date, evidence, by,
                    today: datetime.date | None = None) -> ActivityReport:
    """A person reports an activity of their own (a unit admin may report for one of its people)."""
    if kind not in ActivityKind.values:
        raise DomainError(_("申报类型“%(k)s”不存在") % {"k": kind}, field="kind")
    title = (title or "").strip()
    if not title:
        raise DomainError(_("请填写活动名称"), field="title")
    today = today or timezone.localdate()
    if activity_date > today:
        raise DomainError(_("活动日期不能晚于今天"), field="activity_date")
    if by is not None and not (
            (by.role == Role.TRAINEE and by.person_id == person.pk)
            or (by.role == Role.UNIT_ADMIN and by.unit_id == person.unit_id)):
        raise PermissionDenied
    evidence_check(evidence)
    report = ActivityReport(person=person, year=activity_date.year, kind=kind, title=title[:200],
                            activity_date=activity_date, evidence_name=os.path.basename(evidence.name)[:200],
                            created_by=by)
    # The stored name is ours, not the uploader's: only the extension survives (it was checked above).
    report.evidence.save(f"{person.pk}-{timezone.now():%Y%m%d%H%M%S%f}{os.path.splitext(evidence.name)[1].lower()}",
                         evidence, save=False)
    with transaction.atomic():
        report.save()
    return report


def _locked(report_id: int) -> ActivityReport:
    try:
        return (ActivityReport.objects.select_for_update(of=("self",)).select_related("person", "person__unit")
                .get(pk=report_id))
    except ActivityReport.DoesNotExist:
        raise NotVisible(_("学时申报不存在"), field="report") from None


def _may_check(by, report: ActivityReport) -> None:
    if by.role not in UNIT_CHECKERS:
        raise PermissionDenied
    if by.unit_id != report.person.unit_id:
        raise NotVisible(_("学时申报不存在"), field="report")


def _may_decide(by, report: ActivityReport) -> None:
    if by.role not in BUREAU:
        raise PermissionDenied
    from apps.accounts.visibility import is_visible

    if not is_visible(by, report):
        raise NotVisible(_("学时申报不存在"), field="report")


def _state(report: ActivityReport, *allowed: str) -> None:
    if report.status not in allowed:
        raise Conflict(_("该申报已%(s)s，不能再办理") % {"s": report.get_status_display()}, field="report")


def activity_check(*, report_id: int, by) -> ActivityReport:
    """The person's unit confirms the evidence: submitted → checked (then it waits for the bureau)."""
    with transaction.atomic():
        report = _locked(report_id)
        _may_check(by, report)
        _state(report, ActivityReport.Status.SUBMITTED)
        report.status = ActivityReport.Status.CHECKED
        report.unit_checked_by, report.unit_checked_at = by, timezone.now()
        report.save(update_fields=["status", "unit_checked_by", "unit_checked_at"])
        return report


def activity_return(*, report_id: int, reason: str, by) -> ActivityReport:
    """The unit (while submitted) or the bureau (while submitted or checked) returns a report with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("退回须填写原因"), field="reason")
    with transaction.atomic():
        report = _locked(report_id)
        if by.role in UNIT_CHECKERS:
            _may_check(by, report)
            _state(report, ActivityReport.Status.SUBMITTED)
        else:
            _may_decide(by, report)
            _state(report, ActivityReport.Status.SUBMITTED, ActivityReport.Status.CHECKED)
        report.status = ActivityReport.Status.RETURNED
        report.reason = reason[:500]
        report.decided_by, report.decided_at = by, timezone.now()
        report.save(update_fields=["status", "reason", "decided_by", "decided_at"])
        return report


def hours_for(*, year: int, kind: str, region) -> ActivityHours:
    """The hours of the most specific policy of the year that sets this kind: the region's, its city's, its
    province's."""
    chain, r = [], region
    while r is not None:
        chain.append(r.pk)
        r = r.parent
    rows = {a.policy.region_id: a for a in ActivityHours.objects.filter(
        policy__year=year, policy__region_id__in=chain, kind=kind).select_related("policy")}
    for region_id in chain:
        if region_id in rows:
            return rows[region_id]
    raise DomainError(_("%(y)s 年度政策未规定“%(k)s”的认定学时") % {"y": year, "k": ActivityKind(kind).label},
                      field="kind", code="no_activity_hours")


def activity_recognise(*, report_id: int, by) -> ActivityReport:
    """The city bureau recognises a checked report: the year's hours for its kind become one ledger entry.
    A retry (the report already recognised) changes nothing."""
    with transaction.atomic():
        report = _locked(report_id)
        _may_decide(by, report)
        if report.status == ActivityReport.Status.RECOGNISED:
            return report
        _state(report, ActivityReport.Status.CHECKED)
        rule = hours_for(year=report.year, kind=report.kind, region=report.person.unit.region)
        ledger.entries_record(entries=[ledger.EntryInput(
            person_id=report.person_id, category=Category.PROFESSIONAL, hours=rule.hours,
            completed_on=report.activity_date, source=Source.SELF_REPORT, source_key=f"activity:{report.pk}",
            course_title=report.title[:200], source_object=report)], created_by=by)
        report.status = ActivityReport.Status.RECOGNISED
        report.hours = rule.hours
        report.decided_by, report.decided_at = by, timezone.now()
        report.save(update_fields=["status", "hours", "decided_by", "decided_at"])
        return report
