import datetime
import json
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.db import transaction
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.ledger import services
from apps.orgs.models import Region

from . import factories as f


@pytest.fixture
def people(kaifeng):
    county, other = Region.objects.get(code="410202"), Region.objects.get(code="410221")
    unit, other_unit = f.UnitFactory(region=county), f.UnitFactory(region=other)
    mine, theirs = f.PersonFactory(unit=unit, name="钱达标"), f.PersonFactory(unit=other_unit, name="孙外县")
    for p in (mine, theirs):
        f.TitleHoldingFactory(person=p, level="intermediate", obtained_on=datetime.date(2011, 1, 1))
    base = f.TrainingBaseFactory(region=Region.objects.get(code="410200"), approved_by=county.parent, code="tb-1")
    with transaction.atomic():
        services.entries_record(entries=[
            services.EntryInput(person_id=mine.pk, category=c, hours=D(h), completed_on=datetime.date(2016, 5, 1),
                                source="migration", source_key=f"k{c}", base_id=base.pk, organiser="city",
                                course_title="历史培训")
            for c, h in (("public_required", 14), ("public_elective", 4), ("professional", 64))])
    users = {
        Role.TRAINEE: f.UserFactory(role=Role.TRAINEE, person=mine, is_staff=False),
        Role.UNIT_ADMIN: f.UserFactory(role=Role.UNIT_ADMIN, unit=unit),
        Role.COUNTY_BUREAU: f.UserFactory(role=Role.COUNTY_BUREAU, region=county),
        Role.CITY_BUREAU: f.UserFactory(role=Role.CITY_BUREAU, region=county.parent),
        Role.BASE_STAFF: f.UserFactory(role=Role.BASE_STAFF, base=base),
    }
    return {"mine": mine, "theirs": theirs, "users": users}


def get(user, url):
    client = APIClient()
    client.force_authenticate(user)
    return client.get(url)


def test_compliance_api_explains_the_gap(people):
    r = get(people["users"][Role.TRAINEE], f"/api/v1/people/{people['mine'].pk}/compliance/?year=2016")
    assert r.status_code == 200
    data = r.json()
    assert data["compliant"] is False and data["title_level"] == "intermediate"
    assert data["totals"]["total"] == "82" and data["requirements"]["public"] == "26"
    assert data["summary"] == "还差 8 学时；还差 8 学时公需科目，其中必修 4 学时"
    assert {s["rule"] for s in data["shortfalls"]} == {"R1", "R2"}
    assert {c["code"] for c in data["consequences"]} >= {"hiring", "title"}
    assert "*" in data["id_number"]


@pytest.mark.parametrize("role, own, other", [
    (Role.TRAINEE, 200, 404), (Role.UNIT_ADMIN, 200, 404), (Role.COUNTY_BUREAU, 200, 404),
    (Role.CITY_BUREAU, 200, 200), (Role.BASE_STAFF, 404, 404),
])
@pytest.mark.parametrize("endpoint", ["compliance", "hours"])
def test_compliance_and_hours_are_scoped_by_role(people, role, own, other, endpoint):
    user = people["users"][role]
    assert get(user, f"/api/v1/people/{people['mine'].pk}/{endpoint}/?year=2016").status_code == own
    assert get(user, f"/api/v1/people/{people['theirs'].pk}/{endpoint}/?year=2016").status_code == other


def test_hours_list_entries_with_provenance(people):
    data = get(people["users"][Role.TRAINEE], f"/api/v1/people/{people['mine'].pk}/hours/?year=2016").json()
    assert len(data) == 3
    first = data[0]
    assert first["source"] == "migration" and first["base"] == "tb-1" and first["course_title"] == "历史培训"
    assert first["recorded_at"] and first["reverses"] is None


@pytest.mark.parametrize("query, field, fragment", [
    ("year=2015", "detail", "2015 年度没有继续教育政策"),
    ("", "year", "year"),
    ("year=abc", "year", "四位数字"),
    ("year=2016&as_of=2016-13-01", "as_of", "YYYY-MM-DD"),
])
def test_bad_queries_get_clear_messages(people, query, field, fragment):
    r = get(people["users"][Role.CITY_BUREAU], f"/api/v1/people/{people['mine'].pk}/compliance/?{query}")
    assert r.status_code == 400
    assert fragment in json.dumps(r.json()[field], ensure_ascii=False)


def test_as_of_is_accepted_by_the_api(people):
    r = get(people["users"][Role.CITY_BUREAU],
            f"/api/v1/people/{people['mine'].pk}/compliance/?year=2016&as_of=2000-01-01")
    assert r.status_code == 200 and r.json()["totals"]["total"] == "0" and r.json()["as_of"] == "2000-01-01"


def test_token_authentication_for_machine_clients(people):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=people["users"][Role.CITY_BUREAU])
    client = APIClient()
    assert client.get(f"/api/v1/people/{people['mine'].pk}/compliance/?year=2016").status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(f"/api/v1/people/{people['mine'].pk}/compliance/?year=2016").status_code == 200


def test_command_json_is_identical_to_the_api(people, capsys):
    api = get(people["users"][Role.CITY_BUREAU], f"/api/v1/people/{people['mine'].pk}/compliance/?year=2016").json()
    call_command("compliance", "--year", "2016", "--id-number", people["mine"].id_number, "--json")
    assert json.loads(capsys.readouterr().out) == api


def test_command_rejects_an_id_failing_its_check_digit():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="校验位"):
        call_command("compliance", "--year", "2016", "--id-number", "110105194912310021")
