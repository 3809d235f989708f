"""POST /api/v1/bases/{code}/completions/: the online platform reports completions (W1), row by row, idempotently."""
import datetime
import threading

import pytest
from django.db import close_old_connections, connection
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.bases.models import TrainingBase
from apps.enrollment.models import OnlineCompletion
from apps.orgs.models import Region

from . import factories as f

URL = "/api/v1/bases/{code}/completions/"


@pytest.fixture
def world(kaifeng):
    county, other = Region.objects.get(code="410202"), Region.objects.get(code="410221")
    unit, city_unit = f.UnitFactory(region=county), f.UnitFactory(region=Region.objects.get(code="410200"))
    mid = f.PersonFactory(unit=unit, name="王中级")
    senior = f.PersonFactory(unit=city_unit, name="赵高级")
    junior = f.PersonFactory(unit=f.UnitFactory(region=other), name="孙初级")
    untitled = f.PersonFactory(unit=unit, name="钱无职称")
    f.TitleHoldingFactory(person=mid, level="intermediate", obtained_on=datetime.date(2011, 1, 1))
    f.TitleHoldingFactory(person=senior, level="senior_deputy", obtained_on=datetime.date(2009, 1, 1))
    f.TitleHoldingFactory(person=junior, level="junior", obtained_on=datetime.date(2014, 1, 1))
    online, kfdx = TrainingBase.objects.get(code="kf-online"), TrainingBase.objects.get(code="kf-kfdx")
    users = {
        "platform": f.UserFactory(username="platform", role=Role.BASE_STAFF, base=online, is_staff=False),
        "kfdx": f.UserFactory(username="kfdx", role=Role.BASE_STAFF, base=kfdx),
        "admin": f.UserFactory(username="root", role=Role.SYSTEM_ADMIN, is_superuser=True),
        Role.CITY_BUREAU: f.UserFactory(role=Role.CITY_BUREAU, region=county.parent),
        Role.COUNTY_BUREAU: f.UserFactory(role=Role.COUNTY_BUREAU, region=county),
        Role.UNIT_ADMIN: f.UserFactory(role=Role.UNIT_ADMIN, unit=unit),
        Role.TRAINEE: f.UserFactory(role=Role.TRAINEE, person=mid, is_staff=False),
    }
    return {"mid": mid, "senior": senior, "junior": junior, "untitled": untitled, "online": online,
            "kfdx": kfdx, "users": users}


def row(person, record_id, **over):
    out = {"record_id": record_id, "id_number": person.id_number, "name": person.name, "course_code": "GX16-W01",
           "hours": "6", "completed_on": "2016-05-01", "passed": True}
    return {**out, **over}


def post(user, rows, *, code="kf-online", request_id="req-1"):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client.post(URL.format(code=code), {"request_id": request_id, "rows": rows}, format="json")


def errors_of(data, index):
    return {(e["field"], e["message"]) for e in data["rows"][index]["errors"]}


def test_it_accepts_good_rows_and_rejects_bad_ones_with_reasons(world):
    mid, senior, junior, untitled = world["mid"], world["senior"], world["junior"], world["untitled"]
    bad_check = mid.id_number[:17] + ("0" if mid.id_number[17] != "0" else "1")
    rows = [
        row(mid, "r0"),                                                    # accepted
        row(senior, "r1", course_code="GX16-W11", hours=2.5),              # senior: fine online (W1)
        row(junior, "r2", course_code="gx16-w02", hours=4),                # other county, junior: fine online
        row(mid, "", course_code="GX16-W02", hours=4),                     # no record id
        row(mid, "r4", id_number=bad_check),                               # check digit
        row(mid, "r5", name="王冒名"),                                      # name mismatch
        row(mid, "r6", course_code="GX16-F01"),                            # face-to-face course
        row(mid, "r7", course_code="GX16-W01", completed_on="2017-03-01"),  # not in the 2017 catalogue
        row(mid, "r8", hours="6.5"),                                       # more than the course's 6 h
        row(mid, "r9", hours="1.2"),                                       # not half-hour steps
        row(mid, "r10", hours=0),                                          # not positive
        row(mid, "r11", completed_on="2099-01-01"),                        # future
        row(mid, "r12", completed_on="2016-02-30"),                        # impossible date
        row(mid, "r13", course_code="ZY16-JY01", hours=24),                # professional: online base not approved
        row(untitled, "r14"),                                              # no title record: scope unknown
        row(mid, "r0"),                                                    # same record twice in one call
        row(mid, "r16", id_number="412723199010050012"),                   # valid number, nobody registered
    ]
    r = post(world["users"]["platform"], rows)
    assert r.status_code == 200, r.content
    data = r.json()
    assert (data["request_id"], data["accepted"], data["unchanged"], data["rejected"]) == ("req-1", 3, 0, 14)
    assert [x["status"] for x in data["rows"][:3]] == ["accepted"] * 3
    assert [x["index"] for x in data["rows"]] == list(range(len(rows)))
    assert errors_of(data, 3) == {("record_id", "缺少平台记录号 record_id")}
    assert ("id_number", f"身份证号校验位错误：应为 {mid.id_number[17]}，实际为 {bad_check[17]}") in errors_of(data, 4)
    assert errors_of(data, 5) == {("name", "姓名与该身份证号登记的姓名不一致")}
    assert errors_of(data, 6) == {("course_code", "课程 GX16-F01 为面授课程，不能由网络平台报送")}
    assert errors_of(data, 7) == {("course_code", "课程 GX16-W01 不在 2017 年度课程目录中（完成日期须在课程所属年度内）"
                                                  "；该课程属于 2016 年度")}
    assert errors_of(data, 8) == {("hours", "学时 6.5 超过课程 GX16-W01 的 6.0 学时")}
    assert errors_of(data, 9) == {("hours", "学时须以 0.5 学时为单位，实际为 1.2")}
    assert errors_of(data, 10) == {("hours", "学时须大于 0")}
    assert errors_of(data, 11) == {("completed_on", "完成日期 2099-01-01 晚于今天")}
    assert errors_of(data, 12) == {("completed_on", "完成日期应为 YYYY-MM-DD 格式的有效日期")}
    (field, message), = errors_of(data, 13)
    assert field == "course_code" and "B5" in message and "专业科目" in message
    assert errors_of(data, 14) == {("id_number", "该人员在 2016 年底没有职称记录，无法确定培训范围")}
    assert errors_of(data, 15) == {("record_id", "平台记录号与本次第 0 行重复")}
    assert errors_of(data, 16) == {("id_number", "未找到身份证号为 412723199010050012 的人员")}

    stored = {c.platform_record_id: c for c in OnlineCompletion.objects.select_related("course")}
    assert set(stored) == {"r0", "r1", "r2"}
    assert stored["r1"].hours == 2.5 and stored["r1"].course.code == "GX16-W11"
    assert stored["r2"].course.code == "GX16-W02" and stored["r2"].request_id == "req-1"
    assert all(c.base == world["online"] for c in stored.values())


def test_a_base_not_approved_for_a_level_refuses_it_b5(world):
    online = world["online"]
    online.serves_junior = False
    online.save()
    data = post(world["users"]["platform"], [row(world["junior"], "j1", hours=6), row(world["mid"], "m1")]).json()
    assert [x["status"] for x in data["rows"]] == ["rejected", "accepted"]
    (field, message), = errors_of(data, 0)
    assert field == "course_code" and message.endswith("的批准范围不含初级职称人员（B5）")


def test_a_retried_call_changes_nothing(world):
    rows = [row(world["mid"], "a"), row(world["senior"], "b", course_code="GX16-W02", hours="4.0")]
    first = post(world["users"]["platform"], rows).json()
    assert first["accepted"] == 2
    before = list(OnlineCompletion.objects.order_by("pk").values())
    again = post(world["users"]["platform"], rows, request_id="req-2").json()
    assert (again["accepted"], again["unchanged"], again["rejected"]) == (0, 2, 0)
    assert [x["status"] for x in again["rows"]] == ["unchanged", "unchanged"]
    assert list(OnlineCompletion.objects.order_by("pk").values()) == before


def test_a_known_record_id_with_different_data_is_rejected(world):
    post(world["users"]["platform"], [row(world["mid"], "a", hours="6")])
    data = post(world["users"]["platform"], [row(world["mid"], "a", hours="5"), row(world["mid"], "b")]).json()
    assert [x["status"] for x in data["rows"]] == ["rejected", "accepted"]
    assert errors_of(data, 0) == {("record_id", "记录号已存在且内容不同")}
    assert OnlineCompletion.objects.get(platform_record_id="a").hours == 6


def test_more_than_5000_rows_are_refused_and_nothing_is_written(world):
    rows = [row(world["mid"], f"x{i}") for i in range(5001)]
    r = post(world["users"]["platform"], rows)
    assert r.status_code == 400
    assert r.json()["code"] == "too_many_rows"
    assert "每次最多报送 5000 行，本次 5001 行" in r.json()["detail"]
    assert not OnlineCompletion.objects.exists()


@pytest.mark.parametrize("who, code, status", [
    ("platform", "kf-online", 200),
    ("admin", "kf-online", 200),
    ("kfdx", "kf-online", 404),        # another base's staff cannot see the online base
    ("platform", "kf-kfdx", 404),
    ("platform", "no-such-base", 404),
    (Role.CITY_BUREAU, "kf-online", 403),
    (Role.COUNTY_BUREAU, "kf-online", 403),
    (Role.UNIT_ADMIN, "kf-online", 403),
    (Role.TRAINEE, "kf-online", 403),
])
def test_only_the_online_base_itself_may_post(world, who, code, status):
    r = post(world["users"][who], [row(world["mid"], "p1")], code=code)
    assert r.status_code == status, r.content
    assert OnlineCompletion.objects.exists() == (status == 200)


def test_a_face_to_face_base_cannot_report_online_completions(world):
    r = post(world["users"]["kfdx"], [row(world["mid"], "p1")], code="kf-kfdx")
    assert r.status_code == 400
    assert r.json()["code"] == "not_online_base" and r.json()["rule"] == "W1"
    assert not OnlineCompletion.objects.exists()


def test_token_auth_works_and_no_auth_is_refused(world):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=world["users"]["platform"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    body = {"request_id": "t-1", "rows": [row(world["mid"], "tok")]}
    r = client.post(URL.format(code="kf-online"), body, format="json")
    assert r.status_code == 200 and r.json()["accepted"] == 1
    assert post(None, [row(world["mid"], "anon")]).status_code in (401, 403)
    assert not OnlineCompletion.objects.filter(platform_record_id="anon").exists()


def test_a_malformed_body_is_a_400(world):
    client = APIClient()
    client.force_authenticate(world["users"]["platform"])
    r = client.post(URL.format(code="kf-online"), {"rows": "nope"}, format="json")
    assert r.status_code == 400 and set(r.json()) >= {"request_id", "rows"}
    r = post(world["users"]["platform"], ["not an object", 7])
    assert r.json()["rejected"] == 2
    assert errors_of(r.json(), 0) == {("row", "每行应为一个对象（JSON object）")}


def test_the_base_then_sees_the_people_it_reported(world):
    from apps.accounts import visibility
    from apps.personnel.models import Person

    post(world["users"]["platform"], [row(world["mid"], "v1")])
    assert list(visibility.visible(world["users"]["platform"], Person)) == [world["mid"]]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_identical_calls_at_once_store_each_record_once(world, monkeypatch):
    from apps.enrollment import completions

    # Both calls classify every row as new before either inserts: the loser's INSERT then meets the winner's
    # unique-index entries, and it must classify again and report the rows unchanged.
    classify, both_classified, calls = completions._classify, threading.Barrier(2), []

    def classify_then_wait(**kwargs):
        out = classify(**kwargs)
        calls.append(threading.get_ident())
        if calls.count(threading.get_ident()) == 1:
            both_classified.wait(timeout=10)
        return out

    monkeypatch.setattr(completions, "_classify", classify_then_wait)
    people = [world["mid"], world["senior"], world["junior"]]
    courses = ["GX16-W01", "GX16-W02", "GX16-W03", "GX16-W04", "GX16-W11", "GX16-W12"]
    rows = [row(p, f"c-{p.pk}-{c}", course_code=c, hours="2") for p in people for c in courses]
    user = world["users"]["platform"]
    barrier, results, errors = threading.Barrier(2), [], []

    def work():
        try:
            barrier.wait(timeout=10)
            results.append(post(user, rows))
        except BaseException as exc:  # asserted below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(r.status_code for r in results) == [200, 200]
    counts = sorted((r.json()["accepted"], r.json()["unchanged"], r.json()["rejected"]) for r in results)
    assert counts == [(0, len(rows), 0), (len(rows), 0, 0)]
    assert OnlineCompletion.objects.count() == len(rows)
    assert len(calls) == 3  # the loser classified twice
