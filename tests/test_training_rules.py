"""B2–B5 as a table: every base level × person level × county/city-affiliated × delegation."""
import itertools

import pytest

from apps.enrollment.rules import BaseFacts, PersonFacts, may_train

CITY, COUNTY_A, COUNTY_B = 1, 10, 20
ALL_LEVELS = frozenset({"senior_full", "senior_deputy", "intermediate", "junior"})
MID_JUNIOR = frozenset({"intermediate", "junior"})

admin_college = BaseFacts("face_to_face", "city", CITY, True, False, ALL_LEVELS, name="开封市行政学院")
city_base = BaseFacts("face_to_face", "city", CITY, True, True, MID_JUNIOR, frozenset({COUNTY_B}), name="开封大学")
county_base = BaseFacts("face_to_face", "county", COUNTY_A, True, False, MID_JUNIOR, name="龙亭区基地")
online = BaseFacts("online", "city", CITY, True, False, ALL_LEVELS, name="网络学院")


def expected(base: BaseFacts, level: str, county: int | None, category: str) -> str:
    """The rule written out independently, as the bureau would explain it; '' means allowed."""
    public = category != "professional"
    if (public and not base.serves_public) or (not public and not base.serves_professional):
        return "B5"
    if level not in base.serves_levels:
        return "B5"
    if base.kind == "online" or not public:
        return ""  # W1 online; R13 professional courses
    senior = level.startswith("senior")
    if base.level == "county":
        if senior:
            return "B2"
        return "" if county == base.region_id else "B3"
    if senior or county is None or county in base.delegated_county_ids:
        return ""
    return "B3"


CASES = list(itertools.product(
    [admin_college, city_base, county_base, online],
    ["senior_full", "senior_deputy", "intermediate", "junior"],
    [None, COUNTY_A, COUNTY_B],  # city-affiliated, the county base's county, the county that delegated
    ["public_required", "professional"],
))


@pytest.mark.parametrize("base, level, county, category", CASES,
                         ids=[f"{b.name}-{lv}-{c}-{cat}" for b, lv, c, cat in CASES])
def test_who_may_train_whom(base, level, county, category):
    decision = may_train(base, PersonFacts(level, county), category)
    rule = expected(base, level, county, category)
    assert decision.allowed is (rule == "")
    assert decision.rule == rule
    if rule:
        assert decision.message and f"（{rule}" in decision.message or f"{rule}）" in decision.message


@pytest.mark.parametrize("base, level, county, allowed", [
    (admin_college, "senior_deputy", COUNTY_A, True),     # B2: senior titles citywide at the college
    (city_base, "senior_deputy", None, False),            # not in 开封大学's approved levels (B5)
    (city_base, "junior", None, True),                    # B2: city-affiliated junior
    (city_base, "junior", COUNTY_A, False),               # B3: a county's junior trains at home…
    (city_base, "junior", COUNTY_B, True),                # …unless the county delegated (B4)
    (county_base, "intermediate", COUNTY_A, True),        # B3
    (county_base, "intermediate", COUNTY_B, False),       # B3: not another county's
    (county_base, "senior_full", COUNTY_A, False),        # B2/B5
    (online, "senior_full", COUNTY_B, True),              # W1
])
def test_the_cases_from_the_document(base, level, county, allowed):
    assert may_train(base, PersonFacts(level, county), "public_required").allowed is allowed


def test_a_county_professional_may_take_a_city_base_professional_course_directly():
    # R13: 分散的专业技术人员可以直接参加基地组织的专业科目学习培训
    assert may_train(city_base, PersonFacts("junior", COUNTY_A), "professional").allowed
    assert not may_train(city_base, PersonFacts("junior", COUNTY_A), "public_required").allowed
