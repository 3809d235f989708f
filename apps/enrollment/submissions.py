"""Submissions (上报批次): how a base carries passed results and completions to the city bureau (W1, W2).

Each state change is one atomic service that locks the submission row first and checks its status after the
lock, so a batch being submitted cannot gain or lose items at the same moment. Once submitted, a batch is frozen:
every service here refuses with a message naming the batch and its status.

"Nothing reported twice" rests on the database: `SubmissionItem.result` and `.completion` are one-to-one, so
two batches of the same base filling at the same moment cannot both take a source. The loser of that race
gets an IntegrityError; it retries once against what is now committed (and normally finds nothing new).
"""
import datetime
import logging
import uuid
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.bases.models import TrainingBase
from apps.core.errors import Conflict, DomainError, NotVisible

from .models import ExamResult, OnlineCompletion, Submission, SubmissionItem

logger = logging.getLogger(__name__)

SERIAL_MAX = SubmissionItem._meta.get_field("certificate_no").max_length
BATCH_SIZE = 1000


class SubmissionFrozen(Conflict):
    """The batch has left the draft state; nothing about it may change."""


def _locked(submission_id: int) -> Submission:
    try:
        # of=("self",): lock the batch only. A plain FOR UPDATE over the join would also lock the base row and
        # serialise every batch of the base behind one another (the unique keys already keep them apart).
        return Submission.objects.select_for_update(of=("self",)).select_related("base").get(pk=submission_id)
    except Submission.DoesNotExist:
        raise NotVisible() from None


def _require_draft(sub: Submission) -> None:
    if sub.status != Submission.Status.DRAFT:
        raise SubmissionFrozen(
            _("上报批次 %(number)s 的状态为“%(status)s”，不能再修改（添加、移除或再次上报）")
            % {"number": sub.number, "status": sub.get_status_display()},
            field="submission", code="submission_frozen")


def serial(prefix: str, year: int, base_code: str, seq: int) -> str:
    """XD-2016-kf-kfdx-0000123. `seq` is the item's primary key, so the serial is unique whatever the base code;
    a long code is shortened to fit the column rather than failing the batch."""
    tail = f"-{seq:07d}"
    head = f"{prefix}-{year}-"
    return head + base_code[:SERIAL_MAX - len(head) - len(tail)] + tail


def submission_create(*, base: TrainingBase, by=None, today: datetime.date | None = None) -> Submission:
    """A new draft batch numbered SB-{base code}-{YYYYMMDD}-{n}, n counting the base's batches of that day."""
    if not base.is_active:
        raise DomainError(_("基地“%(b)s”已停用，不能新建上报批次") % {"b": base.name}, field="base", rule="B5")
    today = today or timezone.localdate()
    prefix = f"SB-{base.code}-{today:%Y%m%d}-"
    # Two staff creating a batch in the same second would compute the same n; the unique number refuses the
    # second, which then takes the next n (no lock on the base row: nothing about the base changes).
    for _attempt in range(5):
        n = Submission.objects.filter(number__startswith=prefix).count() + 1
        try:
            with transaction.atomic():
                sub = Submission.objects.create(base=base, number=f"{prefix}{n}", created_by=by)
        except IntegrityError:
            continue
        logger.info("submission %s created by %s", sub.number, getattr(by, "pk", None))
        return sub
    raise Conflict(_("新建上报批次冲突，请稍后重试"), field="submission")


def _ready_rows(base: TrainingBase, limit: int | None) -> list[SubmissionItem]:
    """Unsaved items for every passed result of the base's classes and every passed completion of the base that
    no batch holds yet, oldest first. Two queries, whatever the number of rows."""
    results = (ExamResult.objects
               .filter(registration__training_class__base=base, passed=True, item__isnull=True)
               .order_by("completed_on", "pk")
               .values_list("pk", "registration__person_id", "registration__training_class__course_id",
                            "registration__training_class__course__hours", "completed_on",
                            "registration__training_class__organiser"))
    if limit is not None:
        results = results[:limit]
    items = [SubmissionItem(result_id=pk, person_id=person, course_id=course, hours=hours, completed_on=day,
                            organiser=organiser)
             for pk, person, course, hours, day, organiser in results]
    if limit is not None and len(items) >= limit:
        return items
    completions = (OnlineCompletion.objects.filter(base=base, passed=True, item__isnull=True)
                   .order_by("completed_on", "pk")
                   .values_list("pk", "person_id", "course_id", "hours", "completed_on"))
    if limit is not None:
        completions = completions[:limit - len(items)]
    # The online base reports at its own level (the provincial/city network college is city level, R5).
    items += [SubmissionItem(completion_id=pk, person_id=person, course_id=course, hours=hours, completed_on=day,
                             organiser=base.level)
              for pk, person, course, hours, day in completions]
    return items


def _insert(sub: Submission, items: list[SubmissionItem]) -> None:
    """Insert, then number: the serials derive from the primary keys the database just gave out, so they are
    unique without a counter to lock. The placeholders only live inside this transaction."""
    for item in items:
        item.submission = sub
        item.learning_record_no = f"tmp-{uuid.uuid4().hex}"
        item.certificate_no = f"tmp-{uuid.uuid4().hex}"
    SubmissionItem.objects.bulk_create(items, batch_size=BATCH_SIZE)
    for item in items:
        item.learning_record_no = serial("XD", item.completed_on.year, sub.base.code, item.pk)
        item.certificate_no = serial("HG", item.completed_on.year, sub.base.code, item.pk)
    SubmissionItem.objects.bulk_update(items, ["learning_record_no", "certificate_no"], batch_size=BATCH_SIZE)


def submission_add_ready(*, submission_id: int, by=None, limit: int | None = None) -> int:
    """Add everything ready (passed, not yet in any batch) to a draft batch; returns how many items were added."""
    if limit is not None and limit <= 0:
        raise DomainError(_("数量上限须大于 0"), field="limit")
    with transaction.atomic():
        sub = _locked(submission_id)
        _require_draft(sub)
        for attempt in (1, 2):
            items = _ready_rows(sub.base, limit)
            if not items:
                return 0
            try:
                # A savepoint: a concurrent batch of the same base may have taken some of these sources and
                # committed while we were reading; the unique key refuses them and we read again.
                with transaction.atomic():
                    _insert(sub, items)
            except IntegrityError:
                if attempt == 2:
                    raise Conflict(_("其他上报批次正在添加同一批成绩，请稍后重试"), field="submission",
                                   code="submission_busy") from None
                continue
            logger.info("submission %s: %d items added by %s", sub.number, len(items), getattr(by, "pk", None))
            return len(items)
    return 0  # pragma: no cover — the loop always returns or raises


def submission_remove_item(*, item_id: int, by=None) -> None:
    """Take one item out of a draft batch; its result or completion becomes ready again."""
    submission_id = (SubmissionItem.objects.filter(pk=item_id).values_list("submission_id", flat=True).first())
    if submission_id is None:
        raise NotVisible()
    with transaction.atomic():
        sub = _locked(submission_id)
        _require_draft(sub)
        # Read again under the lock: the item may have gone while we waited for it.
        deleted, _counts = SubmissionItem.objects.filter(pk=item_id, submission=sub).delete()
        if not deleted:
            raise NotVisible()
        logger.info("submission %s: item %s removed by %s", sub.number, item_id, getattr(by, "pk", None))


def submission_submit(*, submission_id: int, by=None) -> Submission:
    """Draft → submitted. From then on the batch is frozen; the city bureau reviews it (W1, W2)."""
    with transaction.atomic():
        sub = _locked(submission_id)
        _require_draft(sub)
        if not sub.items.exists():
            raise DomainError(_("上报批次 %(number)s 没有任何明细，不能上报") % {"number": sub.number},
                              field="submission", code="submission_empty")
        sub.status = Submission.Status.SUBMITTED
        sub.submitted_at = timezone.now()
        sub.submitted_by = by
        sub.save(update_fields=["status", "submitted_at", "submitted_by"])
        logger.info("submission %s submitted by %s", sub.number, getattr(by, "pk", None))
        return sub


def submission_totals(submission: Submission) -> tuple[int, Decimal]:
    """How many items and hours a batch holds (for pages)."""
    agg = submission.items.aggregate(n=Count("pk"), hours=Sum("hours"))
    return agg["n"], agg["hours"] or Decimal(0)
