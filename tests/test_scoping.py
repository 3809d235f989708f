"""Each role sees only its own scope, through the visibility module, the admin and the API alike."""
import pytest
from rest_framework.test import APIClient

from apps.accounts import visibility
from apps.accounts.models import Role
from apps.bases.models import TrainingBase
from apps.orgs.models import Unit
from apps.personnel.models import Person

from . import factories as f


@pytest.fixture
def world(users, person, other_person, city_unit, base, other_base, county, other_county):
    city_person = f.PersonFactory(unit=city_unit, name="市属人员")
    county_base = f.TrainingBaseFactory(level="county", region=county, approved_by=county, code="lt-base")
    other_county_base = f.TrainingBaseFactory(level="county", region=other_county, approved_by=other_county,
                                              code="qx-base", is_active=False)
    return {"users": users, "person": person, "other_person": other_person, "city_person": city_person,
            "base": base, "other_base": other_base, "county_base": county_base,
            "other_county_base": other_county_base}


PEOPLE = {
    Role.SYSTEM_ADMIN: {"person", "other_person", "city_person"},
    Role.CITY_BUREAU: {"person", "other_person", "city_person"},
    Role.COUNTY_BUREAU: {"person"},
    Role.UNIT_ADMIN: {"person"},
    Role.TRAINEE: {"person"},
    Role.BASE_STAFF: set(),      # a base sees people only through its enrolments (enrolment app)
    Role.INDUSTRY_DEPT: set(),
}


@pytest.mark.parametrize("role", list(PEOPLE))
def test_people_visible_per_role(world, role):
    seen = set(visibility.visible(world["users"][role], Person).values_list("pk", flat=True))
    assert seen == {world[k].pk for k in PEOPLE[role]}


BASES = {
    Role.SYSTEM_ADMIN: {"base", "other_base", "county_base", "other_county_base"},
    Role.CITY_BUREAU: {"base", "other_base", "county_base", "other_county_base"},
    Role.COUNTY_BUREAU: {"county_base"},
    Role.BASE_STAFF: {"base"},
    # Everyone else sees the directory of active bases.
    Role.UNIT_ADMIN: {"base", "other_base", "county_base"},
    Role.TRAINEE: {"base", "other_base", "county_base"},
    Role.INDUSTRY_DEPT: {"base", "other_base", "county_base"},
}


@pytest.mark.parametrize("role", list(BASES))
def test_bases_visible_per_role(world, role):
    seen = set(visibility.visible(world["users"][role], TrainingBase).values_list("pk", flat=True))
    assert seen == {world[k].pk for k in BASES[role]}


def test_county_bureau_sees_bases_delegated_from_its_county(world, county):
    f.CountyDelegationFactory(county=county, base=world["other_base"])
    seen = set(visibility.visible(world["users"][Role.COUNTY_BUREAU], TrainingBase).values_list("code", flat=True))
    assert seen == {"lt-base", "kf-jsxx"}


def test_units_visible_per_role(world, unit, other_unit, city_unit, department):
    users = world["users"]
    assert set(visibility.visible(users[Role.COUNTY_BUREAU], Unit)) == {unit}
    assert set(visibility.visible(users[Role.UNIT_ADMIN], Unit)) == {unit}
    assert set(visibility.visible(users[Role.CITY_BUREAU], Unit)) == {unit, other_unit, city_unit}
    # The department's industry is the units' industry (all factory units are 卫生).
    assert set(visibility.visible(users[Role.INDUSTRY_DEPT], Unit)) == {unit, other_unit, city_unit}
    assert set(visibility.visible(users[Role.BASE_STAFF], Unit)) == set()


def test_anonymous_and_inactive_users_see_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    assert not visibility.visible(AnonymousUser(), Person).exists()
    admin = world["users"][Role.SYSTEM_ADMIN]
    admin.is_active = False
    assert not visibility.visible(admin, Person).exists()


def test_get_visible_or_404_hides_other_counties(world):
    from apps.core.errors import NotVisible

    county_user = world["users"][Role.COUNTY_BUREAU]
    assert visibility.get_visible_or_404(county_user, Person, pk=world["person"].pk) == world["person"]
    with pytest.raises(NotVisible):
        visibility.get_visible_or_404(county_user, Person, pk=world["other_person"].pk)


def test_every_api_endpoint_model_has_a_visibility_rule():
    from config.api_urls import router

    for prefix, viewset, _basename in router.registry:
        assert viewset.queryset.model._meta.label in visibility.SEE, prefix


def test_every_admin_model_has_a_visibility_rule():
    from django.contrib import admin

    ours = [m for m in admin.site._registry if m.__module__.startswith("apps.")]
    assert ours
    for model in ours:
        assert model._meta.label in visibility.SEE, model._meta.label


# --- the API ------------------------------------------------------------------------------------------------


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_api_requires_login(world):
    assert api().get("/api/v1/people/").status_code in (401, 403)


def test_county_api_lists_only_its_people_and_hides_others_as_404(world):
    client = api(world["users"][Role.COUNTY_BUREAU])
    names = [p["name"] for p in client.get("/api/v1/people/").json()["results"]]
    assert names == [world["person"].name]
    assert client.get(f"/api/v1/people/{world['other_person'].pk}/").status_code == 404
    assert client.get(f"/api/v1/people/{world['person'].pk}/").status_code == 200


def test_trainee_api_sees_only_themself_with_a_masked_id(world):
    client = api(world["users"][Role.TRAINEE])
    data = client.get("/api/v1/people/").json()["results"]
    assert [p["name"] for p in data] == [world["person"].name]
    assert data[0]["id_number"] == world["person"].masked_id
    assert "*" in data[0]["id_number"]
    assert client.get(f"/api/v1/people/{world['other_person'].pk}/").status_code == 404


def test_city_bureau_api_sees_full_ids(world):
    data = api(world["users"][Role.CITY_BUREAU]).get("/api/v1/people/").json()["results"]
    assert {p["id_number"] for p in data} == {world[k].id_number for k in ("person", "other_person", "city_person")}


def test_base_staff_api_sees_only_its_base(world):
    client = api(world["users"][Role.BASE_STAFF])
    assert [b["code"] for b in client.get("/api/v1/bases/").json()["results"]] == ["kf-kfdx"]
    assert client.get("/api/v1/bases/kf-jsxx/").status_code == 404


# --- the admin ----------------------------------------------------------------------------------------------


def test_county_admin_changelist_is_scoped(client, world):
    client.force_login(world["users"][Role.COUNTY_BUREAU])
    page = client.get("/admin/personnel/person/").content.decode()
    assert world["person"].name in page
    assert world["other_person"].name not in page
    other = client.get(f"/admin/personnel/person/{world['other_person'].pk}/change/", follow=True)
    assert world["other_person"].id_number not in other.content.decode()


def test_base_staff_admin_sees_only_its_base_and_cannot_change_people(client, world):
    client.force_login(world["users"][Role.BASE_STAFF])
    page = client.get("/admin/bases/trainingbase/").content.decode()
    assert "开封大学" in page and "开封市建设学校" not in page
    assert client.get("/admin/personnel/person/add/").status_code == 403


def test_unit_admin_person_choices_are_limited_to_its_unit(client, world, unit, other_unit):
    client.force_login(world["users"][Role.UNIT_ADMIN])
    page = client.get("/admin/personnel/person/add/")
    assert page.status_code == 200
    form_unit_field = page.context["adminform"].form.fields["unit"]
    assert set(form_unit_field.queryset) == {unit}


def test_admin_list_masks_ids_for_roles_without_need(client, world):
    # A trainee has no admin access at all.
    client.force_login(world["users"][Role.TRAINEE])
    assert client.get("/admin/personnel/person/").status_code == 302


def test_county_admin_can_place_units_only_in_its_own_county(client, world, county, other_county, city):
    client.force_login(world["users"][Role.COUNTY_BUREAU])
    page = client.get("/admin/orgs/unit/add/")
    assert set(page.context["adminform"].form.fields["region"].queryset) == {county}
    client.force_login(world["users"][Role.CITY_BUREAU])
    page = client.get("/admin/orgs/unit/add/")
    assert set(page.context["adminform"].form.fields["region"].queryset) >= {county, other_county, city}
