"""Which catalogue courses would close a person's gap for the year: a pure rule over plain data, and a thin selector.

The rule (`suggest`) fills the gaps in the order the policy nests them: the required-course gap first with
required courses, then what is still missing of the public gap with electives (required courses count toward
public too, so they top up when the electives run out), then what is still missing of the total — or the
policy's professional minimum, whichever is larger — with professional courses, the person's own industry
first. Each stage uses as few courses as the catalogue allows, and among those prefers hours that a later stage
can still use (an 8-hour required course closes a 4-hour required gap and half of the public one); no course is
suggested twice.
"""
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from apps.catalog.models import Category, Course

from .compliance import Result

ZERO = Decimal(0)


@dataclass(frozen=True)
class Gaps:
    """Hours still missing, per rule; 0 where the rule is met."""

    public_required: Decimal = ZERO
    public: Decimal = ZERO
    total: Decimal = ZERO
    professional: Decimal = ZERO

    @classmethod
    def of(cls, result: Result) -> "Gaps":
        def gap(key: str) -> Decimal:
            rule = result.rule(key)
            return rule.shortfall if rule is not None else ZERO

        return cls(gap("public_required"), gap("public"), gap("total"), gap("professional"))


@dataclass(frozen=True)
class Offer:
    """One course as the rule sees it. `rank` orders preference within a category: 0 is the best fit
    (for professional courses: the person's own industry, then courses for any industry, then other industries)."""

    id: int
    category: str
    hours: Decimal
    rank: int = 0


def _fewest(need: Decimal, pool: Sequence[Offer], useful: Decimal | None = None) -> list[Offer]:
    """As few offers as reach `need`; among those, hours as close as a greedy pass gets to `useful`.

    `useful` (at least `need`) is how many hours still count for something: a required course's hours beyond the
    required gap still fill the public gap, and public hours the total gap, so a later stage may need fewer courses.

    The fewest count k is exact: the k largest offers give the most hours any k offers can, so the smallest k whose
    largest offers reach `need` is the minimum. Each of the k slots then takes the smallest offer that still lets
    the remaining slots reach the target with the largest offers left. If even all offers fall short, all help."""
    if need <= ZERO or not pool:
        return []
    by_size = sorted(pool, key=lambda o: (-o.hours, o.rank, o.id))
    running, k = ZERO, 0
    for k, offer in enumerate(by_size, start=1):
        running += offer.hours
        if running >= need:
            break
    else:
        return list(by_size)
    # Aim at the useful hours, but never beyond what k offers can give (k stays the minimum).
    target = min(max(useful if useful is not None else need, need), running)
    left = list(by_size)
    picked: list[Offer] = []
    for slot in range(k):
        rest = k - slot - 1
        for candidate in sorted(left, key=lambda o: (o.hours, o.rank, o.id)):
            others = [o for o in left if o is not candidate][:rest]  # `left` stays sorted largest first
            if candidate.hours + sum((o.hours for o in others), ZERO) >= target:
                break
        picked.append(candidate)
        left.remove(candidate)
        target -= candidate.hours
    return picked


def _fill(need: Decimal, tiers: Iterable[Sequence[Offer]], useful: Decimal | None = None) -> list[Offer]:
    """Fill `need` from the first tier alone if it can; otherwise take all of it and go on to the next tier."""
    picked: list[Offer] = []
    useful = need if useful is None else max(useful, need)
    for tier in tiers:
        if need <= ZERO:
            break
        taken = _fewest(need, tier, useful)
        picked += taken
        need -= _hours(taken)
        useful -= _hours(taken)
    return picked


def _hours(offers: Iterable[Offer]) -> Decimal:
    return sum((o.hours for o in offers), ZERO)


def suggest(gaps: Gaps, courses: Iterable[Offer]) -> list[Offer]:
    """The courses to suggest, in the order they close the gap: required, public, then professional."""
    unique: dict[int, Offer] = {}
    for c in courses:
        if c.hours > ZERO:
            unique.setdefault(c.id, c)
    offers = list(unique.values())

    def of(category: str, exclude: Iterable[Offer] = ()) -> list[Offer]:
        taken = {o.id for o in exclude}
        return [o for o in offers if o.category == category and o.id not in taken]

    # Required hours beyond the required gap still count toward public and total, public hours toward total.
    required = _fill(gaps.public_required, [of(Category.PUBLIC_REQUIRED)], useful=max(gaps.public, gaps.total))
    public = _fill(gaps.public - _hours(required),
                   [of(Category.PUBLIC_ELECTIVE), of(Category.PUBLIC_REQUIRED, exclude=required)],
                   useful=gaps.total - _hours(required))
    chosen = required + public
    professional_pool = of(Category.PROFESSIONAL)
    tiers = [[o for o in professional_pool if o.rank == r] for r in sorted({o.rank for o in professional_pool})]
    professional = _fill(max(gaps.professional, gaps.total - _hours(chosen)), tiers)
    return chosen + professional


def remaining(gaps: Gaps, picked: Iterable[Offer]) -> Gaps:
    """What would still be missing after taking `picked` (all zero when the suggestion closes the gap)."""
    picked = list(picked)
    pr = _hours(o for o in picked if o.category == Category.PUBLIC_REQUIRED)
    pub = pr + _hours(o for o in picked if o.category == Category.PUBLIC_ELECTIVE)
    prof = _hours(o for o in picked if o.category == Category.PROFESSIONAL)
    return Gaps(max(gaps.public_required - pr, ZERO), max(gaps.public - pub, ZERO),
                max(gaps.total - pub - prof, ZERO), max(gaps.professional - prof, ZERO))


# --- the selector -----------------------------------------------------------------------------------------------


def _rank(course: Course, industry_id: int | None) -> int:
    if course.category != Category.PROFESSIONAL:
        return 0
    if industry_id is not None and course.industry_id == industry_id:
        return 0
    return 1 if course.industry_id is None else 2


def suggest_courses(*, result: Result, year: int, industry_id: int | None = None,
                    exclude_course_ids: Iterable[int] = (), face_to_face_open: bool = True) -> list[Course]:
    """Active catalogue courses of `year` that would close the gap in `result`; none when it is met.

    After the year's face-to-face registration deadline (W2) only online courses are offered."""
    gaps = Gaps.of(result)
    if not any((gaps.public_required, gaps.public, gaps.total, gaps.professional)):
        return []
    catalogue = Course.objects.filter(year=year, is_active=True).exclude(pk__in=list(exclude_course_ids))
    if not face_to_face_open:
        catalogue = catalogue.exclude(mode="face_to_face")
    courses = {c.pk: c for c in catalogue}
    picked = suggest(gaps, [Offer(c.pk, c.category, c.hours, _rank(c, industry_id)) for c in courses.values()])
    return [courses[o.id] for o in picked]


def suggest_for_person(*, person, result: Result, year: int, today=None) -> list[Course]:
    """`suggest_courses` for one person: their unit's industry first, leaving out courses already on their record
    and face-to-face courses once registration has closed."""
    from django.utils import timezone

    from .models import HourEntry
    from .selectors import policy_for

    today = today or timezone.localdate()
    deadline = policy_for(year=year, region=person.unit.region).registration_deadline
    taken = (HourEntry.objects.filter(person=person, course__isnull=False)
             .values_list("course_id", flat=True).distinct())
    return suggest_courses(result=result, year=year, industry_id=person.unit.industry_id,
                           exclude_course_ids=list(taken),
                           face_to_face_open=deadline is None or today <= deadline)
