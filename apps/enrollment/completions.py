"""Online completions reported by the online base's platform (W1), one API call of up to 5,000 rows at a time.

Each row is checked on its own and refused with its index, field and reason; the accepted rows of a call are
written together. A completion is a submission, not official hours: the ledger is written only when the city bureau
endorses it (DOMAIN.md), so nothing here touches the ledger.

Idempotence rests on the unique key (base, platform_record_id): a retried call finds its rows already stored and
reports them "unchanged"; a known record id arriving with different data is refused rather than overwritten (the
platform must not rewrite history through a retry). Two identical calls at the same moment both classify their
rows as new; the second one's INSERT waits on the first one's unique-index entries and fails once the first
commits, so it classifies again — now seeing the stored rows — and reports them unchanged.

Everything is looked up in bulk (people, courses, title levels, known record ids): a 5,000-row call is a handful of
queries whatever its content.
"""
from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.bases.models import TrainingBase
from apps.catalog.models import Course, Mode
from apps.core.errors import Conflict, DomainError
from apps.core.identifiers import parse_resident_id
from apps.personnel.models import Person

from .models import OnlineCompletion
from .rules import PersonFacts, may_train
from .services import base_facts, levels_on

MAX_ROWS = 5000
RECORD_ID_MAX = OnlineCompletion._meta.get_field("platform_record_id").max_length
HALF = Decimal("0.5")

ACCEPTED, UNCHANGED, REJECTED = "accepted", "unchanged", "rejected"


@dataclass(frozen=True)
class RowError:
    field: str
    message: str


@dataclass
class RowOutcome:
    index: int
    record_id: str
    status: str
    errors: list[RowError] = field(default_factory=list)


@dataclass
class CompletionReport:
    request_id: str
    rows: list[RowOutcome]

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def accepted(self) -> int:
        return self.count(ACCEPTED)

    @property
    def unchanged(self) -> int:
        return self.count(UNCHANGED)

    @property
    def rejected(self) -> int:
        return self.count(REJECTED)

    def as_dict(self) -> dict:
        return {"request_id": self.request_id, "accepted": self.accepted, "unchanged": self.unchanged,
                "rejected": self.rejected,
                "rows": [{"index": r.index, "record_id": r.record_id, "status": r.status,
                          "errors": [{"field": e.field, "message": e.message} for e in r.errors]}
                         for r in self.rows]}


@dataclass
class _Row:
    """One row after field-level parsing; None where a field could not be read (its error is in `errors`)."""

    index: int
    record_id: str
    errors: list[RowError]
    id_number: str | None = None
    name: str = ""
    course_code: str = ""
    hours: Decimal | None = None
    completed_on: datetime.date | None = None
    passed: bool = True

    def refuse(self, field_name: str, message: str) -> None:
        self.errors.append(RowError(field_name, str(message)))


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())


def _parse(index: int, raw, today: datetime.date) -> _Row:
    if not isinstance(raw, dict):
        row = _Row(index, "", [])
        row.refuse("row", _("每行应为一个对象（JSON object）"))
        return row
    row = _Row(index, _text(raw.get("record_id")), [])
    if not row.record_id:
        row.refuse("record_id", _("缺少平台记录号 record_id"))
    elif len(row.record_id) > RECORD_ID_MAX:
        row.refuse("record_id", _("平台记录号不能超过 %(n)d 个字符") % {"n": RECORD_ID_MAX})

    try:
        row.id_number = parse_resident_id(_text(raw.get("id_number")), today=today).number
    except ValidationError as exc:
        row.refuse("id_number", exc.messages[0])

    row.name = _text(raw.get("name"))
    if not row.name:
        row.refuse("name", _("缺少姓名"))

    row.course_code = _text(raw.get("course_code")).upper()
    if not row.course_code:
        row.refuse("course_code", _("缺少课程代码"))

    hours = raw.get("hours")
    try:
        # bool is an int in Python: `true` is no number of hours.
        if isinstance(hours, bool) or hours is None or isinstance(hours, (list, dict)):
            raise InvalidOperation
        row.hours = Decimal(str(hours).strip())
        # Bounded before any arithmetic: 1e999999 % 0.5 would raise instead of being refused.
        if not row.hours.is_finite() or abs(row.hours) >= 10_000:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        row.hours = None
        row.refuse("hours", _("学时应为数字，如 6 或 2.5"))
    else:
        if row.hours <= 0:
            row.refuse("hours", _("学时须大于 0"))
            row.hours = None
        elif row.hours % HALF:
            row.refuse("hours", _("学时须以 0.5 学时为单位，实际为 %(h)s") % {"h": hours})
            row.hours = None

    try:
        row.completed_on = datetime.date.fromisoformat(_text(raw.get("completed_on")))
    except ValueError:
        row.refuse("completed_on", _("完成日期应为 YYYY-MM-DD 格式的有效日期"))
    else:
        if row.completed_on > today:
            row.refuse("completed_on", _("完成日期 %(d)s 晚于今天") % {"d": row.completed_on})
            row.completed_on = None

    passed = raw.get("passed", True)
    if not isinstance(passed, bool):
        row.refuse("passed", _("是否合格 passed 应为 true 或 false"))
    else:
        row.passed = passed
    return row


def _same(row: _Row, stored: dict) -> bool:
    return (row.id_number == stored["person__id_number"] and row.course_code == stored["course__code"]
            and row.completed_on == stored["completed_on"] and row.hours == stored["hours"]
            and row.passed == stored["passed"])


def _classify(*, base: TrainingBase, raw_rows: Sequence, request_id: str, today: datetime.date
              ) -> tuple[list[RowOutcome], list[OnlineCompletion]]:
    rows = [_parse(i, raw, today) for i, raw in enumerate(raw_rows)]

    # The same record twice in one call: the first occurrence decides, the later ones are refused.
    first_at: dict[str, int] = {}
    for row in rows:
        if not row.record_id:
            continue
        if row.record_id in first_at:
            row.refuse("record_id", _("平台记录号与本次第 %(i)d 行重复") % {"i": first_at[row.record_id]})
        else:
            first_at[row.record_id] = row.index

    stored = {s["platform_record_id"]: s for s in OnlineCompletion.objects.filter(
        base=base, platform_record_id__in=list(first_at)).values(
        "platform_record_id", "person__id_number", "course__code", "hours", "completed_on", "passed")}
    people = {p.id_number: p for p in Person.objects.filter(
        id_number__in={r.id_number for r in rows if r.id_number}).select_related("unit__region")}
    courses: dict[str, list[Course]] = {}
    for course in Course.objects.filter(code__in={r.course_code for r in rows if r.course_code}):
        courses.setdefault(course.code, []).append(course)
    facts = base_facts(base)

    outcomes: list[RowOutcome] = []
    new: list[tuple[_Row, Person, Course]] = []
    for row in rows:
        if row.record_id in stored and not row.errors:
            if _same(row, stored[row.record_id]):
                outcomes.append(RowOutcome(row.index, row.record_id, UNCHANGED))
                continue
            row.refuse("record_id", _("记录号已存在且内容不同"))
        person = people.get(row.id_number) if row.id_number else None
        if row.id_number and person is None:
            row.refuse("id_number", _("未找到身份证号为 %(id)s 的人员") % {"id": row.id_number})
        elif person is not None and row.name and person.name != row.name:
            # Not echoing the stored name: a platform must not learn names by guessing ID numbers.
            row.refuse("name", _("姓名与该身份证号登记的姓名不一致"))
        course = None
        if row.course_code and row.completed_on:
            year = row.completed_on.year
            same_code = courses.get(row.course_code, [])
            course = next((c for c in same_code if c.year == year), None)
            if course is None:
                years = "、".join(str(c.year) for c in sorted(same_code, key=lambda c: c.year))
                row.refuse("course_code", _("课程 %(c)s 不在 %(y)d 年度课程目录中（完成日期须在课程所属年度内）")
                           % {"c": row.course_code, "y": year}
                           + (_("；该课程属于 %(years)s 年度") % {"years": years} if years else ""))
            elif course.mode != Mode.ONLINE:
                row.refuse("course_code", _("课程 %(c)s 为面授课程，不能由网络平台报送") % {"c": course.code})
                course = None
            elif not course.is_active:
                row.refuse("course_code", _("课程 %(c)s 已停用") % {"c": course.code})
                course = None
            elif row.hours is not None and row.hours > course.hours:
                row.refuse("hours", _("学时 %(h)s 超过课程 %(c)s 的 %(max)s 学时")
                           % {"h": row.hours, "c": course.code, "max": course.hours})
        if row.errors:
            outcomes.append(RowOutcome(row.index, row.record_id, REJECTED, row.errors))
        else:
            new.append((row, person, course))
            outcomes.append(RowOutcome(row.index, row.record_id, ACCEPTED))

    # B5 for the rows that passed the field checks: the title level on 31 December of the completion's year.
    by_year: dict[int, set[int]] = {}
    for row, person, course in new:
        by_year.setdefault(course.year, set()).add(person.pk)
    levels = {year: levels_on(list(ids), datetime.date(year, 12, 31)) for year, ids in by_year.items()}
    outcome_at = {o.index: o for o in outcomes}
    objects = []
    now = timezone.now()
    for row, person, course in new:
        level = levels[course.year].get(person.pk)
        if level is None:
            row.refuse("id_number", _("该人员在 %(y)d 年底没有职称记录，无法确定培训范围") % {"y": course.year})
        else:
            region = person.unit.region
            decision = may_train(facts, PersonFacts(level, region.pk if region.kind == "county" else None,
                                                    person.name), course.category)
            if not decision.allowed:
                row.refuse("course_code", decision.message)
        if row.errors:
            outcome = outcome_at[row.index]
            outcome.status, outcome.errors = REJECTED, row.errors
            continue
        # Ids rather than instances, and one receive time for the call: a 5,000-row call spends its Python time
        # building these objects.
        objects.append(OnlineCompletion(base_id=base.pk, platform_record_id=row.record_id, person_id=person.pk,
                                        course_id=course.pk, hours=row.hours, completed_on=row.completed_on,
                                        passed=row.passed, request_id=request_id, received_at=now))
    return outcomes, objects


def completions_record(*, base: TrainingBase, rows: Sequence, request_id: str, by=None,
                       today: datetime.date | None = None) -> CompletionReport:
    """Record a call of the online platform: every row checked, the accepted ones written in one transaction.

    `by` is the platform's user (kept for the audit trail of the request; the stored row carries the request id).
    Raises DomainError when the call as a whole is refused (not an online base, too many rows): nothing is written.
    """
    today = today or timezone.localdate()
    if base.kind != TrainingBase.Kind.ONLINE:
        raise DomainError(_("%(b)s不是网络基地，不能报送网络学习完成记录（W1）") % {"b": base.name},
                          field="base", rule="W1", code="not_online_base")
    if not base.is_active:
        raise DomainError(_("基地“%(b)s”已停用，不能报送完成记录（B5）") % {"b": base.name},
                          field="base", rule="B5", code="base_inactive")
    request_id = _text(request_id)
    if not request_id:
        raise DomainError(_("缺少请求号 request_id"), field="request_id")
    if len(rows) > MAX_ROWS:
        raise DomainError(_("每次最多报送 %(max)d 行，本次 %(n)d 行：请分批报送，本次未写入任何记录")
                          % {"max": MAX_ROWS, "n": len(rows)}, field="rows", code="too_many_rows")
    for attempt in (1, 2):
        outcomes, objects = _classify(base=base, raw_rows=rows, request_id=request_id, today=today)
        try:
            with transaction.atomic():
                OnlineCompletion.objects.bulk_create(objects)
        except IntegrityError:
            # A concurrent call stored some of these record ids after we looked: classify again, now seeing them.
            if attempt == 2:
                raise Conflict(_("另一请求正在报送相同的记录，请稍后重试"), field="rows",
                               code="concurrent_request") from None
            continue
        return CompletionReport(request_id, outcomes)
    raise AssertionError("unreachable")
