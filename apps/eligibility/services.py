"""The eligibility check (R6): answer an office's question about a person and log it, whatever the outcome.

The log row is written before the answer (or the refusal) leaves, in its own short transaction: a lookup of a
personal record must leave a trace even when the question was malformed or the person unknown.
"""
import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.visibility import sees_full_id
from apps.core.errors import DomainError, NotVisible
from apps.core.identifiers import parse_resident_id
from apps.personnel.models import Person

from . import selectors
from .models import EligibilityLookup

# Unknown and out-of-scope people get this same message: nothing tells them apart.
NOT_FOUND_MESSAGE = gettext_lazy("未找到该身份证号对应的人员，或不在您的查询范围内")


@dataclass(frozen=True)
class Answer:
    person: Person
    id_number: str  # masked unless the asker's role needs the full number
    years: list[selectors.YearAnswer]

    @property
    def eligible_all_years(self) -> bool:
        return all(y.status == selectors.COMPLIANT for y in self.years)

    def as_dict(self) -> dict:
        return {
            "person": {"name": self.person.name, "id_number": self.id_number, "unit": self.person.unit.name},
            "years": [y.as_dict() for y in self.years],
            "eligible_all_years": self.eligible_all_years,
        }


def _log(*, user, outcome: str, id_number_masked: str, years: str, channel: str, ip: str | None,
         person: Person | None = None) -> EligibilityLookup:
    with transaction.atomic():
        return EligibilityLookup.objects.create(
            user=user, person=person, id_number_masked=id_number_masked, years=(years or "")[:20],
            outcome=outcome, channel=channel, ip=ip or None)


def eligibility_lookup(*, user, id_number: str, years: str | None, channel: str, ip: str | None = None,
                       today: datetime.date | None = None) -> Answer:
    """R6 per year for the person with this ID number. Raises PermissionDenied for roles that may not ask (not
    logged: no lookup took place), DomainError (400) for a malformed question and NotVisible (404) for a person
    unknown or outside the asker's scope — the same answer for both, so the check cannot probe who exists."""
    if not selectors.may_ask(user):
        raise PermissionDenied(_("您的角色无权查询学时资格"))
    raw = (id_number or "").strip().upper()
    masked = selectors.masked_input(raw)
    log = {"user": user, "id_number_masked": masked, "years": (years or "").strip(), "channel": channel, "ip": ip}
    try:
        if not raw:
            raise DomainError(_("请填写身份证号"), field="id_number", code="id_required")
        try:
            number = parse_resident_id(raw, today=today).number
        except ValidationError as exc:
            raise DomainError(exc.messages[0], field="id_number", code=exc.code or "id_invalid") from None
        year_list = selectors.parse_years(years, today=today)
    except DomainError:
        _log(outcome=EligibilityLookup.Outcome.INVALID, **log)
        raise
    log["years"] = f"{year_list[0]}" if len(year_list) == 1 else f"{year_list[0]}-{year_list[-1]}"

    person = selectors.person_by_id_number(user=user, number=number)
    if person is None:
        _log(outcome=EligibilityLookup.Outcome.NOT_FOUND, **log)
        raise NotVisible(NOT_FOUND_MESSAGE, field="id_number", code="not_found")

    answers = [selectors.year_answer(person=person, year=y) for y in year_list]
    _log(outcome=EligibilityLookup.Outcome.FOUND, person=person, **log)
    return Answer(person, person.id_number if sees_full_id(user) else person.masked_id, answers)
