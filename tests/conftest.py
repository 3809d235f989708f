"""Shared fixtures.

Service gating: a test marked `services` needs Redis (and maybe a Celery worker); a test marked `postgres` needs
PostgreSQL. Locally they skip with the reason when the service is absent. With REQUIRE_SERVICES=1 (set by
.ci/run) a missing service is a failure, never a skip.
"""
import os

import pytest
from django.db import connection

from apps.accounts.models import Role

from . import factories as f

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def missing_service(reason: str):
    """A service (or a program such as chromium) the test needs is absent: a skip locally, a failure in CI."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _gate_services(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        missing_service("this test needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/ce_portal")
    if request.node.get_closest_marker("services"):
        from django.conf import settings

        if not settings.REDIS_URL:
            missing_service("this test needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
        except redis.exceptions.RedisError as exc:
            missing_service(f"Redis at {settings.REDIS_URL} does not answer: {exc}")


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Each test starts as a new request would: Chinese active, nothing cached (the cache outlives the rolled-back
    database of the previous test, and a request leaves its language active in the thread)."""
    from django.core.cache import cache
    from django.utils import translation

    cache.clear()
    translation.activate("zh-hans")
    yield
    translation.deactivate()


# --- the Kaifeng world: a city, two counties, units, people, bases --------------------------------------------


@pytest.fixture
def city(db):
    province = f.RegionFactory(code="410000", name="河南省", kind="province")
    return f.RegionFactory(code="410200", name="开封市", kind="city", parent=province)


@pytest.fixture
def county(city):
    return f.RegionFactory(code="410202", name="龙亭区", kind="county", parent=city)


@pytest.fixture
def other_county(city):
    return f.RegionFactory(code="410221", name="杞县", kind="county", parent=city)


@pytest.fixture
def unit(county):
    return f.UnitFactory(region=county, name="龙亭区人民医院")


@pytest.fixture
def other_unit(other_county):
    return f.UnitFactory(region=other_county, name="杞县人民医院")


@pytest.fixture
def city_unit(city):
    return f.UnitFactory(region=city, name="开封市中心医院")


@pytest.fixture
def person(unit):
    return f.PersonFactory(unit=unit, name="王小明")


@pytest.fixture
def other_person(other_unit):
    return f.PersonFactory(unit=other_unit, name="李小红")


@pytest.fixture
def base(city):
    return f.TrainingBaseFactory(region=city, approved_by=city, code="kf-kfdx", name="开封大学")


@pytest.fixture
def other_base(city):
    return f.TrainingBaseFactory(region=city, approved_by=city, code="kf-jsxx", name="开封市建设学校")


@pytest.fixture
def department(city):
    return f.IndustryDepartmentFactory(region=city, name="开封市卫生局")


@pytest.fixture
def users(city, county, unit, person, base, department):
    """One login per role, each for its own organisation (the 'owner' side of every scoping test)."""
    return {
        Role.SYSTEM_ADMIN: f.UserFactory(username="admin", role=Role.SYSTEM_ADMIN, is_superuser=True),
        Role.CITY_BUREAU: f.UserFactory(username="city", role=Role.CITY_BUREAU, region=city),
        Role.COUNTY_BUREAU: f.UserFactory(username="county", role=Role.COUNTY_BUREAU, region=county),
        Role.UNIT_ADMIN: f.UserFactory(username="unit", role=Role.UNIT_ADMIN, unit=unit),
        Role.BASE_STAFF: f.UserFactory(username="base", role=Role.BASE_STAFF, base=base),
        Role.INDUSTRY_DEPT: f.UserFactory(username="dept", role=Role.INDUSTRY_DEPT, department=department),
        Role.TRAINEE: f.UserFactory(username="trainee", role=Role.TRAINEE, person=person, is_staff=False),
    }


@pytest.fixture
def kaifeng(db):
    """The real Kaifeng 2016 fixture (regions, bases, policy, catalogue)."""
    from django.core.management import call_command

    call_command("loaddata", "kaifeng_2016", verbosity=0)
