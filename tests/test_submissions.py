"""Submissions (W1, W2): passed results and completions only, nothing reported twice, unique serials, a submitted
batch frozen, pending hours; the pages' roles and scope; two batches filling at once on PostgreSQL."""
import datetime
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection
from django.urls import reverse

from apps.accounts.models import Role
from apps.bases.models import TrainingBase
from apps.catalog.models import Course
from apps.core.errors import DomainError, NotVisible
from apps.enrollment import services, submissions
from apps.enrollment.models import ExamResult, OnlineCompletion, Registration, Submission, SubmissionItem
from apps.enrollment.selectors import pending_hours
from apps.orgs.models import Region

from . import factories as f

BEFORE = datetime.date(2016, 6, 1)
DONE = datetime.date(2016, 7, 22)


def a_person(region, level="intermediate"):
    p = f.PersonFactory(unit=f.UnitFactory(region=region))
    f.TitleHoldingFactory(person=p, level=level, obtained_on=datetime.date(2010, 1, 1))
    return p


def graded_class(base, course, code, outcomes):
    """A class at `base` whose registered people got `outcomes` (True passed, False failed, None no result)."""
    c = services.class_create(base=base, course=course, code=code, starts_on=datetime.date(2016, 7, 20),
                              ends_on=DONE, capacity=50)
    city = Region.objects.get(code="410200")
    people = [a_person(city) for _ in outcomes]
    services.registrations_add(training_class_id=c.pk, person_ids=[p.pk for p in people], today=BEFORE)
    for reg, passed in zip(Registration.objects.filter(training_class=c).order_by("pk"), outcomes):
        if passed is not None:
            ExamResult.objects.create(registration=reg, passed=passed, score=80 if passed else 40,
                                      completed_on=DONE if passed else None)
    return c, people


def completion(base, person, course, hours, passed=True, record=None):
    record = record or f"R{OnlineCompletion.objects.count()}"
    return OnlineCompletion.objects.create(base=base, platform_record_id=record,
                                           person=person, course=course, hours=hours,
                                           completed_on=datetime.date(2016, 9, 1), passed=passed)


@pytest.fixture
def world(kaifeng):
    kfdx = TrainingBase.objects.get(code="kf-kfdx")
    online = TrainingBase.objects.get(code="kf-online")
    f01 = Course.objects.get(year=2016, code="GX16-F01")
    online_course = Course.objects.filter(year=2016, mode="online", category__startswith="public").first()
    cls, people = graded_class(kfdx, f01, "KD-01", [True, True, False, None])
    other_cls, other_people = graded_class(TrainingBase.objects.get(code="kf-jsxx"), f01, "JS-01", [True])
    good = completion(online, people[0], online_course, Decimal("4.5"))
    bad = completion(online, people[1], online_course, Decimal("3"), passed=False)
    return {"kfdx": kfdx, "online": online, "f01": f01, "class": cls, "people": people, "good": good, "bad": bad,
            "online_course": online_course, "other_people": other_people}


def test_a_draft_gets_a_number_per_base_and_day(world):
    a = submissions.submission_create(base=world["kfdx"], today=datetime.date(2016, 8, 1))
    b = submissions.submission_create(base=world["kfdx"], today=datetime.date(2016, 8, 1))
    assert (a.number, b.number) == ("SB-kf-kfdx-20160801-1", "SB-kf-kfdx-20160801-2")
    assert a.status == Submission.Status.DRAFT


def test_only_passed_results_of_the_base_enter_with_the_course_hours(world):
    sub = submissions.submission_create(base=world["kfdx"])
    assert submissions.submission_add_ready(submission_id=sub.pk) == 2
    items = list(sub.items.order_by("pk"))
    assert {i.person_id for i in items} == {world["people"][0].pk, world["people"][1].pk}  # not the failed one
    assert all(i.hours == world["f01"].hours and i.organiser == "city" and i.completed_on == DONE
               and i.course == world["f01"] and i.completion_id is None for i in items)


def test_online_completions_enter_with_their_own_hours_and_never_the_failed_ones(world):
    sub = submissions.submission_create(base=world["online"])
    assert submissions.submission_add_ready(submission_id=sub.pk) == 1
    item = sub.items.get()
    assert (item.completion, item.hours, item.organiser, item.course) == (
        world["good"], Decimal("4.5"), "city", world["online_course"])
    assert not SubmissionItem.objects.filter(completion=world["bad"]).exists()


def test_nothing_is_reported_twice(world):
    first = submissions.submission_create(base=world["kfdx"])
    second = submissions.submission_create(base=world["kfdx"])
    assert submissions.submission_add_ready(submission_id=first.pk) == 2
    assert submissions.submission_add_ready(submission_id=first.pk) == 0
    assert submissions.submission_add_ready(submission_id=second.pk) == 0
    assert SubmissionItem.objects.count() == 2


def test_the_limit_caps_a_batch_and_the_rest_stays_ready(world):
    sub = submissions.submission_create(base=world["kfdx"])
    assert submissions.submission_add_ready(submission_id=sub.pk, limit=1) == 1
    assert submissions.submission_add_ready(submission_id=sub.pk, limit=5) == 1
    assert sub.items.count() == 2


def test_serials_are_unique_and_name_year_and_base(world):
    a = submissions.submission_create(base=world["kfdx"])
    b = submissions.submission_create(base=world["online"])
    submissions.submission_add_ready(submission_id=a.pk)
    submissions.submission_add_ready(submission_id=b.pk)
    items = list(SubmissionItem.objects.select_related("submission__base"))
    records = [i.learning_record_no for i in items]
    certificates = [i.certificate_no for i in items]
    assert len(items) == 3 and len(set(records)) == 3 and len(set(certificates)) == 3
    for i in items:
        code = i.submission.base.code
        assert i.learning_record_no == f"XD-{i.completed_on.year}-{code}-{i.pk:07d}"
        assert i.certificate_no == f"HG-{i.completed_on.year}-{code}-{i.pk:07d}"


def test_a_long_base_code_still_fits_the_serial():
    assert len(submissions.serial("XD", 2016, "x" * 30, 12)) == 40
    assert submissions.serial("XD", 2016, "x" * 30, 12).endswith("-0000012")


def test_a_removed_item_becomes_ready_again(world):
    sub = submissions.submission_create(base=world["kfdx"])
    submissions.submission_add_ready(submission_id=sub.pk)
    item = sub.items.first()
    submissions.submission_remove_item(item_id=item.pk)
    assert sub.items.count() == 1
    assert submissions.submission_add_ready(submission_id=sub.pk) == 1


def test_an_empty_batch_cannot_be_submitted(world):
    sub = submissions.submission_create(base=world["kfdx"])
    with pytest.raises(DomainError) as exc:
        submissions.submission_submit(submission_id=sub.pk)
    assert exc.value.code == "submission_empty" and sub.number in str(exc.value)
    sub.refresh_from_db()
    assert sub.status == Submission.Status.DRAFT and sub.submitted_at is None


def test_a_submitted_batch_is_frozen(world, staff):
    user = staff
    sub = submissions.submission_create(base=world["kfdx"])
    submissions.submission_add_ready(submission_id=sub.pk, limit=1)
    done = submissions.submission_submit(submission_id=sub.pk, by=user)
    assert done.status == Submission.Status.SUBMITTED and done.submitted_by == user and done.submitted_at
    before = list(SubmissionItem.objects.values_list("pk", "learning_record_no", "certificate_no", "hours"))
    item = sub.items.get()
    for attempt in (lambda: submissions.submission_add_ready(submission_id=sub.pk),
                    lambda: submissions.submission_remove_item(item_id=item.pk),
                    lambda: submissions.submission_submit(submission_id=sub.pk)):
        with pytest.raises(submissions.SubmissionFrozen) as exc:
            attempt()
        assert sub.number in str(exc.value) and "已上报" in str(exc.value)
    assert list(SubmissionItem.objects.values_list("pk", "learning_record_no", "certificate_no", "hours")) == before
    sub.refresh_from_db()
    assert (sub.status, sub.submitted_at) == (Submission.Status.SUBMITTED, done.submitted_at)


def test_pending_hours_sum_submitted_items_of_the_year_only(world):
    p = world["people"][0]
    assert pending_hours(person_id=p.pk, year=2016) == Decimal(0)
    face = submissions.submission_create(base=world["kfdx"])
    submissions.submission_add_ready(submission_id=face.pk)
    online = submissions.submission_create(base=world["online"])
    submissions.submission_add_ready(submission_id=online.pk)
    assert pending_hours(person_id=p.pk, year=2016) == Decimal(0)  # drafts are not reported yet
    submissions.submission_submit(submission_id=face.pk)
    assert pending_hours(person_id=p.pk, year=2016) == world["f01"].hours
    submissions.submission_submit(submission_id=online.pk)
    assert pending_hours(person_id=p.pk, year=2016) == world["f01"].hours + Decimal("4.5")
    assert pending_hours(person_id=p.pk, year=2017) == Decimal(0)
    assert pending_hours(person_id=world["people"][2].pk, year=2016) == Decimal(0)  # failed


def test_a_missing_item_or_batch_is_not_visible(world):
    with pytest.raises(NotVisible):
        submissions.submission_remove_item(item_id=999999)
    with pytest.raises(NotVisible):
        submissions.submission_add_ready(submission_id=999999)


# --- pages -------------------------------------------------------------------------------------------------------


@pytest.fixture
def staff(world):
    return f.UserFactory(username="kfdx", role=Role.BASE_STAFF, base=world["kfdx"], is_staff=False)


@pytest.fixture
def users(world):
    """One login per other role, and staff of another base (开封市建设学校)."""
    from apps.orgs.models import IndustryDepartment

    city, county = Region.objects.get(code="410200"), Region.objects.get(code="410202")
    person = world["people"][0]
    return {
        Role.CITY_BUREAU: f.UserFactory(role=Role.CITY_BUREAU, region=city),
        Role.COUNTY_BUREAU: f.UserFactory(role=Role.COUNTY_BUREAU, region=county),
        Role.UNIT_ADMIN: f.UserFactory(role=Role.UNIT_ADMIN, unit=person.unit),
        Role.INDUSTRY_DEPT: f.UserFactory(role=Role.INDUSTRY_DEPT, department=IndustryDepartment.objects.first()),
        Role.TRAINEE: f.UserFactory(role=Role.TRAINEE, person=person, is_staff=False),
        Role.BASE_STAFF: f.UserFactory(role=Role.BASE_STAFF, base=TrainingBase.objects.get(code="kf-jsxx")),
    }


def test_base_staff_create_fill_and_submit_through_the_pages(client, world, staff):
    client.force_login(staff)
    assert client.get(reverse("enrollment:submission_list")).status_code == 200
    response = client.post(reverse("enrollment:submission_create"))
    sub = Submission.objects.get(base=world["kfdx"])
    assert response.status_code == 302 and response.url == reverse("enrollment:submission_detail", args=[sub.pk])
    client.post(reverse("enrollment:submission_add_ready", args=[sub.pk]))
    assert sub.items.count() == 2
    page = client.get(reverse("enrollment:submission_detail", args=[sub.pk])).content.decode()
    item = sub.items.select_related("person").first()
    assert item.certificate_no in page and item.person.masked_id in page and item.person.id_number not in page
    assert 'name="csrfmiddlewaretoken"' in page
    client.post(reverse("enrollment:submission_remove_item", args=[sub.pk, item.pk]))
    assert sub.items.count() == 1
    confirm = client.get(reverse("enrollment:submission_submit", args=[sub.pk]))
    assert confirm.status_code == 200 and sub.number in confirm.content.decode()
    sub.refresh_from_db()
    assert sub.status == Submission.Status.DRAFT  # the GET only asks
    response = client.post(reverse("enrollment:submission_submit", args=[sub.pk]), follow=True)
    sub.refresh_from_db()
    assert sub.status == Submission.Status.SUBMITTED and sub.submitted_by == staff
    # Refusals come back as a message on the page, nothing changed.
    response = client.post(reverse("enrollment:submission_add_ready", args=[sub.pk]), follow=True)
    assert "已上报" in response.content.decode() and sub.items.count() == 1


def test_submission_pages_need_base_staff_and_stay_in_scope(client, world, users, staff):
    sub = submissions.submission_create(base=world["kfdx"])
    for role in (Role.CITY_BUREAU, Role.UNIT_ADMIN, Role.INDUSTRY_DEPT, Role.TRAINEE, Role.COUNTY_BUREAU):
        client.force_login(users[role])
        assert client.get(reverse("enrollment:submission_list")).status_code == 403
        assert client.post(reverse("enrollment:submission_add_ready", args=[sub.pk])).status_code == 403
    client.force_login(users[Role.BASE_STAFF])  # staff of another base
    assert client.get(reverse("enrollment:submission_detail", args=[sub.pk])).status_code == 404
    assert client.post(reverse("enrollment:submission_add_ready", args=[sub.pk])).status_code == 404
    assert client.post(reverse("enrollment:submission_submit", args=[sub.pk])).status_code == 404
    assert not sub.items.exists()
    client.logout()
    assert client.get(reverse("enrollment:submission_list")).status_code == 302  # to the login page


def test_actions_are_post_only(client, world, staff):
    client.force_login(staff)
    sub = submissions.submission_create(base=world["kfdx"])
    assert client.get(reverse("enrollment:submission_add_ready", args=[sub.pk])).status_code == 405
    assert client.get(reverse("enrollment:submission_create")).status_code == 405


# --- concurrency --------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_batches_filling_at_once_never_share_a_result(kaifeng, monkeypatch):
    kfdx = TrainingBase.objects.get(code="kf-kfdx")
    graded_class(kfdx, Course.objects.get(year=2016, code="GX16-F01"), "RACE", [True] * 30)
    batches = [submissions.submission_create(base=kfdx) for _ in range(2)]
    added, errors, barrier = [], [], threading.Barrier(2)
    read, reads = submissions._ready_rows, []

    def read_then_wait(base, limit):
        # Both batches read the same 30 ready results before either inserts: the worst interleaving.
        rows = read(base, limit)
        reads.append(len(rows))
        if len(reads) <= 2:
            barrier.wait(timeout=10)
        return rows

    monkeypatch.setattr(submissions, "_ready_rows", read_then_wait)

    def fill(sub):
        try:
            barrier.wait(timeout=10)
            added.append(submissions.submission_add_ready(submission_id=sub.pk))
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=fill, args=(s,)) for s in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(added) == [0, 30]
    assert reads == [30, 30, 0]  # the loser's insert hit the unique key, it read again and found nothing new
    assert SubmissionItem.objects.count() == 30
    assert SubmissionItem.objects.values("result").distinct().count() == 30
    assert SubmissionItem.objects.values("certificate_no").distinct().count() == 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clicks_on_the_same_batch_add_once(kaifeng):
    kfdx = TrainingBase.objects.get(code="kf-kfdx")
    graded_class(kfdx, Course.objects.get(year=2016, code="GX16-F01"), "RACE", [True] * 10)
    sub = submissions.submission_create(base=kfdx)
    added, errors, barrier = [], [], threading.Barrier(2)

    def fill():
        try:
            barrier.wait(timeout=10)
            added.append(submissions.submission_add_ready(submission_id=sub.pk))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=fill) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and sorted(added) == [0, 10]
    assert SubmissionItem.objects.filter(submission=sub).count() == 10
