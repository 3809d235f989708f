"""我的学时: the trainee's hours page, the staff view of one person, and the course suggestions behind both."""
import datetime
import re
from decimal import Decimal as D

import pytest
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Role
from apps.bases.models import TrainingBase
from apps.catalog.models import Course
from apps.ledger import compliance, services
from apps.ledger.suggestions import Gaps, Offer, remaining, suggest, suggest_courses
from apps.orgs.models import Industry, Region

from . import factories as f

DAY = datetime.date(2016, 6, 1)


# --- the Kaifeng world ------------------------------------------------------------------------------------------


@pytest.fixture
def city(kaifeng):
    return Region.objects.get(code="410200")


@pytest.fixture
def mine(kaifeng):
    unit = f.UnitFactory(region=Region.objects.get(code="410202"), name="龙亭区人民医院",
                         industry=Industry.objects.get(code="health"))
    person = f.PersonFactory(unit=unit, name="钱学时")
    f.TitleHoldingFactory(person=person, level="intermediate", obtained_on=datetime.date(2011, 1, 1))
    return person


@pytest.fixture
def theirs(kaifeng):
    person = f.PersonFactory(unit=f.UnitFactory(region=Region.objects.get(code="410221"), name="杞县医院"),
                             name="孙外县")
    f.TitleHoldingFactory(person=person, level="intermediate", obtained_on=datetime.date(2011, 1, 1))
    return person


@pytest.fixture
def trainee(mine):
    return f.UserFactory(role=Role.TRAINEE, person=mine, is_staff=False)


@pytest.fixture
def county_bureau(kaifeng):
    return f.UserFactory(role=Role.COUNTY_BUREAU, region=Region.objects.get(code="410202"), is_staff=False)


_keys = iter(range(1, 10**6))


def entry(person, category, hours, day=DAY, **kw):
    kw.setdefault("source", "migration")
    kw.setdefault("organiser", "city")
    return services.EntryInput(person_id=person.pk, category=category, hours=D(str(hours)), completed_on=day,
                               source_key=f"test:{next(_keys)}", **kw)


def record(*entries):
    with transaction.atomic():
        return services.entries_record(entries=list(entries))


def short_of_eight(person):
    """82 hours: 14 required + 4 elective + 64 professional, from the 开封大学 base, rows 2–4 of an import."""
    base = TrainingBase.objects.get(code="kf-kfdx")
    return record(*[entry(person, c, h, base_id=base.pk, course_title="历史培训", source_row=row)
                    for row, (c, h) in enumerate((("public_required", 14), ("public_elective", 4),
                                                  ("professional", 64)), start=2)])


def page(client, user, url, **headers):
    client.force_login(user)
    response = client.get(url, **headers)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def bar(html, key) -> tuple[str, str]:
    """(value, max) of the <progress> of one bar, and the figures beside it must agree."""
    block = re.search(rf'data-bar="{key}">(.*?)</li>', html, re.S).group(1)
    value, top = re.search(r'<progress value="([\d.]+)" max="([\d.]+)"', block).groups()
    return value, top


def figures(html, key) -> str:
    return re.search(rf'data-bar-figures="{key}">([^<]*)<', html).group(1).strip()


# --- the trainee's page -----------------------------------------------------------------------------------------


def test_trainee_sees_bars_with_the_right_numbers_and_the_gap_sentence(client, trainee, mine):
    short_of_eight(mine)
    html = page(client, trainee, "/my/hours/2016/")
    assert "我的学时" in html and 'data-year="2016"' in html
    assert bar(html, "total") == ("82", "90") and figures(html, "total") == "82 / 90 学时"
    assert bar(html, "public") == ("18", "26") and figures(html, "public") == "18 / 26 学时"
    assert bar(html, "public_required") == ("14", "18") and figures(html, "public_required") == "14 / 18 学时"
    assert 'data-bar="professional"' not in html  # 2016 sets no professional minimum
    assert 'aria-labelledby="bar-total-label"' in html and 'id="bar-total-label"' in html
    assert 'data-compliant="false"' in html
    assert "还差 8 学时；还差 8 学时公需科目，其中必修 4 学时" in html
    # R6 consequences while the year is not met
    assert "data-consequences" in html and "不得聘用（续聘）在专业技术岗位工作" in html
    assert "不得申请各种奖项" in html


def test_89_and_a_half_hours_is_not_compliant_and_90_is(client, trainee, mine):
    record(entry(mine, "public_required", 18), entry(mine, "public_elective", 8),
           entry(mine, "professional", "63.5"))
    html = page(client, trainee, "/my/hours/2016/")
    assert bar(html, "total") == ("89.5", "90")
    assert 'data-compliant="false"' in html and "还差 0.5 学时" in html
    assert "data-consequences" in html

    record(entry(mine, "professional", "0.5"))
    html = page(client, trainee, "/my/hours/2016/")
    assert bar(html, "total") == ("90", "90")
    assert 'data-compliant="true"' in html and "已完成本年度继续教育学时要求" in html
    assert "data-consequences" not in html
    assert "可补齐缺口的课程" not in html  # nothing to suggest once compliant


def test_hours_over_the_minimum_fill_the_bar_but_show_the_real_figure(client, trainee, mine):
    record(entry(mine, "public_required", 30), entry(mine, "professional", 70))
    html = page(client, trainee, "/my/hours/2016/")
    assert bar(html, "public_required") == ("18", "18")
    assert figures(html, "public_required") == "30 / 18 学时"


def test_pending_hours_are_shown_apart_from_official_ones(client, trainee, mine):
    short_of_eight(mine)
    html = page(client, trainee, "/my/hours/2016/")
    official = re.search(r'data-hours="official">.*?<dd>([^<]*)</dd>', html, re.S).group(1)
    pending = re.search(r'data-hours="pending">.*?<dd>([^<]*)</dd>', html, re.S).group(1)
    assert (official, pending) == ("82", "0")
    assert "待审核学时（尚未计入）" in html


def test_my_hours_defaults_to_the_latest_year_with_a_policy(client, trainee, mine, city):
    this_year = timezone.localdate().year
    assert this_year > 2017  # the fixture's years are in the past
    f.PolicyRequirementFactory(policy=f.YearPolicyFactory(region=city, year=2017), level="intermediate")
    html = page(client, trainee, "/my/hours/")
    assert 'data-year="2017"' in html
    # the picker offers the years with a policy or entries
    record(entry(mine, "professional", 10, day=datetime.date(2015, 3, 1)))
    html = page(client, trainee, "/my/hours/")
    years = re.findall(r'href="/my/hours/(\d{4})/"', html)
    assert years == ["2017", "2016", "2015"]
    assert re.search(r'href="/my/hours/2017/" aria-current="page"', html)


def test_my_hours_defaults_to_this_year_when_it_has_a_policy(client, trainee, city):
    this_year = timezone.localdate().year
    for year in (this_year, this_year + 1):
        f.PolicyRequirementFactory(policy=f.YearPolicyFactory(region=city, year=year), level="intermediate")
    assert f'data-year="{this_year}"' in page(client, trainee, "/my/hours/")


def test_looking_back_at_another_year(client, trainee, mine, city):
    policy = f.YearPolicyFactory(region=city, year=2017)
    f.PolicyRequirementFactory(policy=policy, level="intermediate", total_hours=90, public_hours=30,
                               public_required_hours=20, professional_hours=40)
    short_of_eight(mine)
    record(entry(mine, "public_required", 20, day=datetime.date(2017, 4, 1)),
           entry(mine, "professional", 12, day=datetime.date(2017, 4, 2)))
    html = page(client, trainee, "/my/hours/2017/")
    assert bar(html, "total") == ("32", "90")
    assert bar(html, "public") == ("20", "30")
    assert bar(html, "professional") == ("12", "40")  # the 2017 policy sets a professional minimum
    assert "还差 28 学时专业科目" in html
    html = page(client, trainee, "/my/hours/2016/")
    assert bar(html, "total") == ("82", "90") and 'data-bar="professional"' not in html
    assert "2016 年度已结束" in html


def test_a_year_without_policy_says_so_plainly(client, trainee, mine):
    record(entry(mine, "professional", 10, day=datetime.date(2015, 3, 1), course_title="2015 年专业课"))
    html = page(client, trainee, "/my/hours/2015/")
    assert "data-problem" in html and "2015 年度没有继续教育政策，无法评估" in html
    assert "<progress" not in html
    assert "2015 年专业课" in html  # the entries are still listed


def test_a_person_without_a_title_gets_a_message_not_an_error(client, kaifeng):
    person = f.PersonFactory(unit=f.UnitFactory(region=Region.objects.get(code="410202")), name="无职称")
    user = f.UserFactory(role=Role.TRAINEE, person=person, is_staff=False)
    html = page(client, user, "/my/hours/2016/")
    assert "没有职称记录" in html and "<progress" not in html


def test_promotion_status_is_shown_for_the_year_of_the_application(client, trainee, mine):
    f.PromotionApplicationFactory(person=mine, from_level="intermediate", to_level="senior_deputy", year=2016)
    record(entry(mine, "public_required", 18, organiser="county"), entry(mine, "public_elective", 8,
                                                                       organiser="county"),
           entry(mine, "professional", 64, organiser="county"))
    html = page(client, trainee, "/my/hours/2016/")
    assert "data-promotion" in html and "中级 → 副高级" in html
    assert 'data-promotion-met="false"' in html
    assert "中级晋副高级须参加市级或市级以上组织的继续教育培训，尚无此类培训记录" in html
    assert 'data-compliant="true"' in html  # the hours are met; only the promotion is not (R5)
    assert "本年度继续教育不能用于本次职称晋升申报" in html
    assert "data-promotion" not in page(client, trainee, "/my/hours/2017/")


def test_entries_show_provenance_and_reversals(client, trainee, mine):
    course = Course.objects.get(year=2016, code="GX16-F01")
    base = TrainingBase.objects.get(code="kf-xzxy")
    good, wrong = record(entry(mine, "public_required", 8, course_id=course.pk, base_id=base.pk, source_row=7),
                         entry(mine, "public_elective", 4, course_title="重复上报的选修课"))
    with transaction.atomic():
        reversal = services.entry_reverse(entry_id=wrong.pk, reason="成绩重复上报")
    html = page(client, trainee, "/my/hours/2016/")
    first = re.search(rf'data-entry="{good.pk}">(.*?)</li>', html, re.S).group(1)
    assert "GX16-F01" in first and "树立五大发展理念推进全面深化改革" in first
    assert "开封市行政学院" in first and "历史数据迁移" in first and "第 7 行" in first
    assert "2016-06-01" in first and "公需科目（必修）" in first and "市级" in first
    assert timezone.localtime(good.created_at).strftime("%Y-%m-%d %H:%M") in first
    assert "data-reversed" not in first

    original = re.search(rf'class="entry entry-reversed" id="entry-{wrong.pk}".*?</li>', html, re.S).group(0)
    assert f"已冲正（见 #{reversal.pk}）" in original and "重复上报的选修课" in original
    fix = re.search(rf'data-entry="{reversal.pk}">(.*?)</li>', html, re.S).group(1)
    assert "冲正更正" in fix and "-4 学时" in fix
    assert f'data-reverses="{wrong.pk}"' in fix and "成绩重复上报" in fix
    assert "本年度官方学时合计 8 学时" in html


def test_suggestions_on_the_page_close_the_gap(client, trainee, mine):
    short_of_eight(mine)  # 4 required and 8 public missing
    html = page(client, trainee, "/my/hours/2016/")
    # 2016's face-to-face registration closed on 5 July 2016, so only online courses are offered: a 6-hour
    # required course closes the required gap, a 2-hour elective the rest of the public one.
    assert re.findall(r'data-course="([^"]+)"', html) == ["GX16-W01", "GX16-W15"]
    item = re.search(r'data-course="GX16-W01">(.*?)</li>', html, re.S).group(1)
    assert "树立五大发展理念推进全面深化改革" in item and "6 学时" in item and "网络培训" in item
    assert "公需科目（必修）" in item


# --- who may open which page ------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client, mine):
    response = client.get("/my/hours/")
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("role", [Role.COUNTY_BUREAU, Role.CITY_BUREAU, Role.SYSTEM_ADMIN])
def test_my_pages_are_for_trainees_only(client, kaifeng, role):
    region = {Role.COUNTY_BUREAU: "410202", Role.CITY_BUREAU: "410200"}.get(role)
    user = f.UserFactory(role=role, region=Region.objects.get(code=region) if region else None)
    client.force_login(user)
    assert client.get("/my/hours/").status_code == 404
    assert client.get("/my/hours/2016/").status_code == 404


def test_a_trainee_cannot_open_another_persons_hours(client, trainee, mine, theirs):
    client.force_login(trainee)
    assert client.get(f"/people/{theirs.pk}/hours/2016/").status_code == 404
    html = page(client, trainee, f"/people/{mine.pk}/hours/2016/")  # their own, masked
    assert mine.masked_id in html and mine.id_number not in html


def test_county_bureau_sees_its_county_only(client, county_bureau, mine, theirs):
    short_of_eight(mine)
    html = page(client, county_bureau, f"/people/{mine.pk}/hours/2016/")
    assert "钱学时 的学时" in html
    assert f'data-id-number>{mine.id_number}<' in html  # a bureau sees the full ID number
    assert bar(html, "total") == ("82", "90") and "还差 8 学时" in html
    assert 'name="as_of"' in html
    client.force_login(county_bureau)
    assert client.get(f"/people/{theirs.pk}/hours/2016/").status_code == 404
    assert client.get("/people/999999/hours/2016/").status_code == 404


def test_base_staff_see_nobody_here(client, mine):
    user = f.UserFactory(role=Role.BASE_STAFF, base=TrainingBase.objects.get(code="kf-kfdx"), is_staff=False)
    client.force_login(user)
    assert client.get(f"/people/{mine.pk}/hours/2016/").status_code == 404


def test_as_of_shows_what_was_known_that_day(client, county_bureau, mine):
    short_of_eight(mine)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    html = page(client, county_bureau, f"/people/{mine.pk}/hours/2016/?as_of={yesterday:%Y-%m-%d}")
    assert f'data-as-of="{yesterday:%Y-%m-%d}"' in html
    assert bar(html, "total") == ("0", "90") and "本年度暂无已认证的学时记录" in html
    assert f'href="/people/{mine.pk}/hours/2016/?as_of={yesterday:%Y-%m-%d}"' in html  # the picker keeps the day

    html = page(client, county_bureau, f"/people/{mine.pk}/hours/2016/?as_of=2016-13-40")
    assert "日期格式应为 YYYY-MM-DD" in html and bar(html, "total") == ("82", "90")


def test_years_outside_the_ledger_range_are_not_found(client, trainee, county_bureau, mine):
    client.force_login(trainee)
    assert client.get("/my/hours/1800/").status_code == 404
    client.force_login(county_bureau)
    assert client.get(f"/people/{mine.pk}/hours/9999/").status_code == 404


def test_nav_and_home_link_to_my_hours_for_trainees_only(client, trainee, county_bureau):
    home = page(client, trainee, "/")
    assert home.count('href="/my/hours/"') == 3  # the nav item, the home button and the link list
    assert 'href="/my/hours/" aria-current="page"' in page(client, trainee, "/my/hours/2016/")
    assert 'href="/my/hours/"' not in page(client, county_bureau, "/")


def test_page_renders_in_english(client, trainee, mine):
    short_of_eight(mine)
    client.cookies["django_language"] = "en"  # the language switch's choice
    html = page(client, trainee, "/my/hours/2016/")
    assert '<html lang="en">' in html
    assert "My hours" in html and "Status" in html
    assert "8 hours short in total; 8 public-subject hours missing, of which 4 required" in html
    assert "82 / 90 hours" in html
    assert "may not be hired or re-hired into a professional post" in html
    assert "Courses that would close the gap" in html
    assert "还差" not in html and "我的学时" not in html and "学时记录" not in html


# --- the suggestion rule (pure) ---------------------------------------------------------------------------------


def ids(offers):
    return [o.id for o in offers]


REQ, ELE, PRO = "public_required", "public_elective", "professional"


def test_required_gap_is_filled_first_with_required_courses():
    courses = [Offer(1, ELE, D(8)), Offer(2, PRO, D(20)), Offer(3, REQ, D(4))]
    assert ids(suggest(Gaps(public_required=D(4), public=D(8), total=D(8)), courses)) == [3, 1]


def test_required_courses_top_up_the_public_gap_when_electives_run_out():
    courses = [Offer(1, REQ, D(6)), Offer(2, REQ, D(6)), Offer(3, ELE, D(2))]
    picked = suggest(Gaps(public_required=D(6), public=D(14), total=D(14)), courses)
    assert ids(picked) == [1, 3, 2]


def test_fewest_courses_in_simple_cases():
    pro = [Offer(i, PRO, D(h)) for i, h in enumerate((8, 8, 8, 12, 12, 24), start=1)]
    assert ids(suggest(Gaps(total=D(24)), pro)) == [6]  # one 24-hour course, not three 8-hour ones
    assert ids(suggest(Gaps(total=D(20)), pro)) == [6]
    # without the 24-hour course two are the least, and 8 + 12 fits 20 exactly where 12 + 12 would overshoot
    assert ids(suggest(Gaps(total=D(20)), pro[:5])) == [1, 4]
    # among the fewest, the one with the least hours beyond the gap
    assert ids(suggest(Gaps(public=D(4), total=D(4)), [Offer(1, ELE, D(8)), Offer(2, ELE, D(4))])) == [2]
    picked = suggest(Gaps(total=D(20)), [Offer(i, PRO, D(h)) for i, h in enumerate((4, 4, 4, 4, 4, 12, 10), 1)])
    assert sorted(o.hours for o in picked) == [10, 12]


@pytest.mark.parametrize("seed", range(40))
def test_fewest_matches_brute_force_and_never_repeats(seed):
    import itertools
    import random

    rnd = random.Random(seed)
    pool = [Offer(i, PRO, D(rnd.choice((2, 3, 4, 6, 8, 12, 16, 24)))) for i in range(rnd.randint(1, 8))]
    need = D(rnd.randint(1, 60))
    picked = suggest(Gaps(total=need), pool)
    assert len(ids(picked)) == len(set(ids(picked)))
    best = next((k for k in range(1, len(pool) + 1)
                 if any(sum(o.hours for o in c) >= need for c in itertools.combinations(pool, k))), None)
    if best is None:  # the catalogue cannot close it: every course helps
        assert len(picked) == len(pool)
    else:
        assert len(picked) == best and sum(o.hours for o in picked) >= need


def test_no_course_is_suggested_twice():
    same = Offer(1, REQ, D(6))
    picked = suggest(Gaps(public_required=D(18), public=D(26), total=D(90)),
                     [same, same, Offer(2, REQ, D(6)), Offer(3, ELE, D(4)), Offer(4, PRO, D(24)),
                      Offer(4, PRO, D(24))])
    assert len(ids(picked)) == len(set(ids(picked))) == 4


def test_nothing_is_suggested_when_compliant():
    assert suggest(Gaps(), [Offer(1, REQ, D(6)), Offer(2, PRO, D(24))]) == []


def test_professional_courses_of_the_persons_industry_come_first():
    own, general, other = Offer(1, PRO, D(12), rank=0), Offer(2, PRO, D(24), rank=1), Offer(3, PRO, D(24), rank=2)
    assert ids(suggest(Gaps(total=D(12)), [other, general, own])) == [1]
    assert ids(suggest(Gaps(total=D(30)), [other, general, own])) == [1, 2]


def test_a_professional_minimum_is_filled_even_when_the_total_is_met_otherwise():
    picked = suggest(Gaps(total=D(4), professional=D(20)), [Offer(1, PRO, D(24)), Offer(2, PRO, D(8))])
    assert ids(picked) == [1]


def test_remaining_says_what_the_catalogue_cannot_close():
    gaps = Gaps(public_required=D(4), public=D(8), total=D(30))
    picked = suggest(gaps, [Offer(1, REQ, D(4)), Offer(2, ELE, D(4)), Offer(3, PRO, D(12))])
    assert ids(picked) == [1, 2, 3]
    assert remaining(gaps, picked) == Gaps(total=D(10))
    assert remaining(gaps, suggest(gaps, [*picked, Offer(4, PRO, D(10))])) == Gaps()


def test_gaps_come_from_the_compliance_result():
    result = compliance.evaluate(
        year=2016, level="intermediate", requirement=compliance.Requirement(D(90), D(26), D(18)),
        totals=compliance.Totals(D(14), D(4), D(64)))
    assert Gaps.of(result) == Gaps(public_required=D(4), public=D(8), total=D(8))


def test_required_hours_beyond_the_required_gap_serve_the_public_gap():
    courses = [Offer(1, REQ, D(4)), Offer(2, REQ, D(8)), Offer(3, ELE, D(4))]
    assert ids(suggest(Gaps(public_required=D(4), public=D(8), total=D(8)), courses)) == [2]
    # …but not beyond what any gap can use: then the smaller course is enough
    assert ids(suggest(Gaps(public_required=D(4), public=D(4), total=D(4)), courses)) == [1]


def test_the_selector_skips_courses_already_taken_inactive_or_of_another_year(mine):
    from apps.ledger import selectors
    from apps.ledger.suggestions import suggest_for_person

    Course.objects.filter(year=2016, code__in=["GX16-F02", "GX16-F03", "GX16-F04", "GX16-W01", "GX16-W02"]) \
        .update(is_active=False)
    f.CourseFactory(code="GX17-R", category=REQ, hours=8, year=2017)
    code = {c.code: c.pk for c in Course.objects.filter(year=2016)}
    record(entry(mine, "public_required", 8, course_id=code["GX16-F01"]), entry(mine, "public_required", 6),
           entry(mine, "public_elective", 4), entry(mine, "professional", 40),
           entry(mine, "professional", 12, course_id=code["ZY16-WS02"]))
    result = selectors.person_compliance(person=mine, year=2016)
    assert Gaps.of(result) == Gaps(public_required=D(4), public=D(8), total=D(20))
    # F01 and WS02 are on record, the other large required courses are inactive, GX17-R is another year's;
    # the professional course is the person's own industry (health), not the larger ones of other industries.
    picked = suggest_for_person(person=mine, result=result, year=2016, today=datetime.date(2016, 7, 5))
    assert [c.code for c in picked] == ["GX16-W03", "GX16-W11", "ZY16-WS01"]
    # After the face-to-face registration deadline (W2: 5 July 2016) only online courses are suggested.
    late = suggest_for_person(person=mine, result=result, year=2016, today=datetime.date(2016, 7, 6))
    assert all(c.mode == "online" for c in late) and "ZY16-WS01" not in [c.code for c in late]
    picked = suggest_courses(result=result, year=2016, industry_id=mine.unit.industry_id,
                             exclude_course_ids=[code["GX16-W03"]])
    # with only W03 left out, F01's 8 hours close both public gaps and WS02's 12 the rest of the total
    assert [c.code for c in picked] == ["GX16-F01", "ZY16-WS02"]


def test_the_page_reads_a_fixed_number_of_queries(client, trainee, mine, django_assert_max_num_queries):
    course = Course.objects.get(year=2016, code="GX16-F01")
    few = record(*[entry(mine, "public_required", 1, course_id=course.pk) for _ in range(2)])
    client.force_login(trainee)
    with django_assert_max_num_queries(40) as few_queries:
        client.get("/my/hours/2016/")
    many = record(*[entry(mine, "public_elective", 1, course_id=course.pk) for _ in range(30)])
    with transaction.atomic():
        for e in (*few, *many[:10]):
            services.entry_reverse(entry_id=e.pk, reason="测试")
    with django_assert_max_num_queries(len(few_queries)):
        client.get("/my/hours/2016/")
