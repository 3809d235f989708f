"""The CE certificate booklet (继续教育证书): a person's endorsed hours of one year, page by page.

Read from the ledger, not from submissions: the ledger is what counts, and a self-reported activity the bureau
recognised has no submission item. A reversed entry stays in the booklet, marked revoked, as in a paper booklet
where a struck-out stamp remains visible.
"""
import datetime
from dataclasses import dataclass
from decimal import Decimal

from apps.ledger.models import HourEntry, Source
from apps.personnel.models import Person

BOOKLET_SOURCES = (Source.ENDORSEMENT, Source.SELF_REPORT)


@dataclass(frozen=True)
class BookletPage:
    entry_id: int
    completed_on: datetime.date
    title: str
    category: str  # display label
    hours: Decimal
    base: str
    bureau: str  # the endorsing bureau, e.g. 开封市人力资源和社会保障局
    endorsed_at: datetime.datetime | None
    certificate_no: str
    learning_record_no: str
    revoked: bool
    revoked_reason: str = ""


def booklet(*, person: Person, year: int) -> list[BookletPage]:
    """One query whatever the number of entries: the entries with their decision, reviewer, submission item and
    reversal joined in."""
    entries = (HourEntry.objects.filter(person=person, year=year, source__in=BOOKLET_SOURCES)
               .select_related("course", "base", "created_by__region", "reversed_by",
                               "decision__decided_by__region", "decision__item")
               .order_by("completed_on", "id"))
    return [_page(e) for e in entries]


def _page(e: HourEntry) -> BookletPage:
    decision = getattr(e, "decision", None)  # endorsements only; a self-report is recorded by the bureau itself
    endorser = decision.decided_by if decision is not None else e.created_by
    item = decision.item if decision is not None else None
    reversal = getattr(e, "reversed_by", None)
    return BookletPage(
        entry_id=e.pk,
        completed_on=e.completed_on,
        title=e.course.title if e.course_id else e.course_title,
        category=e.get_category_display(),
        hours=e.hours,
        base=e.base.name if e.base_id else "",
        bureau=endorser.region.bureau_name if endorser is not None and endorser.region_id else "",
        endorsed_at=decision.decided_at if decision is not None else e.created_at,
        certificate_no=item.certificate_no if item is not None else "",
        learning_record_no=item.learning_record_no if item is not None else "",
        revoked=reversal is not None,
        revoked_reason=reversal.reason if reversal is not None else "",
    )
