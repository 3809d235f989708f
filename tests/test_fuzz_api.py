"""Schemathesis against the whole /api/v1/ in-process, as every role, with a populated registry and ledger.

The schema is the one /api/schema/ serves (drf-spectacular, built in-process). Valid and invalid requests
(schemathesis' positive and negative modes, fuzzing phase) are each sent once per role, with that role's token, to
the real WSGI application. Every response must be: no 5xx, a status code the schema documents, the documented
content type, and a body matching the documented schema. Generated ids rarely hit a row, so hooks swap in real
ids (the caller's own scope and others'), real years, ID numbers, filters and a valid completions body about half
the time.

Bounded for CI: FUZZ_EXAMPLES examples per operation (each sent as all 7 roles), derandomized, no deadline.
"""
import datetime
import json
import os
from decimal import Decimal as D

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.models import Role

from . import factories as f

# Per operation; every example is sent as each of the 7 roles. FUZZ_EXAMPLES=200 for a deeper run by hand.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _openapi() -> dict:
    """The schema /api/schema/ serves, built in-process (no database needed) so tests can be generated from it
    at collection time; `test_served_schema_is_the_fuzzed_one` checks the served one is the same."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True),
                                                   renderer_context={}))


APP = WSGIHandler()
schema = schemathesis.openapi.from_dict(_openapi(), config=schemathesis.Config.from_dict({
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    "generation": {"mode": "all", "with-security-parameters": False},
}))
schema.app = APP

# Filled by the `api_world` fixture before any example is drawn: real values the hooks mix into generated cases.
KNOWN: dict[str, list[dict]] = {}
KNOWN_QUERIES: dict[str, list[dict]] = {}
KNOWN_BODIES: dict[str, list[dict]] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    known = KNOWN.get(context.operation.path) if context.operation else None
    if not known:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.sampled_from(known))


@schema.hook
def flatmap_query(context, query):
    known = list(KNOWN_QUERIES.get(context.operation.path, ())) if context.operation else []
    if query and "page" in query:
        known.append({"page": 1})  # a random page number is past the end (404) almost always
    if not known:
        return st.just(query)
    return st.one_of(st.just(query), st.sampled_from(known).map(lambda q: {**(query or {}), **q}))


@schema.hook
def flatmap_body(context, body):
    known = KNOWN_BODIES.get(context.operation.path) if context.operation else None
    if not known:
        return st.just(body)
    return st.one_of(st.just(body), st.sampled_from(known))


@pytest.fixture
def wsgi_in_test_transaction():
    """Django's WSGI handler closes the connection around each request (close_old_connections); inside the test's
    transaction that would throw the test data away. Django's own test client disconnects it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_world(kaifeng, wsgi_in_test_transaction):
    """The Kaifeng registry with people in two counties and the city, hours, a promotion, a delegation and one
    user with a token per role."""
    from rest_framework.authtoken.models import Token

    from apps.bases.models import TrainingBase
    from apps.catalog.models import Course, YearPolicy
    from apps.ledger import services
    from apps.orgs.models import Industry, Region as R

    city, county, other = (R.objects.get(code=c) for c in ("410200", "410202", "410221"))
    unit, other_unit, city_unit = f.UnitFactory(region=county), f.UnitFactory(region=other), f.UnitFactory(region=city)
    mine = f.PersonFactory(unit=unit, name="钱达标")
    theirs = f.PersonFactory(unit=other_unit, name="孙外县")
    city_person = f.PersonFactory(unit=city_unit, name="赵市属")
    untitled = f.PersonFactory(unit=unit, name="钱无职称")  # no title on record: compliance "unknown"
    for p, level in ((mine, "intermediate"), (theirs, "junior"), (city_person, "senior_deputy")):
        f.TitleHoldingFactory(person=p, level=level, obtained_on=datetime.date(2011, 1, 1))
    f.PromotionApplicationFactory(person=mine)
    base = TrainingBase.objects.get(code="kf-kfdx")
    online = TrainingBase.objects.get(code="kf-online")
    delegation = f.CountyDelegationFactory(county=county, base=base)
    department = f.IndustryDepartmentFactory(region=city, name="开封市卫生局")  # the units' industry (卫生)
    users = {
        Role.SYSTEM_ADMIN: f.UserFactory(role=Role.SYSTEM_ADMIN, is_superuser=True),
        Role.CITY_BUREAU: f.UserFactory(role=Role.CITY_BUREAU, region=city),
        Role.COUNTY_BUREAU: f.UserFactory(role=Role.COUNTY_BUREAU, region=county),
        Role.UNIT_ADMIN: f.UserFactory(role=Role.UNIT_ADMIN, unit=unit),
        Role.BASE_STAFF: f.UserFactory(role=Role.BASE_STAFF, base=online, is_staff=False),
        Role.INDUSTRY_DEPT: f.UserFactory(role=Role.INDUSTRY_DEPT, department=department),
        Role.TRAINEE: f.UserFactory(role=Role.TRAINEE, person=mine, is_staff=False),
    }
    course = Course.objects.get(year=2016, code="GX16-W01")
    with transaction.atomic():
        # Migrated history (no course, no recorder) and an entry with a course, recorded by the bureau.
        services.entries_record(entries=[
            services.EntryInput(person_id=mine.pk, category=c, hours=D(h), completed_on=datetime.date(2016, 5, 1),
                                source="migration", source_key=f"fuzz-{c}", base_id=base.pk, organiser="city",
                                course_title="历史培训")
            for c, h in (("public_required", 14), ("public_elective", 4), ("professional", 64))])
        services.entries_record(created_by=users[Role.CITY_BUREAU], entries=[
            services.EntryInput(person_id=theirs.pk, category=course.category, hours=D(6), course_id=course.pk,
                                completed_on=datetime.date(2016, 5, 2), source="migration", source_key="fuzz-course")])
    assert set(users) == set(Role), "a new role must be fuzzed too"
    tokens = {role: Token.objects.create(user=u).key for role, u in users.items()}

    people = [mine, theirs, city_person, untitled]
    KNOWN.clear()
    KNOWN_QUERIES.clear()
    KNOWN_BODIES.clear()
    KNOWN["/api/v1/people/{id}/"] = [{"id": p.pk} for p in people]
    KNOWN["/api/v1/people/{person_id}/compliance/"] = [{"person_id": p.pk} for p in people]
    KNOWN["/api/v1/people/{person_id}/hours/"] = [{"person_id": p.pk} for p in people]
    KNOWN["/api/v1/units/{id}/"] = [{"id": u.pk} for u in (unit, other_unit, city_unit)]
    KNOWN["/api/v1/regions/{id}/"] = [{"id": r.pk} for r in (city, county, other)]
    KNOWN["/api/v1/industries/{id}/"] = [{"id": i.pk} for i in Industry.objects.all()[:3]]
    KNOWN["/api/v1/departments/{id}/"] = [{"id": department.pk}]
    KNOWN["/api/v1/delegations/{id}/"] = [{"id": delegation.pk}]
    KNOWN["/api/v1/policies/{id}/"] = [{"id": p.pk} for p in YearPolicy.objects.all()[:3]]
    KNOWN["/api/v1/courses/{id}/"] = [{"id": c.pk} for c in Course.objects.all()[:3]]
    KNOWN["/api/v1/bases/{code}/"] = [{"code": c} for c in ("kf-kfdx", "kf-online")]
    KNOWN["/api/v1/bases/{code}/completions/"] = [{"code": c} for c in ("kf-kfdx", "kf-online")]
    row = {"record_id": "R-1", "id_number": theirs.id_number, "name": theirs.name, "course_code": "GX16-W01",
           "hours": "6", "completed_on": "2016-05-01", "passed": True}
    KNOWN_BODIES["/api/v1/bases/{code}/completions/"] = [
        {"request_id": "fuzz-1", "rows": [row]},
        {"request_id": "fuzz-2", "rows": [row, {**row, "record_id": "R-2", "hours": "0.5"}, {**row, "hours": "7"}]},
    ]
    KNOWN_QUERIES["/api/v1/people/{person_id}/compliance/"] = [{"year": 2016}, {"year": 2016, "as_of": "2016-06-01"}]
    KNOWN_QUERIES["/api/v1/people/{person_id}/hours/"] = [{"year": 2016}, {"year": 2016, "as_of": "2016-06-01"}]
    KNOWN_QUERIES["/api/v1/eligibility/"] = [{"id_number": p.id_number, "years": "2014-2016"} for p in people]
    KNOWN_QUERIES["/api/v1/people/"] = [{"unit__credit_code": unit.credit_code}, {"titles__level": "junior"}]
    KNOWN_QUERIES["/api/v1/units/"] = [{"region__code": "410202"}, {"name__icontains": "单位"}]
    yield {"tokens": tokens, "users": users, "people": people}
    KNOWN.clear()
    KNOWN_QUERIES.clear()
    KNOWN_BODIES.clear()


def _path_is_negative(case) -> bool:
    component = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
    return component is not None and component.mode.is_negative


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema_for_every_role(case, api_world):
    for role, token in api_world["tokens"].items():
        headers = {"Authorization": f"Token {token}"}
        response = case.call(headers=headers)
        # A path parameter the URL pattern refuses (a negative or fractional id, a code that is not a slug)
        # matches no route at all: Django's own 404 page answers before any API view.
        content_type = response.headers.get("content-type", [""])[0]
        if _path_is_negative(case) and response.status_code == 404 and content_type.startswith("text/html"):
            continue
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except Exception as exc:
            exc.add_note(f"as role {role}")
            raise


def test_served_schema_is_the_fuzzed_one(client, users):
    client.force_login(users[Role.CITY_BUREAU])
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert json.loads(response.content) == _openapi()
