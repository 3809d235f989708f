"""The city bureau's review (审核认证): submitted items become official hours, or go back with a reason.

Endorsement writes the ledger in the same transaction as the decision, exactly once: the items are locked in id
order (two reviewers on overlapping rows wait for each other instead of deadlocking), an item already endorsed is
skipped (a retried request changes nothing), and the ledger's unique source key "submission-item:<id>" stands
behind both.
"""
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.errors import Conflict, DomainError
from apps.ledger import services as ledger
from apps.ledger.models import Source

from .models import ReviewDecision, Submission, SubmissionItem


@dataclass
class Endorsed:
    endorsed: int = 0
    already: int = 0


def _locked(item_ids: list[int]) -> list[SubmissionItem]:
    return list(SubmissionItem.objects.select_for_update(of=("self",))
                .filter(pk__in=item_ids).select_related("submission", "course").order_by("pk"))


def items_endorse(*, item_ids: list[int], by) -> Endorsed:
    """Endorse items of submitted batches: each becomes one ledger entry (W1, W2). Returned items are refused."""
    with transaction.atomic():
        items = _locked(list(item_ids))
        if len(items) != len(set(item_ids)):
            raise DomainError(_("部分上报明细不存在"), field="items")
        for item in items:
            if item.submission.status != Submission.Status.SUBMITTED:
                raise DomainError(_("批次 %(n)s 尚未上报，不能审核") % {"n": item.submission.number}, field="items")
            if item.status == "returned":
                raise Conflict(_("明细 %(c)s 已退回，不能认证") % {"c": item.certificate_no}, field="items")
        todo = [i for i in items if i.status == "pending"]
        report = Endorsed(already=len(items) - len(todo))
        if not todo:
            return report
        entries = ledger.entries_record(entries=[
            ledger.EntryInput(
                person_id=i.person_id, category=i.course.category, hours=i.hours, completed_on=i.completed_on,
                source=Source.ENDORSEMENT, source_key=f"submission-item:{i.pk}", course_id=i.course_id,
                base_id=i.submission.base_id, organiser=i.organiser, source_object=i)
            for i in todo], created_by=by)
        by_item = {e.source_id: e for e in entries}
        SubmissionItem.objects.filter(pk__in=[i.pk for i in todo]).update(status="endorsed")
        ReviewDecision.objects.bulk_create([
            ReviewDecision(item=i, outcome=ReviewDecision.Outcome.ENDORSED, entry=by_item.get(i.pk), decided_by=by)
            for i in todo])
        report.endorsed = len(todo)
        return report


def submission_endorse_all(*, submission_id: int, by) -> Endorsed:
    """Endorse every item of a submitted batch that was not returned. The items are classified under the lock,
    so a second reviewer (or a retried request) finds them endorsed and changes nothing."""
    submission = Submission.objects.get(pk=submission_id)
    if submission.status != Submission.Status.SUBMITTED:
        raise DomainError(_("批次 %(n)s 尚未上报，不能审核") % {"n": submission.number}, field="submission")
    ids = list(submission.items.exclude(status="returned").values_list("pk", flat=True))
    return items_endorse(item_ids=ids, by=by) if ids else Endorsed()


def item_return(*, item_id: int, reason: str, by) -> SubmissionItem:
    """Return a pending item to its base with a reason; it never enters the ledger."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("退回须填写原因"), field="reason")
    with transaction.atomic():
        (item,) = _locked([item_id]) or (None,)
        if item is None:
            raise DomainError(_("上报明细不存在"), field="item")
        if item.submission.status != Submission.Status.SUBMITTED:
            raise DomainError(_("批次 %(n)s 尚未上报，不能审核") % {"n": item.submission.number}, field="item")
        if item.status != "pending":
            raise Conflict(_("明细 %(c)s 已%(s)s，不能退回") % {"c": item.certificate_no,
                                                            "s": item.get_status_display()}, field="item")
        item.status = "returned"
        item.save(update_fields=["status"])
        ReviewDecision.objects.create(item=item, outcome=ReviewDecision.Outcome.RETURNED, reason=reason[:500],
                                      decided_by=by)
        return item
