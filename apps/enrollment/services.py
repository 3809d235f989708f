"""Writes of the enrolment app: classes and registrations. Each is one atomic service that locks what it changes.

Registration takes the class row lock first and reads the seat count after it, so two unit admins taking the
last seat at the same moment cannot both succeed (the second waits, then sees the class full); the database's
CHECK (registered <= capacity) stands behind it.
"""
import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.bases.models import CountyDelegation, TrainingBase
from apps.catalog.models import Course, IndustryPlan
from apps.core.errors import Conflict, DomainError
from apps.ledger.selectors import policy_for
from apps.orgs.models import Region
from apps.personnel.models import Person, TitleHolding

from .models import Registration, TrainingClass
from .rules import BaseFacts, PersonFacts, may_train


@dataclass(frozen=True)
class Refusal:
    person_id: int
    name: str
    rule: str
    message: str


class RegistrationRefused(DomainError):
    """Some people cannot be registered; nobody was. `refusals` names each person and the rule."""

    def __init__(self, refusals: list[Refusal]):
        self.refusals = refusals
        super().__init__(_("%(n)d 人不能报名，本次未报名任何人：%(first)s")
                         % {"n": len(refusals), "first": f"{refusals[0].name}——{refusals[0].message}"},
                         code="registration_refused")

    def as_dict(self) -> dict:
        return {**super().as_dict(), "refusals": [r.__dict__ for r in self.refusals]}


@dataclass
class Registered:
    created: list[Registration] = field(default_factory=list)
    seats_left: int = 0


def base_facts(base: TrainingBase) -> BaseFacts:
    levels = {lvl for lvl, ok in (("senior_full", base.serves_senior), ("senior_deputy", base.serves_senior),
                                  ("intermediate", base.serves_intermediate), ("junior", base.serves_junior)) if ok}
    delegated = frozenset(CountyDelegation.objects.filter(base=base).values_list("county_id", flat=True))
    return BaseFacts(base.kind, base.level, base.region_id, base.serves_public, base.serves_professional,
                     frozenset(levels), delegated, base.name)


def levels_on(person_ids: list[int], day: datetime.date) -> dict[int, str]:
    """Each person's title level on `day`, in one query."""
    levels: dict[int, str] = {}
    for pid, level in (TitleHolding.objects.filter(person_id__in=person_ids, obtained_on__lte=day)
                       .order_by("person_id", "obtained_on").values_list("person_id", "level")):
        levels[pid] = level  # ascending dates: the last one wins
    return levels


def class_create(*, base: TrainingBase, course: Course, code: str, starts_on: datetime.date,
                 ends_on: datetime.date, capacity: int, fee=None, place: str = "", organised_by: Region | None = None,
                 plan: IndustryPlan | None = None, by=None) -> TrainingClass:
    """Schedule a class (班次). The course must be inside the base's approved scope (B5); a professional course
    runs only under an acknowledged industry plan (R12); registration closes at the year's deadline (W2)."""
    if not base.is_active:
        raise DomainError(_("基地“%(b)s”已停用，不能开班") % {"b": base.name}, field="base", rule="B5")
    public = course.category != "professional"
    if public and not base.serves_public or not public and not base.serves_professional:
        raise DomainError(_("课程“%(c)s”超出%(b)s的批准范围（B5）") % {"c": course.title, "b": base.name},
                          field="course", rule="B5")
    if not public:
        if plan is None or plan.status != IndustryPlan.Status.ACKNOWLEDGED or not plan.courses.filter(
                pk=course.pk).exists():
            raise DomainError(_("专业科目须在已备案的行业计划内开班（R12）：请先由行业主管部门报备包含该课程的计划"),
                              field="plan", rule="R12")
    if ends_on < starts_on:
        raise DomainError(_("结业日期不能早于开班日期"), field="ends_on")
    if capacity <= 0:
        raise DomainError(_("名额须大于 0"), field="capacity")
    if starts_on.year != course.year:
        raise DomainError(_("课程属于 %(y)s 年度，班次日期须在该年度内") % {"y": course.year}, field="starts_on")
    organised_by = organised_by or base.region
    if organised_by.kind == Region.Kind.COUNTY:
        # W4: a county organises at its own bases, or at a city base it delegated to (B4) — elsewhere none of its
        # people could register.
        own = base.level == TrainingBase.Level.COUNTY and base.region_id == organised_by.pk
        delegated = base.level == TrainingBase.Level.CITY and CountyDelegation.objects.filter(
            county=organised_by, base=base).exists()
        if not (own or delegated):
            raise DomainError(_("县（区）人社局只能在本县（区）基地或本县委托的市级基地组织培训（W4、B4）"),
                              field="base", rule="W4")
        if course.category == "professional":
            raise DomainError(_("县（区）人社局组织的是公需科目培训（W4）"), field="course", rule="W4")
    # W2's deadline is the year's face-to-face public-subject registration; professional classes take
    # registrations until they start.
    policy = policy_for(year=course.year, region=base.region)
    deadline = (policy.registration_deadline or starts_on) if public else starts_on
    # B6: one uniform fee standard; a class charges it (or nothing is set and the base states its fee).
    if policy.fee_standard is not None:
        if fee is not None and Decimal(fee) != policy.fee_standard:
            raise DomainError(_("收费须执行统一标准 %(std)s 元/人（B6），不能收取 %(fee)s 元")
                              % {"std": policy.fee_standard, "fee": fee}, field="fee", rule="B6")
        fee = policy.fee_standard
    try:
        with transaction.atomic():
            return TrainingClass.objects.create(
                base=base, course=course, code=code.strip(), year=course.year, starts_on=starts_on, ends_on=ends_on,
                place=place, capacity=capacity, fee=fee or 0,
                organiser="county" if organised_by.kind == Region.Kind.COUNTY else "city",
                organised_by=organised_by, registration_deadline=min(deadline, starts_on), plan=plan,
                created_by=by)
    except IntegrityError:
        raise Conflict(_("本基地已有编号为 %(code)s 的班次") % {"code": code}, field="code") from None


def registrations_add(*, training_class_id: int, person_ids: list[int], by=None, channel: str = "unit",
                      today: datetime.date | None = None) -> Registered:
    """Register people into a class, all or none. Refusals name each person and the rule (B2–B5, W2)."""
    today = today or timezone.localdate()
    person_ids = list(dict.fromkeys(person_ids))
    if not person_ids:
        raise DomainError(_("请至少选择一名人员"), field="people")
    with transaction.atomic():
        cls = (TrainingClass.objects.select_for_update().select_related("base", "course")
               .get(pk=training_class_id))
        if cls.status != TrainingClass.Status.OPEN:
            raise DomainError(_("班次 %(code)s %(status)s，不能报名") % {"code": cls.code,
                                                                   "status": cls.get_status_display()},
                              field="training_class")
        if today > cls.registration_deadline:
            raise DomainError(_("报名已于 %(d)s 截止（W2），不能再报名") % {"d": cls.registration_deadline},
                              field="training_class", rule="W2", code="deadline_passed")
        people = {p.pk: p for p in Person.objects.filter(pk__in=person_ids).select_related("unit__region")}
        missing = [pid for pid in person_ids if pid not in people]
        if missing:
            raise DomainError(_("人员不存在：%(ids)s") % {"ids": missing}, field="people")
        facts = base_facts(cls.base)
        levels = levels_on(person_ids, datetime.date(cls.year, 12, 31))
        already = set(Registration.objects.filter(training_class=cls, person_id__in=person_ids)
                      .values_list("person_id", flat=True))
        refusals = []
        for pid in person_ids:
            person = people[pid]
            if pid in already:
                refusals.append(Refusal(pid, person.name, "", _("已报名此班次")))
                continue
            if pid not in levels:
                refusals.append(Refusal(pid, person.name, "", _("没有职称记录，无法确定培训范围")))
                continue
            region = person.unit.region
            decision = may_train(facts, PersonFacts(levels[pid], region.pk if region.kind == "county" else None),
                                 cls.course.category)
            if not decision.allowed:
                refusals.append(Refusal(pid, person.name, decision.rule, decision.message))
        if refusals:
            raise RegistrationRefused(refusals)
        if cls.registered + len(person_ids) > cls.capacity:
            raise Conflict(_("名额不足：班次 %(code)s 还剩 %(left)d 个名额，本次报名 %(n)d 人")
                           % {"code": cls.code, "left": cls.capacity - cls.registered, "n": len(person_ids)},
                           field="training_class", code="class_full")
        created = Registration.objects.bulk_create([
            Registration(training_class=cls, person_id=pid, unit_id=people[pid].unit_id, channel=channel,
                         registered_by=by) for pid in person_ids])
        cls.registered += len(created)
        cls.save(update_fields=["registered"])
        return Registered(created=created, seats_left=cls.capacity - cls.registered)
