"""R6 eligibility check: per-year answers, clear refusals that leak nothing, and a log row for every lookup."""
import datetime
import json
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.eligibility.models import EligibilityLookup
from apps.ledger import services as ledger
from apps.orgs.models import Region

from . import factories as f

UNKNOWN_ID = "11010519491231002X"  # valid, and nobody in the database
BAD_CHECK_ID = "110105194912310021"
NOT_FOUND = "未找到该身份证号对应的人员，或不在您的查询范围内"
R6_CODES = ["hiring", "title", "registration", "expert", "awards"]


def _hours(person, professional: str, key: str) -> None:
    with transaction.atomic():
        ledger.entries_record(entries=[
            ledger.EntryInput(person_id=person.pk, category=c, hours=D(h), completed_on=datetime.date(2016, 5, 1),
                              source="migration", source_key=f"{key}-{c}", organiser="city", course_title="培训")
            for c, h in (("public_required", "18"), ("public_elective", "8"), ("professional", professional))])


@pytest.fixture
def world(kaifeng):
    county, other_county = Region.objects.get(code="410202"), Region.objects.get(code="410221")
    unit, neighbour, other_unit = (f.UnitFactory(region=county, name="龙亭区人民医院"),
                                   f.UnitFactory(region=county, name="龙亭区中学"), f.UnitFactory(region=other_county))
    done = f.PersonFactory(unit=unit, name="钱达标")
    short = f.PersonFactory(unit=unit, name="孙差半")
    neighbour_person = f.PersonFactory(unit=neighbour, name="周邻校")
    theirs = f.PersonFactory(unit=other_unit, name="吴外县")
    for p in (done, short, neighbour_person, theirs):
        f.TitleHoldingFactory(person=p, level="intermediate", obtained_on=datetime.date(2011, 1, 1))
    _hours(done, "64", "done")      # 18 + 8 + 64 = 90: exactly the requirement
    _hours(short, "63.5", "short")  # 89.5: half an hour short
    _hours(theirs, "64", "theirs")
    base = f.TrainingBaseFactory(region=county.parent, approved_by=county.parent)
    users = {
        Role.SYSTEM_ADMIN: f.UserFactory(role=Role.SYSTEM_ADMIN),
        Role.CITY_BUREAU: f.UserFactory(role=Role.CITY_BUREAU, region=county.parent),
        Role.COUNTY_BUREAU: f.UserFactory(role=Role.COUNTY_BUREAU, region=county),
        Role.UNIT_ADMIN: f.UserFactory(role=Role.UNIT_ADMIN, unit=unit),
        Role.TRAINEE: f.UserFactory(role=Role.TRAINEE, person=done, is_staff=False),
        Role.BASE_STAFF: f.UserFactory(role=Role.BASE_STAFF, base=base),
        Role.INDUSTRY_DEPT: f.UserFactory(role=Role.INDUSTRY_DEPT,
                                          department=f.IndustryDepartmentFactory(region=county.parent)),
    }
    return {"done": done, "short": short, "neighbour": neighbour_person, "theirs": theirs, "users": users}


def ask(user, id_number: str, years: str | None = "2016"):
    client = APIClient()
    client.force_authenticate(user)
    query = {"id_number": id_number}
    if years is not None:
        query["years"] = years
    return client.get("/api/v1/eligibility/", query)


def last_log() -> EligibilityLookup:
    return EligibilityLookup.objects.order_by("-pk").first()


# --- R6 per year ------------------------------------------------------------------------------------------------


def test_90_hours_is_compliant_and_bars_nothing(world):
    r = ask(world["users"][Role.CITY_BUREAU], world["done"].id_number)
    assert r.status_code == 200
    data = r.json()
    assert data["eligible_all_years"] is True
    [year] = data["years"]
    assert year["year"] == 2016 and year["status"] == "compliant" and year["barred"] == []
    assert year["shortfalls"] == {} and year["reasons"] == ["已完成本年度继续教育学时要求"]
    assert data["person"] == {"name": "钱达标", "id_number": world["done"].id_number, "unit": "龙亭区人民医院"}


def test_89_5_hours_is_not_compliant_and_bars_the_r6_actions(world):
    data = ask(world["users"][Role.COUNTY_BUREAU], world["short"].id_number).json()
    assert data["eligible_all_years"] is False
    [year] = data["years"]
    assert year["status"] == "not_compliant"
    assert year["shortfalls"] == {"total": "0.5"}
    assert year["reasons"] == ["总学时要求 90 学时，已完成 89.5 学时，还差 0.5 学时"]
    assert [b["code"] for b in year["barred"]] == R6_CODES
    assert year["barred"][0]["label"] == "聘用/续聘专业技术岗位"


def test_a_year_without_policy_is_unknown_with_the_reason_not_an_error(world):
    r = ask(world["users"][Role.CITY_BUREAU], world["done"].id_number, "2015-2016")
    assert r.status_code == 200
    data = r.json()
    assert [(y["year"], y["status"]) for y in data["years"]] == [(2015, "unknown"), (2016, "compliant")]
    assert "2015 年度没有继续教育政策" in data["years"][0]["reasons"][0]
    assert data["years"][0]["barred"] == [] and data["eligible_all_years"] is False
    log = last_log()
    assert (log.outcome, log.person, log.years) == ("found", world["done"], "2015-2016")


def test_no_years_means_the_last_complete_year(world):
    data = ask(world["users"][Role.CITY_BUREAU], world["done"].id_number, years=None).json()
    last_year = timezone.localdate().year - 1
    assert [y["year"] for y in data["years"]] == [last_year]
    assert last_log().years == str(last_year)


def test_english_reasons_come_with_the_chinese(world):
    year = ask(world["users"][Role.CITY_BUREAU], world["short"].id_number).json()["years"][0]
    assert year["reasons_en"] == ["total hours: 90 required, 89.5 done, 0.5 missing"]


# --- bad questions: clear errors, logged, nothing leaked ---------------------------------------------------------


def test_an_id_number_failing_its_check_is_refused_and_logged_masked(world):
    r = ask(world["users"][Role.CITY_BUREAU], BAD_CHECK_ID)
    assert r.status_code == 400
    body = r.json()
    assert body["field"] == "id_number" and "校验位" in body["detail"]
    log = last_log()
    assert log.outcome == "invalid" and log.person is None and log.channel == "api"
    assert log.id_number_masked == "110105********0021"
    stored = json.dumps(list(EligibilityLookup.objects.values()), default=str)
    assert BAD_CHECK_ID not in stored


@pytest.mark.parametrize("years, fragment", [
    ("1997-2016", "一次最多查询 5 个年度"),
    ("2016-2014", "起始年度"),
    ("16", "2014-2016"),
    (str(datetime.date.today().year + 1), "尚未开始"),
])
def test_bad_years_are_refused_with_a_clear_message(world, years, fragment):
    r = ask(world["users"][Role.CITY_BUREAU], world["done"].id_number, years)
    assert r.status_code == 400
    assert r.json()["field"] == "years" and fragment in r.json()["detail"]
    log = last_log()
    assert log.outcome == "invalid" and log.person is None and log.years == years
    assert log.id_number_masked == world["done"].masked_id


def test_a_person_of_another_county_is_answered_exactly_like_an_unknown_id(world):
    county_user = world["users"][Role.COUNTY_BUREAU]
    other = ask(county_user, world["theirs"].id_number)
    unknown = ask(county_user, UNKNOWN_ID)
    assert other.status_code == unknown.status_code == 404
    assert other.json() == unknown.json()
    assert other.json()["detail"] == NOT_FOUND
    logs = list(EligibilityLookup.objects.order_by("pk"))
    assert [(x.outcome, x.person) for x in logs] == [("not_found", None), ("not_found", None)]
    assert logs[0].id_number_masked == world["theirs"].masked_id
    # The city bureau's scope covers both counties.
    assert ask(world["users"][Role.CITY_BUREAU], world["theirs"].id_number).status_code == 200


def test_a_unit_admin_asks_only_about_its_own_people(world):
    unit_admin = world["users"][Role.UNIT_ADMIN]
    assert ask(unit_admin, world["done"].id_number).status_code == 200
    assert ask(unit_admin, world["neighbour"].id_number).json()["detail"] == NOT_FOUND


@pytest.mark.parametrize("role, status", [
    (Role.SYSTEM_ADMIN, 200), (Role.CITY_BUREAU, 200), (Role.COUNTY_BUREAU, 200), (Role.UNIT_ADMIN, 200),
    (Role.TRAINEE, 403), (Role.BASE_STAFF, 403), (Role.INDUSTRY_DEPT, 403),
])
def test_who_may_ask(world, role, status):
    assert ask(world["users"][role], world["done"].id_number).status_code == status
    assert EligibilityLookup.objects.count() == (1 if status == 200 else 0)


def test_anonymous_is_refused():
    assert APIClient().get("/api/v1/eligibility/", {"id_number": UNKNOWN_ID}).status_code in (401, 403)


def test_every_lookup_is_logged_with_who_whom_when_and_where(world):
    user = world["users"][Role.COUNTY_BUREAU]
    ask(user, world["done"].id_number)
    ask(user, UNKNOWN_ID)
    ask(user, "4102")
    rows = list(EligibilityLookup.objects.order_by("pk"))
    assert [r.outcome for r in rows] == ["found", "not_found", "invalid"]
    assert all(r.user == user and r.ip == "127.0.0.1" and r.at for r in rows)
    assert rows[0].person == world["done"] and rows[0].id_number_masked == world["done"].masked_id
    assert rows[1].id_number_masked == "110105********002X"
    assert rows[2].id_number_masked == "****"


# --- the pages --------------------------------------------------------------------------------------------------


def test_the_page_shows_each_year_with_reasons_and_barred_actions(client, world):
    client.force_login(world["users"][Role.COUNTY_BUREAU])
    assert client.get("/eligibility/").status_code == 200
    r = client.post("/eligibility/", {"id_number": world["short"].id_number, "years": "2015-2016"})
    html = r.content.decode()
    assert r.status_code == 200
    assert 'data-year="2016" data-status="not_compliant"' in html
    assert 'data-year="2015" data-status="unknown"' in html
    assert "还差 0.5 学时" in html and 'data-barred="awards"' in html and "申报评奖" in html
    assert last_log().channel == "page"


def test_the_page_refuses_the_same_way_as_the_api(client, world):
    client.force_login(world["users"][Role.COUNTY_BUREAU])
    r = client.post("/eligibility/", {"id_number": world["theirs"].id_number, "years": "2016"})
    assert r.status_code == 404 and NOT_FOUND in r.content.decode()
    r = client.post("/eligibility/", {"id_number": BAD_CHECK_ID, "years": "2016"})
    assert r.status_code == 400 and "校验位" in r.content.decode()
    assert [x.outcome for x in EligibilityLookup.objects.order_by("pk")] == ["not_found", "invalid"]


@pytest.mark.parametrize("role", [Role.TRAINEE, Role.BASE_STAFF, Role.INDUSTRY_DEPT])
def test_the_pages_are_closed_to_other_roles(client, world, role):
    client.force_login(world["users"][role])
    assert client.get("/eligibility/").status_code == 403
    assert client.post("/eligibility/", {"id_number": world["done"].id_number}).status_code == 403
    assert client.get("/eligibility/log/").status_code == 403
    assert not EligibilityLookup.objects.exists()


def test_the_city_bureau_sees_every_lookup_and_searches_them(client, world):
    county_user, city_user = world["users"][Role.COUNTY_BUREAU], world["users"][Role.CITY_BUREAU]
    ask(county_user, world["done"].id_number)
    ask(city_user, world["theirs"].id_number)
    client.force_login(city_user)
    html = client.get("/eligibility/log/").content.decode()
    assert html.count("data-lookup=") == 2
    html = client.get("/eligibility/log/", {"q": world["done"].id_number}).content.decode()
    assert html.count("data-lookup=") == 1 and "钱达标" in html
    html = client.get("/eligibility/log/", {"user": county_user.username}).content.decode()
    assert html.count("data-lookup=") == 1
    today = timezone.localdate()
    assert client.get("/eligibility/log/", {"from": today.isoformat()}).content.decode().count("data-lookup=") == 2
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    assert client.get("/eligibility/log/", {"from": tomorrow}).content.decode().count("data-lookup=") == 0


def test_others_see_only_their_own_lookups(client, world):
    county_user = world["users"][Role.COUNTY_BUREAU]
    ask(county_user, world["done"].id_number)
    ask(world["users"][Role.CITY_BUREAU], world["theirs"].id_number)
    client.force_login(county_user)
    html = client.get("/eligibility/log/").content.decode()
    assert html.count("data-lookup=") == 1 and "钱达标" in html and "吴外县" not in html
    assert world["theirs"].id_number not in html


# --- the API schema ---------------------------------------------------------------------------------------------


def test_the_api_schema_still_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/eligibility/:" in text and "eligible_all_years" in text


def test_the_log_is_read_only_in_the_admin(client, world):
    ask(world["users"][Role.COUNTY_BUREAU], world["done"].id_number)
    client.force_login(world["users"][Role.CITY_BUREAU])
    r = client.get("/admin/eligibility/eligibilitylookup/")
    assert r.status_code == 200 and "钱达标" in r.content.decode()
    assert client.get("/admin/eligibility/eligibilitylookup/add/").status_code == 403


def test_a_pasted_paragraph_is_logged_masked_and_within_the_column(world):
    text = "41020219900101001" + "9" * 300
    r = ask(world["users"][Role.CITY_BUREAU], text)
    assert r.status_code == 400 and "18 位" in r.json()["detail"]
    log = last_log()
    assert len(log.id_number_masked) == 18 and log.id_number_masked.startswith("410202********")


def test_the_log_pages_keep_the_filters(client, world):
    user = world["users"][Role.CITY_BUREAU]
    EligibilityLookup.objects.bulk_create([
        EligibilityLookup(user=user, person=world["done"], id_number_masked=world["done"].masked_id, years="2016",
                          outcome="found", channel="api") for _ in range(51)])
    client.force_login(user)
    html = client.get("/eligibility/log/", {"user": user.username, "from": "2000-01-02"}).content.decode()
    assert f"?user={user.username}&amp;from=2000-01-02&amp;page=2" in html
