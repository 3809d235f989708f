"""Who may train whom (B2–B5 of DOMAIN.md) as a pure function over plain facts: no ORM, so every combination of
base level × person level × county/city-affiliated × delegation is a one-line test.

- B5: a base trains only inside its approved scope (subject category, title levels).
- B2: a city-level base trains senior-title people citywide, and intermediate/junior people of city-affiliated
  (市属) units; the administrative college is the senior public-subject base (in the data: the only face-to-face
  base approved for senior titles).
- B3: a county-level base trains its own county's intermediate and junior people.
- B4: a county without a base may delegate to a city-level base, which then trains that county's people too.
- W1: the online platform serves every professional of the city, whatever the level or county.
- R13: the geography of B2/B3 is about public subjects; professionals may attend a base's professional courses
  directly, wherever their unit is (inside the base's approved scope).
"""
from dataclasses import dataclass

SENIOR = ("senior_full", "senior_deputy")


@dataclass(frozen=True)
class BaseFacts:
    kind: str                      # "face_to_face" | "online"
    level: str                     # "city" | "county"
    region_id: int                 # the city for a city-level base, its county otherwise
    serves_public: bool
    serves_professional: bool
    serves_levels: frozenset[str]  # title levels in the approved scope
    delegated_county_ids: frozenset[int] = frozenset()
    name: str = ""


@dataclass(frozen=True)
class PersonFacts:
    level: str                     # title level in force (on 31 December of the class's year)
    county_id: int | None          # None for a city-affiliated (市属) unit
    name: str = ""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str = ""
    message: str = ""
    message_en: str = ""


OK = Decision(True)

LEVEL_ZH = {"senior_full": "正高级", "senior_deputy": "副高级", "intermediate": "中级", "junior": "初级"}


def may_train(base: BaseFacts, person: PersonFacts, category: str) -> Decision:
    public = category in ("public_required", "public_elective")
    if public and not base.serves_public or not public and not base.serves_professional:
        what = "公需科目" if public else "专业科目"
        return Decision(False, "B5", f"{base.name}未获批承担{what}培训（B5：不得超越批准范围）",
                        f"{base.name} is not approved for {'public' if public else 'professional'} subjects (B5)")
    if person.level not in base.serves_levels:
        return Decision(False, "B5", f"{base.name}的批准范围不含{LEVEL_ZH[person.level]}职称人员（B5）",
                        f"{base.name} is not approved to train {person.level} titles (B5)")
    if base.kind == "online":
        return OK  # W1: the online platform is open to every professional of the city
    if not public:
        return OK  # R13: professional courses are open to professionals directly
    if base.level == "county":
        if person.level in SENIOR:
            return Decision(False, "B2", "高级职称人员由市级基地培训（B2），县级基地只承担中、初级人员",
                            "senior titles are trained by city-level bases (B2)")
        if person.county_id != base.region_id:
            return Decision(False, "B3", f"{base.name}只承担本县（区）中、初级人员的培训（B3）",
                            f"{base.name} trains only its own county's intermediate and junior people (B3)")
        return OK
    # a city-level base
    if person.level in SENIOR:
        return OK  # B2: senior titles citywide
    if person.county_id is None:
        return OK  # B2: intermediate and junior people of city-affiliated units
    if person.county_id in base.delegated_county_ids:
        return OK  # B4: the county delegated its training to this base
    return Decision(False, "B3", "县（区）单位的中、初级人员由本县（区）基地培训（B3）；本县未委托该市级基地（B4）",
                    "intermediate and junior people of county units train at their county's base (B3), and the "
                    "county has not delegated to this city base (B4)")
