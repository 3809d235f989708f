"""The yearly compliance rule (R1–R6) as a pure function over plain data: no ORM, no settings, no clock.

Everything a year may change (thresholds, the professional minimum, which organising level counts for a
promotion) arrives in `Requirement`, so any year's policy works without code changes (R8).
"""
from dataclasses import asdict, dataclass, field
from decimal import Decimal

ZERO = Decimal(0)

LEVEL_RANK = {"junior": 1, "intermediate": 2, "senior_deputy": 3, "senior_full": 4}
LEVEL_ZH = {"junior": "初级", "intermediate": "中级", "senior_deputy": "副高级", "senior_full": "正高级"}
LEVEL_EN = {"junior": "junior", "intermediate": "intermediate", "senior_deputy": "deputy senior",
            "senior_full": "full senior"}
# Organising levels, lowest first; a promotion rule names the lowest that counts.
ORGANISER_RANK = {"county": 1, "city": 2, "province": 3}


@dataclass(frozen=True)
class Requirement:
    """The year's minimums for one title level (R1–R4) and the promotion rule (R5)."""

    total: Decimal
    public: Decimal
    public_required: Decimal
    professional: Decimal | None = None
    promotion_min_organiser: str = "city"


@dataclass(frozen=True)
class Totals:
    """Official hours of one person in one year. `city_or_higher` counts hours organised at city level or above."""

    public_required: Decimal = ZERO
    public_elective: Decimal = ZERO
    professional: Decimal = ZERO
    organiser_hours: tuple[tuple[str, Decimal], ...] = ()

    @property
    def public(self) -> Decimal:
        return self.public_required + self.public_elective

    @property
    def total(self) -> Decimal:
        return self.public + self.professional

    def hours_organised_at_least(self, organiser: str) -> Decimal:
        floor = ORGANISER_RANK[organiser]
        return sum((h for lvl, h in self.organiser_hours if ORGANISER_RANK.get(lvl, 0) >= floor), ZERO)


@dataclass(frozen=True)
class Promotion:
    from_level: str
    to_level: str


@dataclass(frozen=True)
class RuleStatus:
    rule: str
    key: str
    required: Decimal
    actual: Decimal
    met: bool
    message: str
    message_en: str

    @property
    def shortfall(self) -> Decimal:
        return max(self.required - self.actual, ZERO)


@dataclass(frozen=True)
class Consequence:
    code: str
    message: str
    message_en: str


@dataclass(frozen=True)
class Result:
    year: int
    level: str
    totals: Totals
    requirement: Requirement
    rules: tuple[RuleStatus, ...]
    compliant: bool
    summary: str
    summary_en: str
    consequences: tuple[Consequence, ...] = field(default=())

    @property
    def shortfalls(self) -> tuple[RuleStatus, ...]:
        return tuple(r for r in self.rules if not r.met)

    def rule(self, key: str) -> RuleStatus | None:
        return next((r for r in self.rules if r.key == key), None)


# R6: what missing the year's hours bars, on that year's record.
R6_CONSEQUENCES = (
    Consequence("hiring", "不得聘用（续聘）在专业技术岗位工作", "may not be hired or re-hired into a professional post"),
    Consequence("title", "不得认定初级专业技术职务任职资格或晋升中、高级专业技术职务资格",
                "may not be recognised for a junior title or promoted to an intermediate or senior title"),
    Consequence("registration", "不得注册各类职（执）业资格", "may not register a vocational qualification"),
    Consequence("expert", "不得申报各级各类专家和学科带头人", "may not apply to be an expert or discipline leader"),
    Consequence("awards", "不得申请各种奖项", "may not apply for awards"),
)
R5_CONSEQUENCE = Consequence(
    "promotion", "本年度继续教育不能用于本次职称晋升申报（须参加市级或市级以上组织的培训）",
    "this year's CE cannot support the promotion application (city-or-higher organised training is required)",
)


def fmt(hours: Decimal) -> str:
    """8 not 8.0; 0.5 stays 0.5."""
    q = hours.normalize()
    return f"{q:f}" if q != q.to_integral() else f"{q.to_integral():f}"


def promotion_needs_city_training(promotion: Promotion | None) -> bool:
    """R5: 中级→副高 and 副高→正高 (any move into a senior title) need city-or-higher organised training."""
    return promotion is not None and LEVEL_RANK[promotion.to_level] >= LEVEL_RANK["senior_deputy"]


def evaluate(*, year: int, level: str, requirement: Requirement, totals: Totals,
             promotion: Promotion | None = None) -> Result:
    req, t = requirement, totals
    rules = [
        _hours_rule("R1", "total", req.total, t.total, "总学时", "total hours"),
        _hours_rule("R3" if level == "junior" else "R2", "public", req.public, t.public,
                    "公需科目学时", "public-subject hours"),
        _hours_rule("R3" if level == "junior" else "R2", "public_required", req.public_required, t.public_required,
                    "必修课目学时", "required-course hours"),
    ]
    if req.professional is not None:
        rules.append(_hours_rule("R4", "professional", req.professional, t.professional,
                                 "专业科目学时", "professional-subject hours"))
    hours_met = all(r.met for r in rules)

    promotion_rule = None
    if promotion_needs_city_training(promotion):
        organised = t.hours_organised_at_least(req.promotion_min_organiser)
        where = "市级或市级以上" if req.promotion_min_organiser == "city" else "省级"
        where_en = "city or higher" if req.promotion_min_organiser == "city" else "provincial"
        move = f"{LEVEL_ZH[promotion.from_level]}晋{LEVEL_ZH[promotion.to_level]}"
        move_en = f"{LEVEL_EN[promotion.from_level]} to {LEVEL_EN[promotion.to_level]}"
        promotion_rule = RuleStatus(
            "R5", "promotion_training", Decimal("0.5"), organised, organised > ZERO,
            f"{move}须参加{where}组织的继续教育培训" + ("" if organised > ZERO else "，尚无此类培训记录"),
            f"promotion {move_en} requires training organised at {where_en} level"
            + ("" if organised > ZERO else "; none is on record"),
        )
        rules.append(promotion_rule)

    consequences: tuple[Consequence, ...] = ()
    if not hours_met:
        consequences = R6_CONSEQUENCES
    elif promotion_rule is not None and not promotion_rule.met:
        consequences = (R5_CONSEQUENCE,)

    summary, summary_en = _summary(rules, hours_met, promotion_rule)
    return Result(year=year, level=level, totals=t, requirement=req, rules=tuple(rules), compliant=hours_met,
                  summary=summary, summary_en=summary_en, consequences=consequences)


def _hours_rule(rule: str, key: str, required: Decimal, actual: Decimal, zh: str, en: str) -> RuleStatus:
    met = actual >= required
    gap = max(required - actual, ZERO)
    if met:
        msg, msg_en = f"{zh}已达到 {fmt(required)} 学时", f"{en}: {fmt(required)} reached"
    else:
        msg = f"{zh}要求 {fmt(required)} 学时，已完成 {fmt(actual)} 学时，还差 {fmt(gap)} 学时"
        msg_en = f"{en}: {fmt(required)} required, {fmt(actual)} done, {fmt(gap)} missing"
    return RuleStatus(rule, key, required, actual, met, msg, msg_en)


def _summary(rules: list[RuleStatus], hours_met: bool, promotion_rule: RuleStatus | None) -> tuple[str, str]:
    """One plain sentence: "还差 8 学时公需科目，其中必修 4 学时"."""
    gap = {r.key: r.shortfall for r in rules}
    parts, parts_en = [], []
    if gap.get("total"):
        parts.append(f"还差 {fmt(gap['total'])} 学时")
        parts_en.append(f"{fmt(gap['total'])} hours short in total")
    if gap.get("public"):
        s = f"还差 {fmt(gap['public'])} 学时公需科目"
        e = f"{fmt(gap['public'])} public-subject hours missing"
        if gap.get("public_required"):
            s += f"，其中必修 {fmt(gap['public_required'])} 学时"
            e += f", of which {fmt(gap['public_required'])} required"
        parts.append(s)
        parts_en.append(e)
    elif gap.get("public_required"):
        parts.append(f"还差必修课目 {fmt(gap['public_required'])} 学时")
        parts_en.append(f"{fmt(gap['public_required'])} required-course hours missing")
    if gap.get("professional"):
        parts.append(f"还差 {fmt(gap['professional'])} 学时专业科目")
        parts_en.append(f"{fmt(gap['professional'])} professional-subject hours missing")
    if promotion_rule is not None and not promotion_rule.met:
        parts.append(promotion_rule.message)
        parts_en.append(promotion_rule.message_en)
    if not parts:
        return "已完成本年度继续教育学时要求", "this year's continuing-education requirement is met"
    return "；".join(parts), "; ".join(parts_en)


def result_as_dict(result: Result) -> dict:
    """The JSON shape shared by the API and `manage.py compliance --json`."""
    t, req = result.totals, result.requirement
    return {
        "year": result.year,
        "title_level": result.level,
        "totals": {"total": fmt(t.total), "public": fmt(t.public), "public_required": fmt(t.public_required),
                   "public_elective": fmt(t.public_elective), "professional": fmt(t.professional)},
        "requirements": {"total": fmt(req.total), "public": fmt(req.public),
                         "public_required": fmt(req.public_required),
                         "professional": fmt(req.professional) if req.professional is not None else None},
        "compliant": result.compliant,
        "summary": result.summary,
        "summary_en": result.summary_en,
        "rules": [{"rule": r.rule, "key": r.key, "required": fmt(r.required), "actual": fmt(r.actual),
                   "met": r.met, "message": r.message, "message_en": r.message_en} for r in result.rules],
        "shortfalls": [{"rule": r.rule, "key": r.key, "required": fmt(r.required), "actual": fmt(r.actual),
                        "missing": fmt(r.shortfall), "message": r.message, "message_en": r.message_en}
                       for r in result.shortfalls],
        "consequences": [asdict(c) for c in result.consequences],
    }
