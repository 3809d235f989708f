"""Classes and registration: scope (B2–B5, R12), the W2 deadline, duplicates and capacity — all or nothing."""
import datetime
import threading

import pytest
from django.db import close_old_connections, connection

from apps.bases.models import TrainingBase
from apps.catalog.models import Course, IndustryPlan
from apps.core.errors import Conflict, DomainError
from apps.enrollment import services
from apps.enrollment.models import Registration, TrainingClass
from apps.orgs.models import Region

from . import factories as f

BEFORE = datetime.date(2016, 6, 1)


@pytest.fixture
def kf(kaifeng):
    return {b.code: b for b in TrainingBase.objects.all()} | {
        "longting": Region.objects.get(code="410202"), "qixian": Region.objects.get(code="410221"),
        "city": Region.objects.get(code="410200"), "F01": Course.objects.get(year=2016, code="GX16-F01")}


def person(region, level="intermediate"):
    p = f.PersonFactory(unit=f.UnitFactory(region=region))
    f.TitleHoldingFactory(person=p, level=level, obtained_on=datetime.date(2010, 1, 1))
    return p


def a_class(kf, base="kf-kfdx", capacity=30, **kw):
    return services.class_create(base=kf[base], course=kw.pop("course", kf["F01"]), code=kw.pop("code", "KD-01"),
                                 starts_on=datetime.date(2016, 7, 20), ends_on=datetime.date(2016, 7, 22),
                                 capacity=capacity, **kw)


def test_a_class_records_its_organiser_and_the_year_deadline(kf):
    c = a_class(kf)
    assert (c.organiser, c.organised_by, c.registration_deadline, c.year) == ("city", kf["city"],
                                                                             datetime.date(2016, 7, 5), 2016)


def test_a_course_outside_the_base_scope_is_refused(kf):
    with pytest.raises(DomainError) as exc:
        a_class(kf, base="kf-xzxy", course=Course.objects.get(year=2016, code="ZY16-WS01"))
    assert exc.value.rule == "B5" and "批准范围" in str(exc.value)


def test_a_professional_class_needs_an_acknowledged_plan(kf):
    course = Course.objects.get(year=2016, code="ZY16-WS01")
    with pytest.raises(DomainError) as exc:
        a_class(kf, course=course)
    assert exc.value.rule == "R12"
    plan = IndustryPlan.objects.create(department=f.IndustryDepartmentFactory(region=kf["city"]), title="卫生计划",
                                       year=2016, starts_on=datetime.date(2016, 1, 1),
                                       ends_on=datetime.date(2016, 12, 31), status="acknowledged")
    plan.courses.add(course)
    assert a_class(kf, course=course, plan=plan).plan == plan


def test_registration_is_all_or_nothing_and_names_who_and_why(kf):
    c = a_class(kf)
    city_junior = person(kf["city"], "junior")
    county_mid = person(kf["longting"])             # B3: trains at its county's base
    senior = person(kf["city"], "senior_deputy")    # 开封大学 is not approved for senior titles (B5)
    with pytest.raises(services.RegistrationRefused) as exc:
        services.registrations_add(training_class_id=c.pk, person_ids=[city_junior.pk, county_mid.pk, senior.pk],
                                   today=BEFORE)
    assert {(r.name, r.rule) for r in exc.value.refusals} == {(county_mid.name, "B3"), (senior.name, "B5")}
    assert not Registration.objects.exists()
    done = services.registrations_add(training_class_id=c.pk, person_ids=[city_junior.pk], today=BEFORE)
    assert len(done.created) == 1 and done.seats_left == 29
    with pytest.raises(services.RegistrationRefused) as exc:  # no one twice
        services.registrations_add(training_class_id=c.pk, person_ids=[city_junior.pk], today=BEFORE)
    assert "已报名" in exc.value.refusals[0].message


def test_a_delegating_county_may_use_the_city_base(kf):
    from apps.bases.models import CountyDelegation

    c = a_class(kf)
    p = person(kf["qixian"])
    with pytest.raises(services.RegistrationRefused):
        services.registrations_add(training_class_id=c.pk, person_ids=[p.pk], today=BEFORE)
    CountyDelegation.objects.create(county=kf["qixian"], base=kf["kf-kfdx"], since=datetime.date(2016, 1, 1))
    assert len(services.registrations_add(training_class_id=c.pk, person_ids=[p.pk], today=BEFORE).created) == 1


@pytest.mark.parametrize("day, ok", [(datetime.date(2016, 7, 5), True), (datetime.date(2016, 7, 6), False)])
def test_registration_closes_at_the_deadline(kf, day, ok):
    c = a_class(kf)
    p = person(kf["city"])
    if ok:
        services.registrations_add(training_class_id=c.pk, person_ids=[p.pk], today=day)
    else:
        with pytest.raises(DomainError) as exc:
            services.registrations_add(training_class_id=c.pk, person_ids=[p.pk], today=day)
        assert "2016-07-05" in str(exc.value) and exc.value.rule == "W2"
    assert Registration.objects.exists() is ok


def test_capacity_is_never_exceeded(kf):
    c = a_class(kf, capacity=2)
    people = [person(kf["city"]) for _ in range(3)]
    with pytest.raises(Conflict) as exc:
        services.registrations_add(training_class_id=c.pk, person_ids=[p.pk for p in people], today=BEFORE)
    assert "还剩 2 个名额" in str(exc.value)
    services.registrations_add(training_class_id=c.pk, person_ids=[people[0].pk, people[1].pk], today=BEFORE)
    c.refresh_from_db()
    assert c.registered == 2 and c.seats_left == 0


def test_a_county_base_trains_its_own_county(kf):
    county_base = f.TrainingBaseFactory(code="lt-1", level="county", region=kf["longting"],
                                        approved_by=kf["longting"])
    c = services.class_create(base=county_base, course=kf["F01"], code="LT-1", starts_on=datetime.date(2016, 7, 20),
                              ends_on=datetime.date(2016, 7, 21), capacity=5, organised_by=kf["longting"])
    assert c.organiser == "county"  # R5: county-organised training
    mine, other = person(kf["longting"]), person(kf["qixian"])
    services.registrations_add(training_class_id=c.pk, person_ids=[mine.pk], today=BEFORE)
    with pytest.raises(services.RegistrationRefused) as exc:
        services.registrations_add(training_class_id=c.pk, person_ids=[other.pk], today=BEFORE)
    assert exc.value.refusals[0].rule == "B3"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_unit_admins_taking_the_last_seat_at_once_one_wins(kaifeng):
    base = TrainingBase.objects.get(code="kf-kfdx")
    course = Course.objects.get(year=2016, code="GX16-F01")
    c = services.class_create(base=base, course=course, code="RACE", starts_on=datetime.date(2016, 7, 20),
                              ends_on=datetime.date(2016, 7, 20), capacity=1)
    city = Region.objects.get(code="410200")
    a, b = person(city), person(city)
    outcomes, barrier = [], threading.Barrier(2)

    def take(p):
        try:
            barrier.wait(timeout=10)
            services.registrations_add(training_class_id=c.pk, person_ids=[p.pk], today=BEFORE)
            outcomes.append("registered")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=take, args=(p,)) for p in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["class_full", "registered"]
    c.refresh_from_db()
    assert c.registered == 1 and Registration.objects.filter(training_class=c).count() == 1


def test_a_county_organises_only_at_its_own_bases_or_a_city_base_it_delegated_to(kf):
    from apps.bases.models import CountyDelegation

    with pytest.raises(DomainError) as exc:
        a_class(kf, organised_by=kf["longting"])  # 开封大学, not delegated by 龙亭区
    assert exc.value.rule == "W4"
    CountyDelegation.objects.create(county=kf["longting"], base=kf["kf-kfdx"], since=datetime.date(2016, 1, 1))
    assert a_class(kf, organised_by=kf["longting"]).organiser == "county"


def test_classes_charge_the_uniform_fee_standard(kf):
    from decimal import Decimal

    from apps.catalog.models import YearPolicy

    YearPolicy.objects.filter(year=2016).update(fee_standard=Decimal("120"))
    assert a_class(kf).fee == Decimal("120")  # the standard, unless stated
    with pytest.raises(DomainError) as exc:
        a_class(kf, code="KD-02", fee=200)
    assert exc.value.rule == "B6" and "120" in str(exc.value)
    assert a_class(kf, code="KD-03", fee="120.00").fee == Decimal("120")
