"""Reads for the eligibility check (R6): which years were asked, what each year's record bars, and the lookup log.

Nothing here writes; the lookup itself (which must be logged whatever its outcome) is in services.py.
"""
import datetime
import re
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.models import Role
from apps.accounts.visibility import visible
from apps.core.errors import DomainError
from apps.core.identifiers import mask_id_number
from apps.ledger import selectors as ledger
from apps.ledger.compliance import fmt
from apps.personnel.models import Person

from .models import EligibilityLookup

# The offices that decide hiring, titles, registration, experts and awards (R6), and the bureaus above them.
ASKING_ROLES = frozenset({Role.CITY_BUREAU, Role.COUNTY_BUREAU, Role.UNIT_ADMIN, Role.SYSTEM_ADMIN})
MAX_YEARS = 5

# R6, as stable codes (the same as apps/ledger/compliance.R6_CONSEQUENCES) with short labels for tables.
BARRED = (
    ("hiring", gettext_lazy("聘用/续聘专业技术岗位")),
    ("title", gettext_lazy("初级职称认定及中高级职称晋升")),
    ("registration", gettext_lazy("执业（职业）资格注册")),
    ("expert", gettext_lazy("申报专家及学科带头人")),
    ("awards", gettext_lazy("申报评奖")),
)

COMPLIANT, NOT_COMPLIANT, UNKNOWN = "compliant", "not_compliant", "unknown"
STATUS_LABELS = {COMPLIANT: gettext_lazy("达标"), NOT_COMPLIANT: gettext_lazy("未达标"),
                 UNKNOWN: gettext_lazy("无法判定")}

_YEARS_RE = re.compile(r"^\s*(\d{4})\s*(?:[-–~至]\s*(\d{4})\s*)?$")


def may_ask(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role in ASKING_ROLES)


def default_years(*, today: datetime.date | None = None) -> str:
    """The last complete year: the current one is still being recorded."""
    return str((today or timezone.localdate()).year - 1)


def parse_years(text: str | None, *, today: datetime.date | None = None) -> list[int]:
    """"2016" or "2014-2016": at most MAX_YEARS years, none in the future. Empty means the last complete year."""
    today = today or timezone.localdate()
    text = (text or "").strip() or default_years(today=today)
    m = _YEARS_RE.match(text)
    if not m:
        raise DomainError(_("年度格式应为 2016 或 2014-2016"), field="years", code="years_format")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if first > last:
        raise DomainError(_("起始年度不能晚于结束年度"), field="years", code="years_order")
    if last - first + 1 > MAX_YEARS:
        raise DomainError(_("一次最多查询 %(n)d 个年度") % {"n": MAX_YEARS}, field="years", code="years_span")
    if first < 1990:
        raise DomainError(_("年度 %(y)s 超出范围") % {"y": first}, field="years", code="years_range")
    if last > today.year:
        raise DomainError(_("年度 %(y)s 尚未开始，不能查询") % {"y": last}, field="years", code="years_future")
    return list(range(first, last + 1))


def masked_input(raw: str) -> str:
    """What the log keeps of a typed ID number: masked, and never longer than the column (a pasted paragraph
    must not fail the log write, and must not be stored either)."""
    masked = mask_id_number((raw or "").strip().upper())
    return masked if len(masked) <= 18 else masked[:6] + "*" * 8 + masked[-4:]


@dataclass(frozen=True)
class YearAnswer:
    year: int
    status: str
    level: str | None = None
    reasons: list[str] = field(default_factory=list)
    reasons_en: list[str] = field(default_factory=list)
    shortfalls: dict[str, str] = field(default_factory=dict)
    barred: list[dict] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    def as_dict(self) -> dict:
        return {"year": self.year, "status": self.status, "title_level": self.level, "reasons": self.reasons,
                "reasons_en": self.reasons_en, "shortfalls": self.shortfalls, "barred": self.barred}


def barred_list() -> list[dict]:
    return [{"code": code, "label": str(label)} for code, label in BARRED]


def year_answer(*, person: Person, year: int) -> YearAnswer:
    """One year's R6 standing. A year the system cannot judge (no policy, no title on 31 December) is "unknown"
    with the reason, not an error: the other years of the range still answer."""
    try:
        result = ledger.person_compliance(person=person, year=year)
    except DomainError as exc:
        return YearAnswer(year, UNKNOWN, reasons=[str(exc.message)], reasons_en=[str(exc.message)])
    shortfalls = result.shortfalls
    reasons = [r.message for r in shortfalls] or [result.summary]
    reasons_en = [r.message_en for r in shortfalls] or [result.summary_en]
    return YearAnswer(
        year, COMPLIANT if result.compliant else NOT_COMPLIANT, result.level, reasons, reasons_en,
        {r.key: fmt(r.shortfall) for r in shortfalls if r.rule != "R5"},
        [] if result.compliant else barred_list(),
    )


def person_by_id_number(*, user, number: str) -> Person | None:
    """The person with this ID number if the user may see them; None for unknown and out-of-scope alike."""
    return (visible(user, Person).select_related("unit__region__parent__parent")
            .filter(id_number=number).first())


def lookups_for(user, *, q: str = "", username: str = "", day_from: datetime.date | None = None,
                day_to: datetime.date | None = None) -> QuerySet:
    qs = visible(user, EligibilityLookup).select_related("user", "person")
    q = (q or "").strip().upper()
    if q:
        # The log keeps masked numbers only: a full number is matched by its mask (and by the person found);
        # anything shorter by the visible digits.
        if len(q) == 18:
            qs = qs.filter(Q(id_number_masked=mask_id_number(q)) | Q(person__id_number=q))
        else:
            qs = qs.filter(id_number_masked__icontains=q)
    if username:
        qs = qs.filter(user__username__icontains=username.strip())
    tz = timezone.get_current_timezone()
    if day_from:
        qs = qs.filter(at__gte=datetime.datetime.combine(day_from, datetime.time.min, tz))
    if day_to:
        qs = qs.filter(at__lt=datetime.datetime.combine(day_to + datetime.timedelta(days=1), datetime.time.min, tz))
    return qs.order_by("-at", "-pk")
