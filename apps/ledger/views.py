"""我的学时: a trainee's official hours for a year, and the same page for staff who may see that person.

The views only fetch (through the ledger selectors and `visibility`) and render; the numbers and sentences come
from the compliance engine, so this page, the API and `manage.py compliance` can never disagree.
"""
import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Role
from apps.accounts.visibility import get_visible_or_404, sees_full_id, visible
from apps.auditlog.models import Action
from apps.auditlog.services import record
from apps.catalog.models import YearPolicy
from apps.core.errors import DomainError, NotVisible
from apps.personnel.models import Person, PromotionApplication, TitleLevel

from . import selectors, suggestions
from .api import pending_hours_text
from .compliance import Result, fmt
from .models import HourEntry

ZERO = Decimal(0)
# Years outside the ledger's CHECK constraint cannot hold entries or policies; such a URL is a 404, not a page.
YEARS = range(1990, 2101)
PERSON_QS = Person.objects.select_related("unit__region__parent__parent", "unit__industry")


class AsOfForm(forms.Form):
    as_of = forms.DateField(label=_("截至日期"), required=False, input_formats=["%Y-%m-%d"],
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                            error_messages={"invalid": _("日期格式应为 YYYY-MM-DD")})


@dataclass(frozen=True)
class Bar:
    """One progress bar: hours done against one minimum of the year's policy."""

    key: str
    label: str
    actual: str
    required: str
    value: str  # what <progress> shows: the actual hours, kept within 0…max
    max: str
    met: bool
    message: str


@dataclass(frozen=True)
class Row:
    entry: HourEntry
    reversed_by: HourEntry | None  # the correction that cancels this entry, when it is in the page's list


@dataclass
class HoursPage:
    person: Person
    year: int
    years: list[int]
    as_of: datetime.date | None
    result: Result | None = None
    problem: str = ""  # why there is no evaluation (no policy, no title…), in the user's language
    level_label: str = ""
    bars: list[Bar] = field(default_factory=list)
    summary: str = ""
    promotion: PromotionApplication | None = None
    promotion_rule: object = None
    promotion_message: str = ""
    consequences: list[str] = field(default_factory=list)
    pending: str = "0"
    rows: list[Row] = field(default_factory=list)
    official_total: str = "0"
    suggested: list = field(default_factory=list)
    suggestion_gap_left: bool = False
    year_over: bool = False


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _default_year(person: Person) -> int:
    """This year, unless it has no policy yet: then the latest year that has one (the page has something to say)."""
    this_year = timezone.localdate().year
    years = selectors.policy_years(person=person)
    return this_year if this_year in years or not years else max(years)


def _bars(result: Result, en: bool) -> list[Bar]:
    labels = {"total": _("总学时"), "public": _("公需科目"), "public_required": _("其中必修"),
              "professional": _("专业科目")}
    bars = []
    for key, label in labels.items():
        rule = result.rule(key)
        if rule is None:  # professional only when the year's policy sets a minimum
            continue
        top = rule.required if rule.required > ZERO else Decimal(1)
        value = min(max(rule.actual, ZERO), top) if rule.required > ZERO else top
        bars.append(Bar(key, label, fmt(rule.actual), fmt(rule.required), fmt(value), fmt(top), rule.met,
                        rule.message_en if en else rule.message))
    return bars


def _page(user, person: Person, year: int, as_of: datetime.date | None) -> HoursPage:
    en = _english()
    years = selectors.policy_years(person=person) | selectors.entry_years(person=person) | {year}
    page = HoursPage(person=person, year=year, years=sorted(years, reverse=True), as_of=as_of,
                     year_over=year < timezone.localdate().year)

    entries = list(selectors.person_entries(person=person, year=year, as_of=as_of))
    # A reversal has the year of what it reverses, so "reversed as of that day" is "its reversal is in this list".
    reversals = {e.reverses_id: e for e in entries if e.reverses_id}
    page.rows = [Row(e, reversals.get(e.pk)) for e in entries]
    page.official_total = fmt(sum((e.hours for e in entries), ZERO))
    page.pending = pending_hours_text(person, year)
    page.promotion = visible(user, PromotionApplication).filter(person=person, year=year).first()

    try:
        result = selectors.person_compliance(person=person, year=year, as_of=as_of)
    except DomainError as exc:
        page.problem = str(exc.message)
        return page
    page.result = result
    page.level_label = TitleLevel(result.level).label
    page.bars = _bars(result, en)
    page.summary = result.summary_en if en else result.summary
    page.promotion_rule = result.rule("promotion_training")
    if page.promotion_rule is not None:
        page.promotion_message = page.promotion_rule.message_en if en else page.promotion_rule.message
    page.consequences = [c.message_en if en else c.message for c in result.consequences]
    if not result.compliant:
        page.suggested = suggestions.suggest_for_person(person=person, result=result, year=year)
        offers = [suggestions.Offer(c.pk, c.category, c.hours) for c in page.suggested]
        left = suggestions.remaining(suggestions.Gaps.of(result), offers)
        page.suggestion_gap_left = any((left.public_required, left.public, left.total, left.professional))
    return page


def _check_year(year: int) -> None:
    if year not in YEARS:
        raise Http404


@login_required
def my_hours(request, year: int | None = None):
    """The trainee's own page; any other role has no "my hours" (404, as for anything outside one's scope)."""
    if request.user.role != Role.TRAINEE or not request.user.person_id:
        raise Http404
    try:
        person = get_visible_or_404(request.user, PERSON_QS, pk=request.user.person_id)
    except NotVisible:
        raise Http404 from None
    if year is None:
        year = _default_year(person)
    _check_year(year)
    return render(request, "ledger/my_hours.html", {
        "page": _page(request.user, person, year, None), "own": True, "id_number": person.masked_id,
    })


@login_required
def person_hours(request, person_id: int, year: int):
    """The same page for staff: anyone whose scope includes the person; outside it, the person does not exist."""
    _check_year(year)
    try:
        person = get_visible_or_404(request.user, PERSON_QS, pk=person_id)
    except NotVisible:
        raise Http404 from None
    form = AsOfForm(request.GET or None)
    as_of = form.cleaned_data["as_of"] if form.is_valid() else None
    full_id = sees_full_id(request.user)
    if full_id:
        record(request, Action.VIEW_FULL_ID, target=person, details={"page": "person_hours", "year": year})
    return render(request, "ledger/my_hours.html", {
        "page": _page(request.user, person, year, as_of), "own": False, "form": form,
        "id_number": person.id_number if full_id else person.masked_id,
    })
