"""Class pages: bases schedule and read rosters, units register their people (ticking or uploading), county
bureaus schedule W4 classes; every page keeps to the role and its scope."""
import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.accounts.models import Role
from apps.bases.models import TrainingBase
from apps.catalog.models import Course
from apps.enrollment import services
from apps.enrollment.models import Registration, TrainingClass
from apps.orgs.models import Region

from . import factories as f

BEFORE = datetime.date(2016, 6, 1)
AFTER = datetime.date(2016, 7, 6)  # the day after the 2016 deadline (W2)


@pytest.fixture
def today(monkeypatch):
    """The pages' "today": 1 June 2016 unless a test moves it."""
    holder = {"day": BEFORE}
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **kw: holder["day"])
    return holder


@pytest.fixture
def kf(kaifeng, today):
    return {b.code: b for b in TrainingBase.objects.all()} | {
        "longting": Region.objects.get(code="410202"), "qixian": Region.objects.get(code="410221"),
        "city": Region.objects.get(code="410200"), "F01": Course.objects.get(year=2016, code="GX16-F01")}


def person(unit, level="intermediate", name=None):
    p = f.PersonFactory(unit=unit, **({"name": name} if name else {}))
    f.TitleHoldingFactory(person=p, level=level, obtained_on=datetime.date(2010, 1, 1))
    return p


def login(client, role, **org):
    user = f.UserFactory(role=role, is_staff=False, **org)
    client.force_login(user)
    return user


def a_class(kf, base="kf-kfdx", code="KD-01", **kw):
    return services.class_create(base=kf[base], course=kf["F01"], code=code, starts_on=datetime.date(2016, 7, 20),
                                 ends_on=datetime.date(2016, 7, 22), capacity=kw.pop("capacity", 30), **kw)


@pytest.fixture
def city_unit(kf):
    return f.UnitFactory(region=kf["city"], name="开封市中心医院")


@pytest.fixture
def unit_admin(client, city_unit):
    return login(client, Role.UNIT_ADMIN, unit=city_unit)


def xlsx(rows) -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("名单.xlsx", out.getvalue(),
                              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# --- base staff ------------------------------------------------------------------------------------------------


def test_base_staff_create_a_class_and_see_it_in_their_list(client, kf):
    login(client, Role.BASE_STAFF, base=kf["kf-kfdx"])
    form = client.get(reverse("enrollment:class_new"))
    assert form.status_code == 200
    offered = {c.code for c in form.context["form"].fields["course"].queryset}
    # the year's active face-to-face catalogue: the four public courses and the classroom professional ones
    assert {"GX16-F01", "GX16-F04", "ZY16-WS01"} <= offered and "GX16-W01" not in offered
    Course.objects.filter(code="GX16-F04").update(is_active=False)
    assert "GX16-F04" not in {c.code for c in client.get(reverse("enrollment:class_new")).context["form"]
                              .fields["course"].queryset}
    response = client.post(reverse("enrollment:class_new"), {
        "year": 2016, "course": kf["F01"].pk, "code": "KD-2016-01", "starts_on": "2016-07-20",
        "ends_on": "2016-07-22", "capacity": 40, "fee": "0", "place": "开封大学东校区"})
    cls = TrainingClass.objects.get(code="KD-2016-01")
    assert response.status_code == 302 and response["Location"] == reverse("enrollment:class_roster", args=[cls.pk])
    assert (cls.base, cls.created_by.role, cls.registration_deadline) == (kf["kf-kfdx"], Role.BASE_STAFF,
                                                                         datetime.date(2016, 7, 5))
    page = client.get(reverse("enrollment:base_classes")).content.decode()
    assert "KD-2016-01" in page and "0 / 40" in page and "2016-07-05" in page


def test_a_rule_of_the_service_is_shown_on_the_field_it_names(client, kf):
    login(client, Role.BASE_STAFF, base=kf["kf-kfdx"])
    professional = Course.objects.get(year=2016, code="ZY16-WS01")
    kf["kf-kfdx"].serves_professional = True
    kf["kf-kfdx"].save()
    response = client.post(reverse("enrollment:class_new"), {
        "year": 2016, "course": professional.pk, "code": "KD-ZY", "starts_on": "2016-07-20",
        "ends_on": "2016-07-22", "capacity": 40})
    assert response.status_code == 200
    assert any("R12" in e for e in response.context["form"].errors["plan"])
    assert not TrainingClass.objects.filter(code="KD-ZY").exists()


def test_another_base_gets_404_for_a_roster(client, kf):
    cls = a_class(kf)
    login(client, Role.BASE_STAFF, base=kf["kf-jsxx"])
    assert client.get(reverse("enrollment:class_roster", args=[cls.pk])).status_code == 404


# --- unit admins ---------------------------------------------------------------------------------------------


def test_a_unit_admin_registers_two_people_by_ticking_and_the_roster_shows_them(client, kf, city_unit, unit_admin):
    cls = a_class(kf)
    a, b = person(city_unit, name="赵甲"), person(city_unit, name="钱乙")
    person(city_unit, name="孙丙")  # not ticked
    page = client.get(reverse("enrollment:open_classes")).content.decode()
    assert "KD-01" in page
    listed = client.get(reverse("enrollment:class_register", args=[cls.pk]))
    assert {p.name for p in listed.context["page_obj"]} == {"赵甲", "钱乙", "孙丙"}
    response = client.post(reverse("enrollment:class_register", args=[cls.pk]),
                           {"action": "tick", "person": [a.pk, b.pk]}, follow=True)
    assert "已为 2 人报名班次 KD-01，该班次还剩 28 个名额" in response.content.decode()
    assert set(Registration.objects.filter(training_class=cls).values_list("person__name", flat=True)) == {
        "赵甲", "钱乙"}
    assert Registration.objects.filter(channel="unit", registered_by=unit_admin).count() == 2

    mine = client.get(reverse("enrollment:unit_registrations")).content.decode()
    assert "赵甲" in mine and "钱乙" in mine and "孙丙" not in mine

    login(client, Role.BASE_STAFF, base=kf["kf-kfdx"])
    roster = client.get(reverse("enrollment:class_roster", args=[cls.pk])).content.decode()
    assert "赵甲" in roster and "钱乙" in roster and "孙丙" not in roster
    assert a.masked_id in roster and a.id_number not in roster  # a base sees ID numbers masked


def test_a_refusal_names_the_rule_and_registers_nobody(client, kf):
    cls = a_class(kf)
    county_unit = f.UnitFactory(region=kf["qixian"], name="杞县人民医院")
    login(client, Role.UNIT_ADMIN, unit=county_unit)
    ok = person(county_unit, level="senior_deputy", name="周高级")  # senior: 开封大学 not approved (B5)
    mid = person(county_unit, name="吴中级")  # B3: county people train at their county's base, no delegation (B4)
    response = client.post(reverse("enrollment:class_register", args=[cls.pk]),
                           {"action": "tick", "person": [ok.pk, mid.pk]})
    assert response.status_code == 200
    refused = {(r.name, r.rule) for r in response.context["refusals"]}
    assert refused == {("周高级", "B5"), ("吴中级", "B3")}
    body = response.content.decode()
    assert "吴中级" in body and "B3" in body and "本次未报名任何人" in body
    assert not Registration.objects.exists()


def test_a_unit_cannot_tick_someone_of_another_unit(client, kf, unit_admin):
    cls = a_class(kf)
    stranger = person(f.UnitFactory(region=kf["city"]))
    response = client.post(reverse("enrollment:class_register", args=[cls.pk]),
                           {"action": "tick", "person": [stranger.pk]})
    assert response.status_code == 404 and not Registration.objects.exists()


def test_an_upload_with_one_bad_row_registers_nobody_and_names_the_row(client, kf, city_unit, unit_admin):
    cls = a_class(kf)
    a, b = person(city_unit), person(city_unit)
    other = person(f.UnitFactory(region=kf["city"]))
    upload = xlsx([["姓名", "身份证号"], ["甲", a.id_number], ["乙", "110105194912310021"], ["丙", b.id_number],
                   ["丁", other.id_number]])
    response = client.post(reverse("enrollment:class_register", args=[cls.pk]),
                           {"action": "upload", "file": upload})
    assert response.status_code == 200
    problems = {p.row: p.message for p in response.context["row_problems"]}
    assert set(problems) == {3, 5}
    assert "校验位" in problems[3] and "不属于本单位" in problems[5]
    body = response.content.decode()
    assert "第 3 行" in body and "第 5 行" in body
    assert not Registration.objects.exists()


def test_a_clean_upload_registers_everyone_in_it(client, kf, city_unit, unit_admin):
    cls = a_class(kf)
    a, b = person(city_unit), person(city_unit)
    upload = xlsx([["身份证号*"], [a.id_number], [None], [b.id_number.lower()]])
    response = client.post(reverse("enrollment:class_register", args=[cls.pk]),
                           {"action": "upload", "file": upload}, follow=True)
    assert "已为 2 人报名" in response.content.decode()
    assert set(Registration.objects.values_list("person_id", flat=True)) == {a.pk, b.pk}


def test_a_full_class_says_so_and_registers_nobody(client, kf, city_unit, unit_admin):
    cls = a_class(kf, capacity=1)
    a, b = person(city_unit), person(city_unit)
    response = client.post(reverse("enrollment:class_register", args=[cls.pk]),
                           {"action": "tick", "person": [a.pk, b.pk]})
    assert "名额不足" in response.content.decode() and not Registration.objects.exists()


def test_after_the_deadline_the_page_says_registration_is_closed(client, kf, city_unit, unit_admin, today):
    cls = a_class(kf)
    p = person(city_unit)
    today["day"] = AFTER
    assert "KD-01" not in client.get(reverse("enrollment:open_classes")).content.decode()
    page = client.get(reverse("enrollment:class_register", args=[cls.pk]))
    assert page.context["is_open"] is False
    assert "报名已截止" in page.content.decode() and 'name="person"' not in page.content.decode()
    response = client.post(reverse("enrollment:class_register", args=[cls.pk]), {"action": "tick", "person": [p.pk]})
    assert "报名已于 2016-07-05 截止" in response.content.decode()
    assert not Registration.objects.exists()


# --- county bureaus (W4) ---------------------------------------------------------------------------------------


def test_a_county_bureau_schedules_at_its_base_and_not_at_another_countys(client, kf):
    own = f.TrainingBaseFactory(code="lt-base", name="龙亭区继续教育基地", level="county", region=kf["longting"],
                                approved_by=kf["longting"])
    theirs = f.TrainingBaseFactory(code="qx-base", name="杞县继续教育基地", level="county", region=kf["qixian"],
                                   approved_by=kf["qixian"])
    login(client, Role.COUNTY_BUREAU, region=kf["longting"])
    data = {"year": 2016, "course": kf["F01"].pk, "starts_on": "2016-07-20", "ends_on": "2016-07-21",
            "capacity": 50}
    response = client.post(reverse("enrollment:county_class_new"), data | {"base": own.pk, "code": "LT-01"})
    assert response.status_code == 302
    cls = TrainingClass.objects.get(code="LT-01")
    assert (cls.base, cls.organiser, cls.organised_by) == (own, "county", kf["longting"])

    refused = client.post(reverse("enrollment:county_class_new"), data | {"base": theirs.pk, "code": "QX-01"})
    assert refused.status_code == 200 and any("W4" in e for e in refused.context["form"].errors["base"])
    assert not TrainingClass.objects.filter(code="QX-01").exists()

    listing = client.get(reverse("enrollment:county_classes")).content.decode()
    assert "LT-01" in listing
    assert client.get(reverse("enrollment:class_roster", args=[cls.pk])).status_code == 200
    qx_class = services.class_create(base=theirs, course=kf["F01"], code="QX-02", organised_by=kf["qixian"],
                                     starts_on=datetime.date(2016, 7, 20), ends_on=datetime.date(2016, 7, 21),
                                     capacity=5)
    assert "QX-02" not in client.get(reverse("enrollment:county_classes")).content.decode()
    assert client.get(reverse("enrollment:class_roster", args=[qx_class.pk])).status_code == 404


def test_the_county_form_offers_only_public_subjects(client, kf):
    login(client, Role.COUNTY_BUREAU, region=kf["longting"])
    form = client.get(reverse("enrollment:county_class_new")).context["form"]
    assert form.fields["course"].queryset.exists()
    assert not form.fields["course"].queryset.filter(category="professional").exists()


# --- permissions -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, name", [
    (Role.TRAINEE, "base_classes"), (Role.TRAINEE, "class_new"), (Role.TRAINEE, "open_classes"),
    (Role.TRAINEE, "unit_registrations"), (Role.TRAINEE, "county_classes"), (Role.TRAINEE, "county_class_new"),
    (Role.TRAINEE, "class_roster"), (Role.TRAINEE, "class_register"),
    (Role.UNIT_ADMIN, "class_new"), (Role.UNIT_ADMIN, "class_roster"), (Role.BASE_STAFF, "class_register"),
    (Role.BASE_STAFF, "county_class_new"), (Role.COUNTY_BUREAU, "class_new"), (Role.INDUSTRY_DEPT, "open_classes"),
])
def test_a_wrong_role_gets_403(client, kf, city_unit, role, name):
    cls = a_class(kf)
    org = {Role.TRAINEE: {"person": person(city_unit)}, Role.UNIT_ADMIN: {"unit": city_unit},
           Role.BASE_STAFF: {"base": kf["kf-kfdx"]}, Role.COUNTY_BUREAU: {"region": kf["longting"]},
           Role.INDUSTRY_DEPT: {"department": f.IndustryDepartmentFactory(region=kf["city"])}}[role]
    login(client, role, **org)
    args = [cls.pk] if name in ("class_roster", "class_register") else []
    response = client.get(reverse(f"enrollment:{name}", args=args))
    assert response.status_code == 403
    assert "没有权限访问此页面" in response.content.decode()
    assert client.post(reverse(f"enrollment:{name}", args=args), {"action": "tick"}).status_code == 403


def test_anonymous_visitors_are_sent_to_login(client, kf):
    response = client.get(reverse("enrollment:open_classes"))
    assert response.status_code == 302 and reverse("portal:login") in response["Location"]


def test_forms_post_with_csrf(kf, city_unit):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(f.UserFactory(role=Role.UNIT_ADMIN, unit=city_unit, is_staff=False))
    cls = a_class(kf)
    p = person(city_unit)
    page = strict.get(reverse("enrollment:class_register", args=[cls.pk])).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 3  # language switch, ticking, upload
    assert strict.post(reverse("enrollment:class_register", args=[cls.pk]),
                       {"action": "tick", "person": [p.pk]}).status_code == 403
    assert not Registration.objects.exists()


def test_a_csv_without_the_id_column_is_refused_as_a_whole(client, kf, city_unit, unit_admin):
    cls = a_class(kf)
    upload = SimpleUploadedFile("名单.csv", "姓名,证件号\n甲,110105194912310021\n".encode("utf-8-sig"),
                                content_type="text/csv")
    response = client.post(reverse("enrollment:class_register", args=[cls.pk]),
                           {"action": "upload", "file": upload})
    assert "须有“身份证号”列" in response.context["upload_form"].errors["file"][0]
    assert not Registration.objects.exists()


def test_a_trainee_registers_directly_for_a_professional_course(client, kaifeng):
    """R13: a county professional may take a city base's professional course directly (not a public one)."""
    import datetime as dt
    from unittest import mock

    from apps.accounts.models import Role
    from apps.bases.models import TrainingBase
    from apps.catalog.models import Course, IndustryPlan
    from apps.enrollment import services as svc
    from apps.enrollment.models import Registration
    from apps.orgs.models import Region

    from . import factories as fx

    county = Region.objects.get(code="410202")
    p = fx.PersonFactory(unit=fx.UnitFactory(region=county))
    fx.TitleHoldingFactory(person=p, level="junior", obtained_on=dt.date(2010, 1, 1))
    course = Course.objects.get(year=2016, code="ZY16-WS01")
    plan = IndustryPlan.objects.create(department=fx.IndustryDepartmentFactory(region=county.parent), title="计划",
                                       year=2016, starts_on=dt.date(2016, 1, 1), ends_on=dt.date(2016, 12, 31),
                                       status="acknowledged")
    plan.courses.add(course)
    cls = svc.class_create(base=TrainingBase.objects.get(code="kf-kfdx"), course=course, code="ZY-1",
                           starts_on=dt.date(2016, 9, 1), ends_on=dt.date(2016, 9, 3), capacity=10, plan=plan)
    client.force_login(fx.UserFactory(role=Role.TRAINEE, person=p, is_staff=False))
    with mock.patch("django.utils.timezone.localdate", return_value=dt.date(2016, 6, 1)):
        page = client.get("/enrollment/my/classes/").content.decode()
        assert 'data-class="ZY-1"' in page
        client.post("/enrollment/my/classes/", {"class": cls.pk})
    reg = Registration.objects.get()
    assert (reg.person, reg.channel) == (p, "self")
