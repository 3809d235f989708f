"""Bad input to the registry is refused with a message naming the field, and nothing is saved."""
import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.models import Role, User
from apps.bases.models import CountyDelegation
from apps.personnel.models import Person, TitleHolding

from . import factories as f


def test_person_derives_gender_and_birth_date_from_the_id(unit):
    p = Person(id_number="11010519491231002x", name="测试", unit=unit)
    p.full_clean()
    assert (p.id_number, p.gender, p.birth_date) == ("11010519491231002X", "F", datetime.date(1949, 12, 31))


def test_person_with_a_wrong_check_digit_is_refused_naming_the_field(unit):
    p = Person(id_number="110105194912310021", name="测试", unit=unit)
    with pytest.raises(ValidationError) as exc:
        p.full_clean()
    assert "id_number" in exc.value.message_dict
    assert "校验位" in exc.value.message_dict["id_number"][0]
    assert not Person.objects.exists()


def test_person_id_number_is_unique(person):
    twin = Person(id_number=person.id_number, name="另一人", unit=person.unit)
    with pytest.raises(ValidationError) as exc:
        twin.full_clean()
    assert "id_number" in exc.value.message_dict


def test_overlapping_title_history_is_refused(person):
    f.TitleHoldingFactory(person=person, level="junior", obtained_on=datetime.date(2012, 7, 1))
    clash = TitleHolding(person=person, level="intermediate", obtained_on=datetime.date(2012, 7, 1))
    with pytest.raises(ValidationError) as exc:
        clash.full_clean()
    assert "职称记录重叠" in str(exc.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        clash.save()
    assert person.titles.count() == 1


def test_promotion_must_go_up(person):
    from apps.personnel.models import PromotionApplication

    app = PromotionApplication(person=person, from_level="senior_deputy", to_level="intermediate", year=2016)
    with pytest.raises(ValidationError) as exc:
        app.full_clean()
    assert "to_level" in exc.value.message_dict


def test_unit_with_a_wrong_credit_code_is_refused(county):
    unit = f.UnitFactory.build(region=county, credit_code="91110000600037341N")
    unit.industry.save()
    with pytest.raises(ValidationError) as exc:
        unit.full_clean()
    assert "credit_code" in exc.value.message_dict


def test_delegation_to_a_county_level_base_is_refused(county, other_county):
    county_base = f.TrainingBaseFactory(level="county", region=other_county, approved_by=other_county)
    delegation = CountyDelegation(county=county, base=county_base, since=datetime.date(2016, 1, 1))
    with pytest.raises(ValidationError) as exc:
        delegation.full_clean()
    assert "base" in exc.value.message_dict
    assert "市级基地" in exc.value.message_dict["base"][0]


def test_delegation_to_a_city_base_is_accepted(county, base):
    delegation = CountyDelegation(county=county, base=base, since=datetime.date(2016, 1, 1))
    delegation.full_clean()
    delegation.save()
    assert base.delegations.get().county == county


def test_county_level_base_must_sit_in_a_county(city):
    b = f.TrainingBaseFactory.build(level="county", region=city, approved_by=city)
    with pytest.raises(ValidationError) as exc:
        b.full_clean()
    assert "region" in exc.value.message_dict


@pytest.mark.parametrize("role, org_field", [
    (Role.TRAINEE, None), (Role.UNIT_ADMIN, None), (Role.COUNTY_BUREAU, None), (Role.BASE_STAFF, None),
])
def test_a_role_without_its_organisation_is_refused_by_the_database(db, role, org_field):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username=f"x-{role}", role=role)


def test_a_county_bureau_user_must_hold_a_county(city):
    user = User(username="wrong", role=Role.COUNTY_BUREAU, region=city)
    with pytest.raises(ValidationError) as exc:
        user.full_clean()
    assert "region" in exc.value.message_dict


def test_superuser_is_a_system_admin(db):
    u = User.objects.create_superuser("root", "root@example.com", "Kaifeng-2016!")
    assert u.role == Role.SYSTEM_ADMIN
