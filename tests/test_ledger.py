"""The hour ledger: append-only, running totals always equal to the journal, point-in-time answers."""
import datetime
import random
from decimal import Decimal as D

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.core.errors import Conflict, DomainError
from apps.ledger import selectors, services
from apps.ledger.models import HourEntry, LedgerIsAppendOnly, PersonYearTotal
from apps.orgs.models import Region

from . import factories as f


@pytest.fixture
def kf_unit(kaifeng):
    return f.UnitFactory(region=Region.objects.get(code="410202"))


@pytest.fixture
def trainee(kf_unit):
    p = f.PersonFactory(unit=kf_unit, name="赵学时")
    f.TitleHoldingFactory(person=p, level="intermediate", obtained_on=datetime.date(2010, 5, 1))
    return p


@pytest.fixture
def policy(kaifeng):
    from apps.catalog.models import YearPolicy

    return YearPolicy.objects.get(year=2016, region__code="410200")


def entry(person, category, hours, day=datetime.date(2016, 6, 1), key=None, organiser="city", **kw):
    return services.EntryInput(person_id=person.pk, category=category, hours=D(str(hours)), completed_on=day,
                               source="migration", source_key=key or f"t:{random.random()}", organiser=organiser,
                               **kw)


def record(*entries):
    with transaction.atomic():
        return services.entries_record(entries=list(entries))


def give_full_year(person, day=datetime.date(2016, 6, 1)):
    return record(entry(person, "public_required", 18, day), entry(person, "public_elective", 8, day),
                  entry(person, "professional", 64, day))


def totals(person, year=2016):
    return PersonYearTotal.objects.get(person=person, year=year)


def test_recording_moves_the_running_totals(trainee):
    give_full_year(trainee)
    t = totals(trainee)
    assert (t.public_required, t.public_elective, t.professional, t.total, t.entries) == (18, 8, 64, 90, 3)
    assert t.organised_city == 90 and t.organised_county == 0


def test_same_source_key_is_recorded_once(trainee):
    first = record(entry(trainee, "professional", 10, key="upload:1:row:2"))
    again = record(entry(trainee, "professional", 10, key="upload:1:row:2"),
                   entry(trainee, "professional", 10, key="upload:1:row:2"))
    assert len(first) == 1 and again == []
    assert HourEntry.objects.count() == 1 and totals(trainee).professional == 10


@pytest.mark.parametrize("hours, message", [(0, "大于 0"), (-2, "大于 0"), ("1.3", "0.5")])
def test_bad_hours_are_refused_and_nothing_written(trainee, hours, message):
    with pytest.raises(DomainError) as exc:
        record(entry(trainee, "professional", 10), entry(trainee, "professional", hours))
    assert message in str(exc.value)
    assert not HourEntry.objects.exists() and not PersonYearTotal.objects.exclude(entries=0).exists()


def test_unknown_category_is_refused(trainee):
    with pytest.raises(DomainError) as exc:
        record(entry(trainee, "sports", 2))
    assert exc.value.field == "category"


def test_entries_are_immutable_in_the_orm(trainee):
    (e,) = record(entry(trainee, "professional", 10))
    e.hours = D(20)
    with pytest.raises(LedgerIsAppendOnly):
        e.save()
    with pytest.raises(LedgerIsAppendOnly):
        e.delete()
    with pytest.raises(LedgerIsAppendOnly):
        HourEntry.objects.filter(pk=e.pk).update(hours=30)
    with pytest.raises(LedgerIsAppendOnly):
        HourEntry.objects.all().delete()
    assert HourEntry.objects.get(pk=e.pk).hours == 10


@pytest.mark.postgres
@pytest.mark.parametrize("sql", ["UPDATE ledger_hourentry SET hours = 99", "DELETE FROM ledger_hourentry"])
def test_postgres_refuses_updates_and_deletes_from_any_code_path(trainee, sql):
    record(entry(trainee, "professional", 10))
    with pytest.raises(DatabaseError) as exc, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert "append-only" in str(exc.value)
    assert HourEntry.objects.get().hours == 10


def test_a_reversal_brings_90_back_to_86(trainee, policy):
    entries = record(entry(trainee, "public_required", 18), entry(trainee, "public_elective", 4),
                     entry(trainee, "public_elective", 4), entry(trainee, "professional", 64))
    assert selectors.person_compliance(person=trainee, year=2016).totals.total == 90
    with transaction.atomic():
        rev = services.entry_reverse(entry_id=entries[1].pk, reason="成绩录入错误")
    assert (rev.hours, rev.reverses, rev.source, rev.reason) == (-4, entries[1], "correction", "成绩录入错误")
    assert selectors.person_compliance(person=trainee, year=2016).totals.total == 86
    assert totals(trainee).entries == 3


def test_reversal_of_the_elective_hours_turns_compliant_into_a_gap(trainee, policy):
    entries = give_full_year(trainee)
    elective = next(e for e in entries if e.category == "public_elective")
    with transaction.atomic():
        services.entry_reverse(entry_id=elective.pk, reason="重复上报")
    record(entry(trainee, "public_elective", 4))
    r = selectors.person_compliance(person=trainee, year=2016)
    assert r.totals.total == 86 and not r.compliant
    assert r.summary == "还差 4 学时；还差 4 学时公需科目"


def test_an_entry_is_reversed_at_most_once_and_corrections_are_final(trainee):
    (e,) = record(entry(trainee, "professional", 10))
    with transaction.atomic():
        rev = services.entry_reverse(entry_id=e.pk, reason="错误")
    with pytest.raises(Conflict), transaction.atomic():
        services.entry_reverse(entry_id=e.pk, reason="再次")
    with pytest.raises(DomainError), transaction.atomic():
        services.entry_reverse(entry_id=rev.pk, reason="冲正冲正")
    with pytest.raises(DomainError) as exc, transaction.atomic():
        services.entry_reverse(entry_id=e.pk, reason="  ")
    assert exc.value.field == "reason"
    assert totals(trainee).professional == 0 and HourEntry.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_ledger_writes_need_the_callers_transaction(kaifeng):
    unit = f.UnitFactory(region=Region.objects.get(code="410202"))
    person = f.PersonFactory(unit=unit)
    with pytest.raises(RuntimeError):
        services.entries_record(entries=[entry(person, "professional", 2)])
    assert not HourEntry.objects.exists()


def test_hours_completed_on_31_december_count_for_that_year_and_on_1_january_for_the_next(trainee):
    record(entry(trainee, "professional", 6, day=datetime.date(2016, 12, 31)),
           entry(trainee, "professional", 4, day=datetime.date(2017, 1, 1)))
    assert totals(trainee, 2016).professional == 6
    assert totals(trainee, 2017).professional == 4


def test_year_that_disagrees_with_the_completion_date_is_refused(trainee):
    with pytest.raises(DomainError) as exc:
        record(entry(trainee, "professional", 6, day=datetime.date(2017, 1, 1), year=2016))
    assert exc.value.field == "year"


@pytest.mark.parametrize("promoted_on, level, public_needed", [
    (datetime.date(2016, 10, 15), "intermediate", 26),  # promoted in October: judged as intermediate
    (datetime.date(2017, 1, 10), "junior", 22),         # promoted next January: still junior for 2016
])
def test_title_level_is_the_one_in_force_on_31_december(kf_unit, policy, promoted_on, level, public_needed):
    p = f.PersonFactory(unit=kf_unit)
    f.TitleHoldingFactory(person=p, level="junior", obtained_on=datetime.date(2012, 7, 1))
    f.TitleHoldingFactory(person=p, level="intermediate", obtained_on=promoted_on)
    record(entry(p, "public_required", 18), entry(p, "public_elective", 4), entry(p, "professional", 68))
    r = selectors.person_compliance(person=p, year=2016)
    assert r.level == level and r.requirement.public == public_needed
    assert r.compliant is (public_needed == 22)


def test_evaluation_of_a_year_without_policy_is_a_clear_error(trainee):
    with pytest.raises(DomainError) as exc:
        selectors.person_compliance(person=trainee, year=2015)
    assert "2015 年度没有继续教育政策" in str(exc.value)


def test_as_of_answers_with_what_was_known_then(trainee, policy):
    from unittest import mock

    def at(day):
        return mock.patch("django.utils.timezone.now",
                          return_value=timezone.make_aware(datetime.datetime.combine(day, datetime.time(10))))

    with at(datetime.date(2016, 12, 20)):
        entries = give_full_year(trainee)
    with at(datetime.date(2017, 2, 15)):
        with transaction.atomic():
            services.entry_reverse(entry_id=entries[2].pk, reason="学时认定有误")

    def known(day):
        return selectors.person_compliance(person=trainee, year=2016, as_of=day)

    assert known(datetime.date(2016, 12, 19)).totals.total == 0
    before = known(datetime.date(2017, 1, 31))       # last January's decision
    assert before.totals.total == 90 and before.compliant
    after = known(datetime.date(2017, 2, 15))        # the reversal counts from its own day on
    assert after.totals.total == 26 and not after.compliant
    assert selectors.person_compliance(person=trainee, year=2016).totals.total == 26
    assert len(selectors.person_entries(person=trainee, year=2016, as_of=datetime.date(2017, 1, 31))) == 3


def test_one_person_is_evaluated_in_a_fixed_number_of_queries(trainee, policy, django_assert_max_num_queries):
    trainee = type(trainee).objects.select_related("unit__region__parent__parent").get(pk=trainee.pk)
    record(entry(trainee, "professional", 2))
    with django_assert_max_num_queries(5) as few:
        selectors.person_compliance(person=trainee, year=2016)
    record(*[entry(trainee, "professional", 1) for _ in range(200)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        selectors.person_compliance(person=trainee, year=2016)


def _random_ledger(people, writes: int, seed: int):
    rng = random.Random(seed)
    made = []
    for _ in range(writes):
        p = rng.choice(people)
        if made and rng.random() < 0.15:
            victim = rng.choice(made)
            try:
                with transaction.atomic():
                    services.entry_reverse(entry_id=victim.pk, reason="随机冲正")
            except DomainError:
                pass
            continue
        day = datetime.date(rng.choice([2015, 2016, 2016, 2017]), rng.randint(1, 12), rng.randint(1, 28))
        cat = rng.choice(["public_required", "public_elective", "professional"])
        made += record(entry(p, cat, D(rng.randint(1, 40)) / 2, day=day,
                             organiser=rng.choice(["", "county", "city", "province"])))
    return made


def test_running_totals_equal_a_recount_after_thousands_of_random_writes(kf_unit):
    people = [f.PersonFactory(unit=kf_unit) for _ in range(25)]
    _random_ledger(people, 2000, seed=7)
    checked, drift = selectors.ledger_drift()
    assert drift == [] and checked > 50
    # The recount is a real check: a tampered total is caught.
    PersonYearTotal.objects.filter(pk=PersonYearTotal.objects.first().pk).update(professional=D("9999"))
    _, drift = selectors.ledger_drift()
    assert len(drift) == 1


def test_verify_ledger_command_reports_drift(kf_unit, capsys):
    from django.core.management import CommandError, call_command

    people = [f.PersonFactory(unit=kf_unit) for _ in range(3)]
    _random_ledger(people, 40, seed=3)
    call_command("verify_ledger", "--year", "2016")
    assert "无差异" in capsys.readouterr().out
    PersonYearTotal.objects.filter(year=2016).update(public_required=D("-1"))
    with pytest.raises(CommandError, match="差异"):
        call_command("verify_ledger", "--year", "2016")


def test_scope_evaluation_in_sql_equals_the_pure_engine_person_by_person(kf_unit, policy):
    from apps.personnel.models import Person

    rng = random.Random(11)
    people = []
    for i in range(40):
        p = f.PersonFactory(unit=kf_unit)
        f.TitleHoldingFactory(person=p, level=rng.choice(["junior", "intermediate", "senior_deputy", "senior_full"]),
                              obtained_on=datetime.date(2010, 1, 1))
        people.append(p)
    for p in people:
        record(*[entry(p, rng.choice(["public_required", "public_elective", "professional"]),
                       D(rng.randint(1, 60)) / 2) for _ in range(rng.randint(0, 8))])
    evaluation = selectors.scope_compliance(year=2016, policy=policy, people=Person.objects.filter(unit=kf_unit))
    rows = evaluation.rows()
    assert len(rows) == 40  # everyone holding a title, with or without hours (the title trigger made their rows)
    for row in rows:
        expected = selectors.person_compliance(person=Person.objects.get(pk=row["person_id"]), year=2016)
        assert row["compliant"] == expected.compliant, row
        assert D(row["total"]) == expected.totals.total and row["level"] == expected.level
    summary = evaluation.summary()
    assert summary["people"] == 40
    assert summary["compliant"] == sum(selectors.person_compliance(person=p, year=2016).compliant for p in people)


# --- the person-year row: level kept by the database, rows for everyone once a year is open ------------------------


def test_a_title_recorded_anywhere_moves_the_level_of_the_year_row(kf_unit, policy):
    p = f.PersonFactory(unit=kf_unit)
    f.TitleHoldingFactory(person=p, level="junior", obtained_on=datetime.date(2012, 7, 1))
    assert totals(p).level == "junior" and totals(p).entries == 0  # a 2016 row from the moment the title exists
    promotion = f.TitleHoldingFactory(person=p, level="intermediate", obtained_on=datetime.date(2016, 10, 15))
    assert totals(p).level == "intermediate"
    from apps.personnel.models import TitleHolding

    TitleHolding.objects.filter(pk=promotion.pk).update(obtained_on=datetime.date(2017, 1, 10))
    assert totals(p).level == "junior"
    promotion.delete()
    assert totals(p).level == "junior"
    checked, drift = selectors.ledger_drift(year=2016)
    assert drift == []


def test_year_open_gives_everyone_with_a_title_a_row_and_is_idempotent(kf_unit, policy):
    from apps.catalog.models import YearPolicy

    people = [f.PersonFactory(unit=kf_unit) for _ in range(5)]
    for i, p in enumerate(people):
        f.TitleHoldingFactory(person=p, level="junior", obtained_on=datetime.date(2017 if i == 0 else 2010, 3, 1))
    YearPolicy.objects.create(year=2017, region=policy.region)  # published after the titles were recorded
    assert not PersonYearTotal.objects.filter(year=2017).exists()
    assert services.year_open(year=2017) == 5
    assert PersonYearTotal.objects.filter(year=2017, level="junior").count() == 5
    assert PersonYearTotal.objects.filter(year=2016).count() == 4  # the first obtained the title only in 2017
    assert services.year_open(year=2017) == 0


def test_verify_catches_a_tampered_level(kf_unit, policy):
    p = f.PersonFactory(unit=kf_unit)
    f.TitleHoldingFactory(person=p, level="junior", obtained_on=datetime.date(2012, 7, 1))
    PersonYearTotal.objects.filter(person=p).update(level="senior_full")
    for year in (2016, None):
        _, drift = selectors.ledger_drift(year=year)
        assert [(d["person_id"], d["title_level"]) for d in drift] == [(p.pk, "junior")]


def test_as_of_scope_evaluation_matches_person_by_person(kf_unit, policy):
    from unittest import mock

    from apps.personnel.models import Person

    people = []
    for i in range(6):
        p = f.PersonFactory(unit=kf_unit)
        f.TitleHoldingFactory(person=p, level="junior", obtained_on=datetime.date(2010, 1, 1))
        people.append(p)
    jan = timezone.make_aware(datetime.datetime(2017, 1, 10, 9))
    with mock.patch("django.utils.timezone.now", return_value=jan):
        for p in people:
            give_full_year(p)
    first = HourEntry.objects.filter(person=people[0], category="professional").get()
    with transaction.atomic():
        services.entry_reverse(entry_id=first.pk, reason="撤销")
    scope = Person.objects.filter(unit=kf_unit)
    then = selectors.scope_compliance(year=2016, policy=policy, people=scope, as_of=datetime.date(2017, 1, 31))
    now = selectors.scope_compliance(year=2016, policy=policy, people=scope)
    assert then.summary()["compliant"] == 6 and now.summary()["compliant"] == 5
    assert [r["total"] for r in then.rows()] == [90] * 6


@pytest.mark.postgres
def test_bulk_copy_path_stores_awkward_text_exactly_and_moves_totals(kf_unit):
    people = [f.PersonFactory(unit=kf_unit) for _ in range(3)]
    title = "培训\t第1期\\补录\n（含换行）"
    with transaction.atomic():
        added = services.entries_record(entries=[
            entry(people[i % 3], "professional", 1, key=f"bulk:{i}", course_title=title) for i in range(1500)],
            returning=False)
    assert added == 1500
    assert set(HourEntry.objects.values_list("course_title", flat=True)) == {title}
    assert [totals(p).professional for p in people] == [500, 500, 500]
    assert selectors.ledger_drift()[1] == []


def test_publishing_a_policy_in_the_admin_opens_the_year(client, kf_unit, policy, django_capture_on_commit_callbacks):
    from apps.accounts.models import Role

    p = f.PersonFactory(unit=kf_unit)
    f.TitleHoldingFactory(person=p, level="junior", obtained_on=datetime.date(2012, 7, 1))
    client.force_login(f.UserFactory(role=Role.CITY_BUREAU, region=policy.region))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/catalog/yearpolicy/add/", {
            "year": 2017, "region": policy.region.pk, "title": "2017年度意见", "minutes_per_hour": 45,
            "hours_per_credit": "1", "promotion_min_level": "city",
            "requirements-TOTAL_FORMS": 0, "requirements-INITIAL_FORMS": 0,
            "activity_hours-TOTAL_FORMS": 0, "activity_hours-INITIAL_FORMS": 0})
    assert response.status_code == 302, response.content[:2000]
    assert PersonYearTotal.objects.get(person=p, year=2017).level == "junior"


def test_the_person_year_row_carries_the_persons_unit_and_follows_a_move(person, other_unit):
    """Reports group person-year rows by unit without joining the people: database triggers keep the copy."""
    row = PersonYearTotal.objects.create(person=person, year=2016)  # inserted without a unit, as every path does
    row.refresh_from_db()
    assert row.unit_id == person.unit_id
    other_year = PersonYearTotal.objects.create(person=person, year=2017)
    person.unit = other_unit
    person.save()
    assert set(PersonYearTotal.objects.filter(pk__in=[row.pk, other_year.pk]).values_list("unit_id", flat=True)) \
        == {other_unit.pk}
