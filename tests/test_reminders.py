"""Weekly reminders: who is behind pace around 1 July and 1 October, the weekly throttle, the emails, and the
notice on the home page that only its recipient can dismiss."""
import datetime
from decimal import Decimal as D

import pytest
from django.core import mail
from django.db import transaction

from apps.accounts.models import Role
from apps.ledger import services as ledger
from apps.orgs.models import Region
from apps.reminders.models import Reminder
from apps.reminders.services import elapsed_fraction, reminders_send

from . import factories as f


def _hours(person, key: str, **by_category: str) -> None:
    with transaction.atomic():
        ledger.entries_record(entries=[
            ledger.EntryInput(person_id=person.pk, category=c, hours=D(h), completed_on=datetime.date(2016, 3, 1),
                              source="migration", source_key=f"{key}-{c}", organiser="city", course_title="培训")
            for c, h in by_category.items()])


@pytest.fixture
def world(kaifeng):
    county, other_county = Region.objects.get(code="410202"), Region.objects.get(code="410221")
    unit, other_unit = f.UnitFactory(region=county, name="龙亭区人民医院"), f.UnitFactory(region=other_county)
    people = {
        # 40 hours, public done: behind pace from 1 July (90 × 182/366 ≈ 44.8).
        "slow": f.PersonFactory(unit=unit, name="钱慢慢"),
        # 50 hours: on pace in July, behind from late September (90 × 273/366 ≈ 67.1).
        "steady": f.PersonFactory(unit=unit, name="孙稳稳"),
        # 80 hours but only 16 public: on pace, yet public subjects are missing once October starts.
        "public_short": f.PersonFactory(unit=other_unit, name="李公需"),
        "done": f.PersonFactory(unit=unit, name="周达标"),
        # A title and no hours at all: the most behind of all, with no person-year row of entries.
        "idle": f.PersonFactory(unit=other_unit, name="吴未学"),
    }
    for p in people.values():
        f.TitleHoldingFactory(person=p, level="intermediate", obtained_on=datetime.date(2011, 1, 1))
    f.PersonFactory(unit=unit, name="郑无职称")  # no title: no requirement, never reminded
    _hours(people["slow"], "slow", public_required="18", public_elective="8", professional="14")
    _hours(people["steady"], "steady", public_required="18", public_elective="8", professional="24")
    _hours(people["public_short"], "ps", public_required="10", public_elective="6", professional="64")
    _hours(people["done"], "done", public_required="18", public_elective="8", professional="64")
    users = {
        "slow": f.UserFactory(role=Role.TRAINEE, person=people["slow"], email="slow@example.cn", is_staff=False),
        "public_short": f.UserFactory(role=Role.TRAINEE, person=people["public_short"], email="ps@example.cn",
                                      is_staff=False),
        "done": f.UserFactory(role=Role.TRAINEE, person=people["done"], email="done@example.cn", is_staff=False),
        "unit_admin": f.UserFactory(role=Role.UNIT_ADMIN, unit=unit, email="hr@lt-hospital.cn"),
        "unit_admin_2": f.UserFactory(role=Role.UNIT_ADMIN, unit=unit, email="hr2@lt-hospital.cn"),
        "other_unit_admin": f.UserFactory(role=Role.UNIT_ADMIN, unit=other_unit, email=""),
        "county": f.UserFactory(role=Role.COUNTY_BUREAU, region=county),
    }
    return {"people": people, "users": users, "unit": unit, "other_unit": other_unit}


def reminded(kind: str | None = None) -> dict[str, str]:
    qs = Reminder.objects.filter(person__isnull=False)
    if kind:
        qs = qs.filter(kind=kind)
    return {r.person.name: r.kind for r in qs.select_related("person")}


# --- who is behind, around the boundaries -----------------------------------------------------------------------


def test_elapsed_fraction_of_the_year():
    assert elapsed_fraction(datetime.date(2016, 1, 1)) == 0
    assert elapsed_fraction(datetime.date(2016, 7, 1)) == D("0.497268")  # 182 / 366 (a leap year)


def test_nothing_before_the_second_half_of_the_year(world):
    counts = reminders_send(today=datetime.date(2016, 6, 30))
    assert counts["skipped"] == "before_july"
    assert not Reminder.objects.exists() and mail.outbox == []


def test_from_1_july_those_behind_pace_are_reminded(world):
    counts = reminders_send(today=datetime.date(2016, 7, 1))
    assert reminded() == {"钱慢慢": "pace", "吴未学": "pace"}
    assert counts["people"] == 2 and counts["units"] == 2


def test_in_late_september_pace_only(world):
    reminders_send(today=datetime.date(2016, 9, 30))
    assert reminded() == {"钱慢慢": "pace", "孙稳稳": "pace", "吴未学": "pace"}


def test_from_1_october_missing_public_hours_are_named_first(world):
    reminders_send(today=datetime.date(2016, 10, 1))
    assert reminded() == {"钱慢慢": "pace", "孙稳稳": "pace", "李公需": "public", "吴未学": "public"}
    message = Reminder.objects.get(person=world["people"]["public_short"]).message
    assert "公需 16 / 26 学时" in message and "还差 10 学时公需科目，其中必修 8 学时" in message


def test_the_pace_message_says_the_gap_in_plain_words(world):
    reminders_send(today=datetime.date(2016, 7, 1))
    message = Reminder.objects.get(person=world["people"]["slow"]).message
    assert "应完成约 45 学时" in message and "您已完成 40 学时" in message and "还差 50 学时" in message


# --- emails -----------------------------------------------------------------------------------------------------


def test_emails_go_to_the_trainee_login_and_the_unit_admins(world):
    counts = reminders_send(today=datetime.date(2016, 7, 1))
    to = sorted(tuple(m.to) for m in mail.outbox)
    # 钱慢慢 has a login with an email; 吴未学 has none (reminded on the home page only, if they log in later);
    # the other unit's admin has no email address.
    assert to == [("hr@lt-hospital.cn", "hr2@lt-hospital.cn"), ("slow@example.cn",)]
    assert counts["emails"] == 2
    trainee_mail = next(m for m in mail.outbox if m.to == ["slow@example.cn"])
    assert "学时进度提醒" in trainee_mail.subject and "还差" in trainee_mail.body
    unit_mail = next(m for m in mail.outbox if "hr@lt-hospital.cn" in m.to)
    assert "龙亭区人民医院 有 1 名专业技术人员" in unit_mail.body
    assert Reminder.objects.get(person=world["people"]["slow"]).emailed_to == "slow@example.cn"
    assert Reminder.objects.get(person=world["people"]["idle"]).emailed_to == ""


# --- throttle ---------------------------------------------------------------------------------------------------


def test_at_most_one_reminder_a_week_per_person_and_unit(world):
    first = reminders_send(today=datetime.date(2016, 7, 4))
    assert (first["people"], first["units"]) == (2, 2)
    sent = len(mail.outbox)
    again = reminders_send(today=datetime.date(2016, 7, 8))
    assert (again["people"], again["units"], again["emails"]) == (0, 0, 0)
    assert len(mail.outbox) == sent and Reminder.objects.count() == 4
    later = reminders_send(today=datetime.date(2016, 7, 12))  # 8 days on
    assert (later["people"], later["units"]) == (2, 2)
    assert Reminder.objects.filter(person=world["people"]["slow"]).count() == 2
    assert len(mail.outbox) == 2 * sent


def test_a_person_newly_behind_is_reminded_while_others_wait_their_week(world):
    reminders_send(today=datetime.date(2016, 7, 20))
    assert set(reminded()) == {"钱慢慢", "吴未学"}
    # 孙稳稳's 50 hours fall behind 90 × 204/366 ≈ 50.2 on 23 July.
    counts = reminders_send(today=datetime.date(2016, 7, 25))
    assert (counts["people"], counts["units"]) == (1, 0)
    assert Reminder.objects.filter(person=world["people"]["steady"]).count() == 1
    assert Reminder.objects.filter(person=world["people"]["slow"]).count() == 1


def test_the_weekly_task_is_the_one_beat_names(world, settings):
    from apps.reminders.tasks import send_reminders

    assert settings.CELERY_BEAT_SCHEDULE["weekly-reminders"]["task"] == "reminders.send_reminders"
    assert send_reminders.name == "reminders.send_reminders"
    result = send_reminders.delay()
    assert result.get()["people"] == 0  # no policy for the current year in the 2016 fixture: nothing to judge


def test_the_queries_do_not_grow_with_the_number_of_people(world, django_assert_max_num_queries):
    for _ in range(30):
        p = f.PersonFactory(unit=world["unit"])
        f.TitleHoldingFactory(person=p, level="junior", obtained_on=datetime.date(2012, 1, 1))
    with django_assert_max_num_queries(20):
        counts = reminders_send(today=datetime.date(2016, 7, 1))
    assert counts["people"] == 32


# --- the home-page notice ---------------------------------------------------------------------------------------


def test_the_notice_shows_on_the_trainee_home_page_until_read(client, world):
    reminders_send(today=datetime.date(2016, 7, 1))
    reminder = Reminder.objects.get(person=world["people"]["slow"])
    client.force_login(world["users"]["slow"])
    html = client.get("/").content.decode()
    assert f'data-reminder="{reminder.pk}"' in html and "应完成约 45 学时" in html
    r = client.post(f"/reminders/{reminder.pk}/read/", {"next": "/"})
    assert r.status_code == 302 and r["Location"] == "/"
    reminder.refresh_from_db()
    assert reminder.read_at is not None
    assert "data-reminder=" not in client.get("/").content.decode()


def test_the_unit_notice_shows_on_the_unit_admin_home_page_until_read(client, world):
    reminders_send(today=datetime.date(2016, 7, 1))
    notice = Reminder.objects.get(unit=world["unit"], person__isnull=True)
    assert notice.kind == "unit"
    client.force_login(world["users"]["unit_admin"])
    html = client.get("/").content.decode()
    assert f'data-reminder="{notice.pk}"' in html and 'data-kind="unit"' in html
    # The unit's people's own reminders are theirs, not the admin's notices.
    assert html.count("data-reminder=") == 1
    assert client.post(f"/reminders/{notice.pk}/read/").status_code == 302
    assert "data-reminder=" not in client.get("/").content.decode()


def test_nobody_else_can_mark_a_reminder_read(client, world):
    reminders_send(today=datetime.date(2016, 7, 1))
    personal = Reminder.objects.get(person=world["people"]["slow"])
    unit_notice = Reminder.objects.get(unit=world["unit"], person__isnull=True)
    for who in ("done", "unit_admin", "other_unit_admin", "county"):
        client.force_login(world["users"][who])
        assert client.post(f"/reminders/{personal.pk}/read/").status_code == 404, who
    for who in ("slow", "other_unit_admin", "county"):
        client.force_login(world["users"][who])
        assert client.post(f"/reminders/{unit_notice.pk}/read/").status_code == 404, who
    client.force_login(world["users"]["slow"])
    assert client.get(f"/reminders/{personal.pk}/read/").status_code == 405
    assert not Reminder.objects.filter(read_at__isnull=False).exists()


def test_an_outside_next_address_is_not_followed(client, world):
    reminders_send(today=datetime.date(2016, 7, 1))
    reminder = Reminder.objects.get(person=world["people"]["slow"])
    client.force_login(world["users"]["slow"])
    r = client.post(f"/reminders/{reminder.pk}/read/", {"next": "https://evil.example/"})
    assert r["Location"] == "/"


def test_reminders_are_read_only_in_the_admin(client, world):
    reminders_send(today=datetime.date(2016, 7, 1))
    client.force_login(world["users"]["county"])
    r = client.get("/admin/reminders/reminder/")
    # The county bureau sees its county's people's reminders, not the other county's.
    assert r.status_code == 200 and "钱慢慢" in r.content.decode() and "吴未学" not in r.content.decode()
    assert client.get("/admin/reminders/reminder/add/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_rows_stream_in_batches_with_each_batch_committed(world, monkeypatch):
    # Real commits between batches while the statement's rows are still being read, on both databases.
    from apps.reminders import services

    monkeypatch.setattr(services, "BATCH", 1)
    counts = reminders_send(today=datetime.date(2016, 10, 1))
    assert (counts["people"], counts["units"]) == (4, 2)
    assert reminded() == {"钱慢慢": "pace", "孙稳稳": "pace", "李公需": "public", "吴未学": "public"}
    assert reminders_send(today=datetime.date(2016, 10, 2))["people"] == 0
