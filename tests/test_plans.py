"""Industry plans (W3, R12): draft → filed → acknowledged, or returned with a reason and filed again; only the
city bureau decides; a department sees only its own plans; a professional class runs under an acknowledged plan."""
import datetime

import pytest
from django.urls import reverse

from apps.accounts.models import Role
from apps.bases.models import TrainingBase
from apps.catalog import services
from apps.catalog.models import Course, IndustryPlan
from apps.core.errors import DomainError, NotVisible
from apps.enrollment import services as enrollment
from apps.orgs.models import IndustryDepartment, Region

from . import factories as f

JAN, DEC = datetime.date(2016, 1, 1), datetime.date(2016, 12, 31)


@pytest.fixture
def world(kaifeng):
    health = IndustryDepartment.objects.get(name="开封市卫生和计划生育委员会")
    education = IndustryDepartment.objects.get(name="开封市教育局")
    city = Region.objects.get(code="410200")
    return {
        "health": health, "education": education,
        "ws01": Course.objects.get(year=2016, code="ZY16-WS01"),
        "ws02": Course.objects.get(year=2016, code="ZY16-WS02"),
        "jy01": Course.objects.get(year=2016, code="ZY16-JY01"), "f01": Course.objects.get(year=2016, code="GX16-F01"),
        "bureau": f.UserFactory(username="bureau", role=Role.CITY_BUREAU, region=city),
        "health_user": f.UserFactory(username="health", role=Role.INDUSTRY_DEPT, department=health, is_staff=False),
        "education_user": f.UserFactory(username="edu", role=Role.INDUSTRY_DEPT, department=education,
                                        is_staff=False),
        "base_user": f.UserFactory(username="kfdx", role=Role.BASE_STAFF,
                                   base=TrainingBase.objects.get(code="kf-kfdx"), is_staff=False),
        "county_user": f.UserFactory(username="lt", role=Role.COUNTY_BUREAU,
                                     region=Region.objects.get(code="410202")),
    }


def a_plan(world, dept="health", courses=("ws01", "ws02")):
    return services.plan_create(department=world[dept], title="2016年卫生专业科目计划", year=2016, starts_on=JAN,
                                ends_on=DEC, course_ids=[world[c].pk for c in courses], by=world[f"{dept}_user"])


def status(plan) -> str:
    plan.refresh_from_db()
    return plan.status


# --- services -----------------------------------------------------------------------------------------------------


def test_a_plan_starts_as_a_draft_with_its_courses(world):
    plan = a_plan(world)
    assert plan.status == IndustryPlan.Status.DRAFT and plan.filed_at is None
    assert set(plan.courses.all()) == {world["ws01"], world["ws02"]}


@pytest.mark.parametrize("course", ["jy01", "f01"])  # another industry's professional course; a public course
def test_a_plan_holds_only_its_industrys_professional_courses(world, course):
    with pytest.raises(DomainError) as exc:
        a_plan(world, courses=("ws01", course))
    assert exc.value.field == "courses" and world[course].code in str(exc.value)
    assert not IndustryPlan.objects.exists()


def test_a_plan_needs_a_course_and_sane_dates(world):
    with pytest.raises(DomainError):
        a_plan(world, courses=())
    with pytest.raises(DomainError) as exc:
        services.plan_create(department=world["health"], title="x", year=2016, starts_on=DEC, ends_on=JAN,
                             course_ids=[world["ws01"].pk])
    assert exc.value.field == "ends_on"


def test_file_then_acknowledge(world):
    plan = a_plan(world)
    filed = services.plan_file(plan_id=plan.pk, by=world["health_user"])
    assert filed.status == "filed" and filed.filed_at is not None
    done = services.plan_acknowledge(plan_id=plan.pk, by=world["bureau"])
    assert (done.status, done.reviewed_by) == ("acknowledged", world["bureau"]) and done.reviewed_at
    assert status(plan) == "acknowledged"
    with pytest.raises(DomainError) as exc:  # nothing moves an acknowledged plan
        services.plan_return(plan_id=plan.pk, reason="重复", by=world["bureau"])
    assert "已备案" in str(exc.value)
    with pytest.raises(DomainError):
        services.plan_file(plan_id=plan.pk, by=world["health_user"])
    assert status(plan) == "acknowledged"


def test_file_then_return_with_a_reason_then_refile(world):
    plan = a_plan(world)
    services.plan_file(plan_id=plan.pk)
    returned = services.plan_return(plan_id=plan.pk, reason="  课程学时与年度计划不符  ", by=world["bureau"])
    assert (returned.status, returned.return_reason) == ("returned", "课程学时与年度计划不符")
    services.plan_file(plan_id=plan.pk)
    assert status(plan) == "filed"
    services.plan_acknowledge(plan_id=plan.pk, by=world["bureau"])
    assert status(plan) == "acknowledged"


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_return_without_a_reason_is_refused(world, reason):
    plan = a_plan(world)
    services.plan_file(plan_id=plan.pk)
    with pytest.raises(DomainError) as exc:
        services.plan_return(plan_id=plan.pk, reason=reason, by=world["bureau"])
    assert exc.value.code == "reason_required"
    assert status(plan) == "filed"


def test_only_a_filed_plan_is_decided(world):
    plan = a_plan(world)
    with pytest.raises(DomainError) as exc:
        services.plan_acknowledge(plan_id=plan.pk, by=world["bureau"])
    assert "草稿" in str(exc.value)
    assert status(plan) == "draft"


@pytest.mark.parametrize("who", ["health_user", "base_user", "county_user", None])
def test_only_the_city_bureau_acknowledges_or_returns(world, who):
    plan = a_plan(world)
    services.plan_file(plan_id=plan.pk)
    by = world[who] if who else None
    with pytest.raises(services.NotAllowed):
        services.plan_acknowledge(plan_id=plan.pk, by=by)
    with pytest.raises(services.NotAllowed):
        services.plan_return(plan_id=plan.pk, reason="不行", by=by)
    assert status(plan) == "filed"


def test_a_missing_plan_is_not_visible(world):
    with pytest.raises(NotVisible):
        services.plan_file(plan_id=999999)


def test_a_professional_class_runs_once_the_plan_is_acknowledged(world):
    base = TrainingBase.objects.get(code="kf-kfdx")
    plan = a_plan(world)

    def schedule(code):
        return enrollment.class_create(base=base, course=world["ws01"], code=code,
                                       starts_on=datetime.date(2016, 9, 1), ends_on=datetime.date(2016, 9, 3),
                                       capacity=30, plan=IndustryPlan.objects.get(pk=plan.pk))

    with pytest.raises(DomainError) as exc:  # a draft plan is not enough
        schedule("WS-1")
    assert exc.value.rule == "R12"
    services.plan_file(plan_id=plan.pk)
    with pytest.raises(DomainError):  # nor a filed one
        schedule("WS-1")
    services.plan_acknowledge(plan_id=plan.pk, by=world["bureau"])
    training_class = schedule("WS-1")
    assert training_class.plan_id == plan.pk and training_class.course == world["ws01"]


# --- pages --------------------------------------------------------------------------------------------------------


def test_a_department_drafts_and_files_through_the_pages(client, world):
    client.force_login(world["health_user"])
    page = client.get(reverse("enrollment:plan_create")).content.decode()
    assert world["ws01"].code in page and world["jy01"].code not in page  # only its industry's courses
    assert 'name="csrfmiddlewaretoken"' in page
    response = client.post(reverse("enrollment:plan_create"), {
        "title": "卫生计划", "year": 2016, "starts_on": "2016-01-01", "ends_on": "2016-12-31",
        "courses": [world["ws01"].pk]})
    plan = IndustryPlan.objects.get()
    assert response.status_code == 302 and response.url == reverse("enrollment:plan_detail", args=[plan.pk])
    assert plan.department == world["health"] and list(plan.courses.all()) == [world["ws01"]]
    client.post(reverse("enrollment:plan_file", args=[plan.pk]))
    assert status(plan) == "filed"
    listing = client.get(reverse("enrollment:plan_list")).content.decode()
    assert "卫生计划" in listing and "已报备" in listing


def test_a_course_of_another_industry_is_refused_by_the_form(client, world):
    client.force_login(world["health_user"])
    response = client.post(reverse("enrollment:plan_create"), {
        "title": "卫生计划", "year": 2016, "starts_on": "2016-01-01", "ends_on": "2016-12-31",
        "courses": [world["jy01"].pk]})
    assert response.status_code == 200 and not IndustryPlan.objects.exists()


def test_the_bureau_returns_with_a_reason_and_the_department_sees_it(client, world):
    plan = a_plan(world)
    services.plan_file(plan_id=plan.pk)
    client.force_login(world["bureau"])
    assert "2016年卫生专业科目计划" in client.get(reverse("enrollment:plan_list")).content.decode()
    client.post(reverse("enrollment:plan_return", args=[plan.pk]), {"reason": ""})
    assert status(plan) == "filed"  # no reason, no return
    client.post(reverse("enrollment:plan_return", args=[plan.pk]), {"reason": "请补充师资安排"})
    assert status(plan) == "returned"
    client.force_login(world["health_user"])
    page = client.get(reverse("enrollment:plan_detail", args=[plan.pk])).content.decode()
    assert "请补充师资安排" in page and "重新报备" in page
    client.post(reverse("enrollment:plan_file", args=[plan.pk]))
    client.force_login(world["bureau"])
    client.post(reverse("enrollment:plan_acknowledge", args=[plan.pk]))
    assert status(plan) == "acknowledged"


def test_a_department_cannot_acknowledge(client, world):
    plan = a_plan(world)
    services.plan_file(plan_id=plan.pk)
    client.force_login(world["health_user"])
    assert client.post(reverse("enrollment:plan_acknowledge", args=[plan.pk])).status_code == 403
    assert client.post(reverse("enrollment:plan_return", args=[plan.pk]), {"reason": "x"}).status_code == 403
    assert status(plan) == "filed"


def test_another_departments_plan_is_not_found(client, world):
    plan = a_plan(world)
    client.force_login(world["education_user"])
    assert client.get(reverse("enrollment:plan_detail", args=[plan.pk])).status_code == 404
    assert client.post(reverse("enrollment:plan_file", args=[plan.pk])).status_code == 404
    assert "2016年卫生专业科目计划" not in client.get(reverse("enrollment:plan_list")).content.decode()
    assert status(plan) == "draft"


@pytest.mark.parametrize("who", ["base_user", "county_user"])
def test_other_roles_have_no_plan_pages(client, world, who):
    plan = a_plan(world)
    client.force_login(world[who])
    for name, args in (("plan_list", []), ("plan_create", []), ("plan_detail", [plan.pk])):
        assert client.get(reverse(f"enrollment:{name}", args=args)).status_code == 403
    assert client.post(reverse("enrollment:plan_file", args=[plan.pk])).status_code == 403
