"""The portal shell: login, logout, each role's home page with its own organisation's figures, language switch,
error pages. Figures are read from `data-figure` attributes so the assertions do not depend on the layout."""
import datetime
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.urls import path

from apps.accounts.models import Role
from apps.portal import views

from . import factories as f

PASSWORD = "Kaifeng-2016"


# This module doubles as a URL conf for the end-to-end 500 test: a view that fails, and the portal's handler.
def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _boom)]
handler500 = "apps.portal.views.error_500"


def figures(html: str) -> dict[str, int]:
    return {key: int(value) for key, value in re.findall(
        r'data-figure="(\w+)">\s*<dt>[^<]*</dt>\s*<dd>(?:<a [^>]*>)?(\d+)', html)}


@pytest.fixture
def world(users, county, other_county, unit, other_unit, city_unit, person, other_person, base, other_base,
          department, city):
    """Around each role's own organisation, an 'other' one that must never show on its page."""
    f.PersonFactory(unit=other_unit, name="赵大勇")
    f.PersonFactory(unit=city_unit, name="钱市属")
    education = f.IndustryFactory(code="education", name="教育")
    f.UnitFactory(region=other_county, industry=education, name="杞县第一中学")
    f.IndustryDepartmentFactory(name="开封市教育局", industry=education, region=city)
    f.CountyDelegationFactory(county=county, base=base, note="龙亭区委托")
    f.CountyDelegationFactory(county=other_county, base=other_base, note="杞县委托")
    f.TitleHoldingFactory(person=person, level="junior", obtained_on=datetime.date(2008, 7, 1))
    f.TitleHoldingFactory(person=person, level="intermediate", obtained_on=datetime.date(2013, 7, 1))
    f.PromotionApplicationFactory(person=person, from_level="intermediate", to_level="senior_deputy", year=2016)
    f.TitleHoldingFactory(person=other_person, level="senior_deputy")
    f.CourseFactory(category="professional", industry=department.industry, mode="face_to_face")
    f.CourseFactory(category="professional", industry=education, mode="face_to_face")
    f.CourseFactory(category="public_required", mode="face_to_face")
    f.CourseFactory(category="public_required", mode="online")
    return users


def home_as(client, user) -> str:
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


# --- login and logout ------------------------------------------------------------------------------------------


def test_login_page_renders_in_chinese(client, db):
    response = client.get("/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert "开封市专业技术人员继续教育管理平台" in html
    assert "用户登录" in html
    assert '<label for="id_username">用户名</label>' in html
    assert '<label for="id_password">密码</label>' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_login_page_has_no_external_assets(client, db):
    html = client.get("/login/").content.decode()
    assert "/static/css/portal.css" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert (Path(settings.BASE_DIR) / "static/css/portal.css").is_file()


def test_bad_password_shows_an_error_and_does_not_log_in(client, users):
    response = client.post("/login/", {"username": "county", "password": "wrong-password"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "用户名或密码不正确" in html
    assert 'role="alert"' in html
    assert "_auth_user_id" not in client.session


def test_good_password_logs_in_and_lands_on_home(client, users):
    response = client.post("/login/", {"username": "county", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == "/"
    assert client.session["_auth_user_id"] == str(users[Role.COUNTY_BUREAU].pk)


def test_login_shows_demo_accounts_only_in_debug(client, users):
    with override_settings(DEBUG=True):
        html = client.get("/login/").content.decode()
    assert "演示账号" in html
    assert "<td>县（区）人社局</td><td class=\"mono\">county</td>" in html
    with override_settings(DEBUG=False):
        html = client.get("/login/").content.decode()
    assert "演示账号" not in html
    assert "county" not in html


def test_anonymous_user_is_redirected_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == "/login/?next=/"


def test_logout_is_a_post_that_returns_to_login(client, users):
    client.force_login(users[Role.UNIT_ADMIN])
    html = client.get("/").content.decode()
    assert re.search(r'<form class="inline-form" action="/logout/" method="post">\s*<input type="hidden" '
                     r'name="csrfmiddlewaretoken"', html)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response.url == "/login/"
    assert client.get("/").status_code == 302


def test_logged_in_user_visiting_login_goes_home(client, users):
    client.force_login(users[Role.TRAINEE])
    response = client.get("/login/")
    assert response.status_code == 302
    assert response.url == "/"


# --- home pages ---------------------------------------------------------------------------------------------------


def test_header_shows_name_role_organisation_and_controls(client, users):
    user = users[Role.COUNTY_BUREAU]
    user.first_name, user.last_name = "建国", "张"
    user.save()
    html = home_as(client, user)
    assert '<span class="whoami-name">张建国</span>' in html  # family name first, no space
    assert '<span class="whoami-role">县（区）人社局</span>' in html
    assert '<span class="whoami-org">龙亭区</span>' in html
    assert 'action="/i18n/setlang/" method="post"' in html
    assert 'name="language" value="en"' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_county_bureau_sees_its_county_only(client, world):
    html = home_as(client, world[Role.COUNTY_BUREAU])
    assert "县（区）人社局" in html
    assert "龙亭区辖区概览" in html
    # One unit with one person in 龙亭区; the city-level 开封大学 trains it by delegation.
    assert figures(html) == {"units": 1, "people": 1, "bases": 1}
    assert "龙亭区人民医院" in html
    assert "杞县人民医院" not in html
    assert "/admin/orgs/unit/" in html and "/admin/personnel/person/" in html
    assert "辖区学时报表" in html  # announced, not linked


def test_city_bureau_sees_the_whole_city(client, world):
    html = home_as(client, world[Role.CITY_BUREAU])
    assert "市人社局" in html
    assert figures(html) == {"counties": 2, "units": 4, "people": 4, "bases": 2}
    # Per-county rows: 龙亭区 1 unit 1 person, 杞县 2 units 2 people, city-affiliated 1 and 1.
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"mono\">(\d+)</td><td class=\"num\">(\d+)</td>"
                      r"<td class=\"num\">(\d+)</td></tr>", html)
    assert rows == [("龙亭区", "410202", "1", "1"), ("杞县", "410221", "2", "2"), ("市属单位", "410200", "1", "1")]
    assert "审核认证" in html and "/enrollment/review/" in html


def test_unit_admin_sees_its_own_people(client, world):
    html = home_as(client, world[Role.UNIT_ADMIN])
    assert "单位管理员" in html
    assert '<span class="whoami-org">龙亭区人民医院</span>' in html
    assert figures(html) == {"people": 1, "titles": 2, "promotions": 1}
    person = world[Role.TRAINEE].person
    assert "王小明" in html and person.masked_id in html
    assert person.id_number not in html
    assert "李小红" not in html and "赵大勇" not in html and "杞县人民医院" not in html
    assert "/admin/personnel/person/add/" in html


def test_base_staff_sees_its_own_base(client, world):
    html = home_as(client, world[Role.BASE_STAFF])
    assert "基地工作人员" in html
    assert "开封大学" in html
    assert "开封市建设学校" not in html
    assert "龙亭区委托" in html and "杞县委托" not in html
    # Face-to-face, public subjects only (the factory's default scope): one public face-to-face course.
    assert figures(html) == {"delegations": 1, "courses": 1}
    assert "考核成绩上传" in html


def test_industry_department_sees_its_own_industry(client, world):
    html = home_as(client, world[Role.INDUSTRY_DEPT])
    assert "行业主管部门" in html
    assert "开封市卫生局" in html
    assert "开封市教育局" not in html
    # Three health units (the 杞县 school is in education); one professional health course.
    assert figures(html) == {"units": 3, "courses": 1}
    assert "专业科目培训计划" in html and "/enrollment/plans/" in html


def test_trainee_sees_own_profile_masked(client, world):
    user = world[Role.TRAINEE]
    html = home_as(client, user)
    person = user.person
    assert "专业技术人员" in html
    assert 'id="profile"' in html
    assert person.name in html and person.masked_id in html
    assert person.id_number not in html
    assert "龙亭区人民医院" in html
    assert "2013-07-01" in html and "2008-07-01" in html  # title history
    assert "副高级" in html  # the 2016 promotion application's target level
    assert "李小红" not in html and "杞县人民医院" not in html
    assert "/admin/" not in html  # no admin for a trainee
    assert figures(html) == {}
    assert "学时申报" in html and "/enrollment/activities/" in html


def test_trainee_sees_their_year_requirement(client, world, city):
    policy = f.YearPolicyFactory(region=city, year=2016)
    f.PolicyRequirementFactory(policy=policy, level="intermediate", total_hours=90, public_hours=26,
                               public_required_hours=18)
    f.PolicyRequirementFactory(policy=policy, level="junior", total_hours=90, public_hours=22,
                               public_required_hours=18)
    html = home_as(client, world[Role.TRAINEE])
    assert "按 2016 年度政策，中级职称人员全年须完成不少于 90 学时，其中公需科目不少于 26 学时（必修不少于 18 学时）" in html
    assert "2016-07-05" in html


def test_system_admin_sees_everything(client, world):
    html = home_as(client, world[Role.SYSTEM_ADMIN])
    assert "系统管理员" in html
    got = figures(html)
    assert got["users"] == 7 and got["units"] == 4 and got["people"] == 4 and got["bases"] == 2
    assert "/admin/accounts/user/" in html


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_a_home_page_naming_its_role(client, world, role):
    html = home_as(client, world[role])
    assert f'data-role="{role.value}">{role.label}' in html
    assert "/api/docs/" in html
    from apps.portal.selectors import home_for

    coming = home_for(world[role]).coming  # later features are named, marked as coming; none once all are built
    assert all(str(item) in html for item in coming)
    assert ("即将上线" in html) == bool(coming)


@pytest.mark.parametrize("role", list(Role))
def test_every_link_on_a_home_page_opens_for_that_role(client, world, role):
    html = home_as(client, world[role])
    urls = set(re.findall(r'href="(/[^"#]*)', html)) - {"/static/css/portal.css"}
    assert "/api/docs/" in urls
    for url in sorted(urls):
        assert client.get(url).status_code == 200, url


# --- language -------------------------------------------------------------------------------------------------------


def test_language_switch_to_english(client, world):
    client.force_login(world[Role.COUNTY_BUREAU])
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Kaifeng" in html and "Continuing Education" in html
    assert "County bureau" in html
    assert "Units in the county" in html
    assert "Log out" in html
    assert "退出登录" not in html and "您在本平台的工作" not in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "退出登录" in client.get("/").content.decode()


def test_english_catalogue_is_complete_and_tidy():
    po = (Path(settings.BASE_DIR) / "locale/en/LC_MESSAGES/django.po").read_text()
    assert (Path(settings.BASE_DIR) / "locale/en/LC_MESSAGES/django.mo").is_file()
    assert "#, fuzzy" not in po
    entries = po.split("\n\n")[1:]  # the first block is the header
    # An empty msgstr not continued on the next line is an untranslated entry.
    untranslated = [e for e in entries if re.search(r'^msgstr(\[\d\])? ""$(?!\n")', e, re.M)]
    assert untranslated == []


# --- admin and error pages ------------------------------------------------------------------------------------------


def test_admin_carries_the_portal_name(client, users):
    client.force_login(users[Role.SYSTEM_ADMIN])
    html = client.get("/admin/").content.decode()
    assert "开封市专业技术人员继续教育管理平台 · 管理后台" in html


@override_settings(DEBUG=False)
def test_404_is_the_friendly_page(client, users):
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in html and "Page not found." in html
    assert 'href="/"' in html
    client.force_login(users[Role.UNIT_ADMIN])
    html = client.get("/no-such-page/").content.decode()
    assert "页面不存在" in html and "单位管理员" in html  # the shell, with the header


def test_403_is_the_friendly_page(rf, db):
    request = rf.get("/somewhere/")
    request.user = AnonymousUser()
    response = views.error_403(request, PermissionDenied())
    html = response.content.decode()
    assert response.status_code == 403
    assert "没有权限访问此页面" in html and "You do not have permission" in html


def test_500_renders_without_database_or_request_context(rf):
    # No `db` fixture: any query here would raise, as it would when the database is down.
    response = views.error_500(rf.get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "服务器内部错误" in html and "Internal server error." in html
    assert "{%" not in html


@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_500_end_to_end(client, db):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "服务器内部错误" in response.content.decode()


def test_an_english_browser_still_gets_chinese_until_the_user_switches(client, users):
    from apps.accounts.models import Role

    client.force_login(users[Role.TRAINEE])
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "退出登录" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "退出登录" not in client.get("/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()


def test_an_unknown_api_address_answers_json_and_an_unknown_page_html(client, users):
    from apps.accounts.models import Role

    client.force_login(users[Role.CITY_BUREAU])
    r = client.get("/api/v1/no-such-endpoint/")
    assert r.status_code == 404 and r["Content-Type"] == "application/json"
    assert r.json()["code"] == "not_found"
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
