"""The audit log (操作日志): every sensitive action leaves one event with who, what, when and where; events can
never be changed or removed (ORM, raw SQL on PostgreSQL and SQLite, admin); the city bureau searches and exports
them, nobody else sees them."""
import csv
import datetime
import io
import json
from decimal import Decimal

import openpyxl
import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.accounts.visibility import visible
from apps.auditlog.models import Action, AuditEvent, AuditLogIsImmutable
from apps.auditlog.services import record
from apps.enrollment import activities
from apps.ledger import services as ledger
from apps.ledger.models import HourEntry
from apps.orgs.models import Region

from . import factories as f
from .test_activities import reported
from .test_activities import w  # noqa: F401 (fixture)
from .test_review import submitted
from .test_submissions import world  # noqa: F401 (fixture)

PASSWORD = "Kaifeng-2016"
WHERE = {"REMOTE_ADDR": "10.20.30.40", "HTTP_USER_AGENT": "Mozilla/5.0 (审计测试)"}


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def only(action: str) -> AuditEvent:
    (event,) = events(action)
    return event


def assert_where(event: AuditEvent) -> None:
    assert event.ip == "10.20.30.40"
    assert event.user_agent == "Mozilla/5.0 (审计测试)"
    assert timezone.now() - event.at < datetime.timedelta(minutes=1)


def login(client, user) -> None:
    """force_login sends user_logged_in too, so tests of other actions ignore that event."""
    client.force_login(user)


# --- logins -----------------------------------------------------------------------------------------------------


def test_a_login_through_the_form_is_recorded_with_who_when_where(client, users):
    response = client.post("/login/", {"username": "county", "password": PASSWORD}, **WHERE)
    assert response.status_code == 302
    event = only(Action.LOGIN)
    county = users[Role.COUNTY_BUREAU]
    assert (event.user, event.username, event.role) == (county, "county", Role.COUNTY_BUREAU)
    assert_where(event)


def test_a_failed_login_keeps_the_name_typed_and_never_the_password(client, users):
    response = client.post("/login/", {"username": "county", "password": "Wrong-Pass-77"}, **WHERE)
    assert response.status_code == 200
    event = only(Action.LOGIN_FAILED)
    assert (event.user, event.username, event.role, event.target) == (None, "county", "", "county")
    assert_where(event)
    stored = json.dumps([event.username, event.target, event.details, event.user_agent], ensure_ascii=False)
    assert "Wrong-Pass-77" not in stored
    assert not events(Action.LOGIN)


def test_an_unknown_username_is_recorded_too(client, db):
    client.post("/login/", {"username": "nobody", "password": "Whatever-1"}, **WHERE)
    assert only(Action.LOGIN_FAILED).username == "nobody"


def test_the_lockout_after_five_failures_is_recorded(client, users):
    for _ in range(5):
        client.post("/login/", {"username": "unit", "password": "Wrong-Pass-77"}, **WHERE)
    assert len(events(Action.LOGIN_FAILED)) == 5
    lockout = only(Action.LOCKOUT)
    assert lockout.username == "unit"
    assert_where(lockout)


def test_a_logout_is_recorded(client, users):
    login(client, users[Role.UNIT_ADMIN])
    client.post("/logout/", **WHERE)
    event = only(Action.LOGOUT)
    assert (event.user, event.username) == (users[Role.UNIT_ADMIN], "unit")
    assert_where(event)


# --- review, reversal -------------------------------------------------------------------------------------------


@pytest.fixture
def reviewer(world):
    return f.UserFactory(username="reviewer", role=Role.CITY_BUREAU, region=Region.objects.get(code="410200"))


def test_an_endorsement_on_the_review_page_is_recorded(client, world, reviewer):
    sub = submitted(world["kfdx"])
    login(client, reviewer)
    client.post(f"/enrollment/review/{sub.pk}/endorse-all/", **WHERE)
    event = only(Action.ENDORSEMENT)
    assert (event.user, event.username, event.role) == (reviewer, "reviewer", Role.CITY_BUREAU)
    assert (event.target, event.target_type, event.target_id) == (sub.number, "enrollment.Submission", str(sub.pk))
    assert event.details == {"endorsed": 2, "already": 0}
    assert_where(event)
    client.post(f"/enrollment/review/{sub.pk}/endorse-all/", **WHERE)  # a retry endorses nothing: no event
    assert len(events(Action.ENDORSEMENT)) == 1


def test_a_return_is_recorded_with_its_reason(client, world, reviewer):
    sub = submitted(world["kfdx"])
    item = sub.items.order_by("pk").first()
    login(client, reviewer)
    client.post(f"/enrollment/review/{sub.pk}/items/{item.pk}/", {"action": "return", "reason": "材料不全"}, **WHERE)
    event = only(Action.RETURN)
    assert (event.user, event.target_type, event.target_id) == (reviewer, "enrollment.SubmissionItem", str(item.pk))
    assert event.details == {"reason": "材料不全"}
    assert_where(event)


def test_a_refused_decision_leaves_no_event(client, world, reviewer):
    sub = submitted(world["kfdx"])
    item = sub.items.order_by("pk").first()
    login(client, reviewer)
    client.post(f"/enrollment/review/{sub.pk}/items/{item.pk}/", {"action": "return", "reason": " "})  # no reason
    client.post(f"/enrollment/review/{sub.pk}/items/{item.pk}/", {"action": "return", "reason": "材料不全"})
    client.post(f"/enrollment/review/{sub.pk}/items/{item.pk}/", {"action": "endorse"})  # returned: refused
    assert len(events(Action.RETURN)) == 1 and not events(Action.ENDORSEMENT)


def test_a_recognised_activity_is_an_endorsement_and_its_evidence_download_an_export(client, w, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    report = reported(w)
    activities.activity_check(report_id=report.pk, by=w["unit"])
    login(client, w["bureau"])
    client.get(f"/enrollment/activities/{report.pk}/evidence/", **WHERE)
    client.post(f"/enrollment/activities/{report.pk}/recognise/", **WHERE)
    endorsement = only(Action.ENDORSEMENT)
    assert (endorsement.user, endorsement.target_type, endorsement.target_id) == (
        w["bureau"], "enrollment.ActivityReport", str(report.pk))
    assert endorsement.details["status"] == "recognised" and endorsement.details["hours"] == "6.0"
    assert_where(endorsement)
    assert only(Action.EXPORT).details == {"file": "会议证明.pdf", "kind": "evidence"}


def test_a_returned_activity_is_recorded_with_its_reason(client, w, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    report = reported(w)
    login(client, w["unit"])
    client.post(f"/enrollment/activities/{report.pk}/return/", {"reason": "证明不清晰"}, **WHERE)
    event = only(Action.RETURN)
    assert (event.user, event.details["reason"], event.details["status"]) == (w["unit"], "证明不清晰", "returned")


def _entry(person, key="e1"):
    with transaction.atomic():
        (entry,) = ledger.entries_record(entries=[ledger.EntryInput(
            person_id=person.pk, category="professional", hours=Decimal(6), completed_on=datetime.date(2016, 5, 1),
            source="migration", source_key=key, organiser="city", course_title="培训")])
    return entry


def test_a_reversal_is_recorded_in_the_same_transaction(users, person):
    entry = _entry(person)
    city = users[Role.CITY_BUREAU]
    with transaction.atomic():
        reversal = ledger.entry_reverse(entry_id=entry.pk, reason="成绩重复上报", by=city)
    event = only(Action.REVERSAL)
    assert (event.user, event.username, event.role) == (city, "city", Role.CITY_BUREAU)
    assert (event.target_type, event.target_id) == ("ledger.HourEntry", str(entry.pk))
    assert event.details["reason"] == "成绩重复上报" and event.details["reversal_id"] == reversal.pk
    assert event.details["hours"] == "-6.0"

    other = _entry(person, key="e2")
    with pytest.raises(RuntimeError), transaction.atomic():
        ledger.entry_reverse(entry_id=other.pk, reason="撤销", by=city)
        raise RuntimeError("the caller fails after the reversal")
    assert len(events(Action.REVERSAL)) == 1  # rolled back with the reversal
    assert not HourEntry.objects.filter(reverses=other).exists()


# --- exports, full ID numbers, eligibility ----------------------------------------------------------------------


def test_a_report_export_is_recorded(client, users, county):
    login(client, users[Role.COUNTY_BUREAU])
    response = client.get(f"/reports/county/{county.pk}/2016/units.xlsx", **WHERE)
    assert response.status_code == 200
    event = only(Action.EXPORT)
    assert (event.user, event.target_type, event.target_id) == (users[Role.COUNTY_BUREAU], "orgs.Region",
                                                                 str(county.pk))
    assert event.details["file"] == "county-410202-2016-units.xlsx" and event.details["table"] == "units"
    assert_where(event)


def test_an_admin_export_is_recorded(client, users, person):
    login(client, users[Role.COUNTY_BUREAU])
    response = client.post("/admin/personnel/person/export/", {
        "format": "0", "resource": "0", "persontitleresource_id_number": "on", "persontitleresource_name": "on"},
        **WHERE)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    event = only(Action.EXPORT)
    assert (event.target_type, event.details["rows"]) == ("personnel.Person", 1)
    assert_where(event)


def test_a_staff_page_with_the_full_id_number_is_recorded_and_a_masked_one_is_not(client, users, person):
    login(client, users[Role.COUNTY_BUREAU])
    html = client.get(f"/people/{person.pk}/hours/2016/", **WHERE).content.decode()
    assert person.id_number in html
    event = only(Action.VIEW_FULL_ID)
    assert (event.user, event.target_type, event.target_id) == (users[Role.COUNTY_BUREAU], "personnel.Person",
                                                                 str(person.pk))
    assert person.id_number not in event.target  # the log itself keeps the masked number only
    assert_where(event)

    login(client, users[Role.TRAINEE])
    html = client.get(f"/people/{person.pk}/hours/2016/").content.decode()
    assert person.id_number not in html
    assert len(events(Action.VIEW_FULL_ID)) == 1


def test_a_review_page_listing_full_id_numbers_is_recorded_with_whose(client, world, reviewer):
    sub = submitted(world["kfdx"])
    login(client, reviewer)
    html = client.get(f"/enrollment/review/{sub.pk}/", **WHERE).content.decode()
    shown = sorted(sub.items.values_list("person_id", flat=True))
    assert all(pid_number in html for pid_number in sub.items.values_list("person__id_number", flat=True))
    event = only(Action.VIEW_FULL_ID)
    assert (event.user, event.target_type, event.target_id) == (reviewer, "enrollment.Submission", str(sub.pk))
    assert event.details == {"page": "review_batch", "people": len(set(shown)), "person_ids": sorted(set(shown))}
    assert_where(event)


def test_the_people_api_list_records_the_page_of_full_numbers_and_not_a_masked_one(users, person, other_person):
    api = APIClient()
    api.force_authenticate(users[Role.CITY_BUREAU])
    ids = [r["id"] for r in api.get("/api/v1/people/", **WHERE).json()["results"]]
    event = only(Action.VIEW_FULL_ID)
    assert event.details == {"page": "api:people", "people": len(ids), "person_ids": sorted(ids)}
    api.force_authenticate(users[Role.BASE_STAFF])  # sees masked numbers only
    api.get("/api/v1/people/")
    assert len(events(Action.VIEW_FULL_ID)) == 1


def test_the_person_api_records_a_full_id_number(users, person):
    api = APIClient()
    api.force_authenticate(users[Role.UNIT_ADMIN])
    assert api.get(f"/api/v1/people/{person.pk}/", **WHERE).json()["id_number"] == person.id_number
    assert only(Action.VIEW_FULL_ID).details == {"channel": "api"}


def test_an_eligibility_lookup_is_recorded_with_the_lookup(users, person):
    api = APIClient()
    api.force_authenticate(users[Role.COUNTY_BUREAU])
    assert api.get("/api/v1/eligibility/", {"id_number": person.id_number, "years": "2016"}, **WHERE).status_code == 200
    event = only(Action.ELIGIBILITY_LOOKUP)
    assert (event.user, event.target_type, event.target_id) == (users[Role.COUNTY_BUREAU], "personnel.Person",
                                                                 str(person.pk))
    assert event.details["outcome"] == "found" and event.details["id_number"] == person.masked_id
    assert event.details["channel"] == "api" and event.ip == "10.20.30.40"
    assert person.id_number not in json.dumps(event.details)


def test_an_invalid_eligibility_lookup_is_recorded_too(client, users):
    login(client, users[Role.UNIT_ADMIN])
    client.post("/eligibility/", {"id_number": "123", "years": "2016"}, **WHERE)
    event = only(Action.ELIGIBILITY_LOOKUP)
    assert (event.details["outcome"], event.details["channel"]) == ("invalid", "page")
    assert event.target == event.details["id_number"] == "***"  # what was typed, masked as the lookup log keeps it


# --- never changed, never removed -------------------------------------------------------------------------------


@pytest.fixture
def event(users):
    return record(None, Action.EXPORT, user=users[Role.CITY_BUREAU], target="某报表", details={"rows": 3})


def test_the_orm_refuses_to_change_or_delete_an_event(event):
    event.target = "改过的"
    with pytest.raises(AuditLogIsImmutable):
        event.save()
    with pytest.raises(AuditLogIsImmutable):
        event.delete()
    with pytest.raises(AuditLogIsImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(target="改过的")
    with pytest.raises(AuditLogIsImmutable):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditLogIsImmutable):
        AuditEvent.objects.bulk_update([event], ["target"])
    assert AuditEvent.objects.get(pk=event.pk).target == "某报表"


@pytest.mark.parametrize("sql", [
    "UPDATE auditlog_auditevent SET target = 'x' WHERE id = %s",
    "UPDATE auditlog_auditevent SET user_id = NULL WHERE id = %s",
    "DELETE FROM auditlog_auditevent WHERE id = %s",
])
def test_the_database_refuses_raw_updates_and_deletes(event, sql):
    with pytest.raises(DatabaseError) as exc, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])
    assert "append-only" in str(exc.value)
    assert AuditEvent.objects.filter(pk=event.pk, target="某报表").exists()


def test_the_database_refuses_a_raw_delete_of_everything(event):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM auditlog_auditevent")
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_the_database_and_the_triggers_survive(users):
    # Test teardown flushes between transactional tests; on SQLite that is DELETE FROM, past the trigger.
    record(None, Action.EXPORT, user=users[Role.CITY_BUREAU], target="x")
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    kept = record(None, Action.EXPORT, target="y")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM auditlog_auditevent WHERE id = %s", [kept.pk])


def test_the_admin_is_read_only_even_for_a_superuser(client, users, event):
    superuser = users[Role.SYSTEM_ADMIN]
    model_admin = admin.site._registry[AuditEvent]
    request = RequestFactory().get("/admin/")
    request.user = superuser
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
    login(client, superuser)
    assert client.get("/admin/auditlog/auditevent/").status_code == 200
    assert client.get("/admin/auditlog/auditevent/add/").status_code == 403
    assert client.get(f"/admin/auditlog/auditevent/{event.pk}/delete/").status_code == 403
    page = client.get(f"/admin/auditlog/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and b'name="target"' not in page.content  # shown, not editable
    client.post(f"/admin/auditlog/auditevent/{event.pk}/change/", {"target": "改过的"})
    assert AuditEvent.objects.get(pk=event.pk).target == "某报表"


def test_record_refuses_an_unknown_action(db):
    with pytest.raises(ValueError):
        record(None, "delete_everything")


@override_settings(AUDITLOG_IP_META_KEY="HTTP_X_REAL_IP")
def test_the_proxy_header_counts_only_when_configured(rf, db):
    request = rf.get("/", HTTP_X_REAL_IP="203.0.113.9", REMOTE_ADDR="10.0.0.1")
    assert record(request, Action.EXPORT).ip == "203.0.113.9"
    bogus = rf.get("/", HTTP_X_REAL_IP="not an address", REMOTE_ADDR="10.0.0.1")
    assert record(bogus, Action.EXPORT).ip == "10.0.0.1"


@override_settings(AUDITLOG_IP_META_KEY=None, RATELIMIT_IP_META_KEY=None)
def test_forwarded_headers_are_ignored_without_a_configured_proxy(rf, db):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9", HTTP_X_REAL_IP="203.0.113.9", REMOTE_ADDR="10.0.0.1",
                     HTTP_USER_AGENT="x" * 1000)
    event = record(request, Action.EXPORT)
    assert event.ip == "10.0.0.1" and len(event.user_agent) == 255


# --- the search page --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, status", [
    (Role.CITY_BUREAU, 200), (Role.SYSTEM_ADMIN, 200), (Role.COUNTY_BUREAU, 403), (Role.UNIT_ADMIN, 403),
    (Role.BASE_STAFF, 403), (Role.INDUSTRY_DEPT, 403), (Role.TRAINEE, 403),
])
def test_only_the_city_bureau_and_superusers_open_the_log(client, users, role, status):
    login(client, users[role])
    assert client.get("/auditlog/").status_code == status
    assert client.get("/auditlog/export.csv").status_code == status
    assert visible(users[role], AuditEvent).exists() == (status == 200)


def test_a_system_admin_who_is_not_a_superuser_is_refused(client, db):
    admin_user = f.UserFactory(role=Role.SYSTEM_ADMIN, is_superuser=False)
    login(client, admin_user)
    assert client.get("/auditlog/").status_code == 403


def test_anonymous_visitors_are_sent_to_login(client, db):
    response = client.get("/auditlog/")
    assert response.status_code == 302 and response.url.startswith("/login/")


@pytest.fixture
def history(users):
    """Events on three days from two users, a failed login and two networks (oldest first)."""
    tz = timezone.get_current_timezone()
    city, county = users[Role.CITY_BUREAU], users[Role.COUNTY_BUREAU]

    def at(day, hour):
        return datetime.datetime(2026, 3, day, hour, tzinfo=tz)

    made = [
        AuditEvent(at=at(1, 9), user=county, username="county", action=Action.LOGIN, ip="10.0.0.1"),
        AuditEvent(at=at(2, 10), user=county, username="county", action=Action.EXPORT, target="龙亭区 单位达标率",
                   target_type="orgs.Region", target_id="7", ip="10.0.0.1"),
        AuditEvent(at=at(2, 11), user=city, username="city", action=Action.VIEW_FULL_ID,
                   target="张三（410202********1234）", ip="192.168.5.6"),
        AuditEvent(at=at(3, 8), user=None, username="ghost", action=Action.LOGIN_FAILED, target="ghost",
                   ip="192.168.5.7"),
    ]
    AuditEvent.objects.bulk_create(made)
    return made


def _actions(client, **query) -> list[str]:
    response = client.get("/auditlog/", query)
    return [e.action for e in response.context["page_obj"]]


def test_the_page_lists_newest_first_and_filters(client, users, history):
    login(client, users[Role.CITY_BUREAU])  # its own login event is today: outside the March range
    march = {"from": "2026-03-01", "to": "2026-03-03"}
    assert _actions(client, **march) == ["login_failed", "view_full_id", "export", "login"]
    assert _actions(client, **{"from": "2026-03-02", "to": "2026-03-02"}) == ["view_full_id", "export"]
    assert _actions(client, **march, action="export") == ["export"]
    assert _actions(client, **march, user="COUNTY") == ["export", "login"]
    assert _actions(client, **march, target="张三") == ["view_full_id"]
    assert _actions(client, **march, target="7") == ["export"]  # an object's id matches exactly
    assert _actions(client, **march, ip="192.168.5.") == ["login_failed", "view_full_id"]
    assert _actions(client, **march, ip="10.0.0.1", action="login") == ["login"]
    html = client.get("/auditlog/", {**march, "action": "view_full_id"}).content.decode()
    assert "张三（410202********1234）" in html and "查看完整身份证号" in html
    assert _actions(client, **march, action="no-such-action") == ["login_failed", "view_full_id", "export", "login"]
    assert client.get("/auditlog/", {"from": "not-a-date"}).status_code == 200


def test_the_page_is_paginated(client, users):
    login(client, users[Role.CITY_BUREAU])
    AuditEvent.objects.bulk_create([AuditEvent(action=Action.EXPORT, username=f"u{i}", target=f"t{i}")
                                    for i in range(60)])
    first = client.get("/auditlog/", {"action": "export"})
    assert len(first.context["page_obj"]) == 50 and first.context["page_obj"].paginator.count == 60
    second = client.get("/auditlog/", {"action": "export", "page": 2})
    assert len(second.context["page_obj"]) == 10
    assert 'action=export&amp;page=2' in first.content.decode()


def test_the_csv_export_holds_the_filtered_events_and_is_itself_recorded(client, users, history):
    login(client, users[Role.CITY_BUREAU])
    response = client.get("/auditlog/export.csv", {"from": "2026-03-01", "to": "2026-03-03", "user": "county"},
                          **WHERE)
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.csv"')
    text = response.content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:4] == ["时间", "用户名", "角色", "操作"]
    assert [r[3] for r in table[1:]] == ["导出", "登录"]
    event = events(Action.EXPORT)[-1]
    assert event.user == users[Role.CITY_BUREAU] and event.target_type == "auditlog.AuditEvent"
    assert event.details["rows"] == 2 and event.details["format"] == "csv"
    assert event.details["filters"] == {"from": "2026-03-01", "to": "2026-03-03", "user": "county"}
    assert_where(event)


def test_the_xlsx_export_writes_formula_like_text_as_text(client, users):
    AuditEvent.objects.create(action=Action.LOGIN_FAILED, username="=HYPERLINK(\"http://x\")", target="=1+1")
    login(client, users[Role.CITY_BUREAU])
    response = client.get("/auditlog/export.xlsx", {"action": "login_failed"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(values) == 2 and values[1][1].startswith("'=") and values[1][4] == "'=1+1"
    assert only(Action.EXPORT).details["format"] == "xlsx"


def test_an_unknown_export_format_is_404(client, users):
    login(client, users[Role.CITY_BUREAU])
    assert client.get("/auditlog/export.pdf").status_code == 404
