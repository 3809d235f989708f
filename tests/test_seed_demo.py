"""seed_demo and create_demo_users: valid, realistic, deterministic and idempotent demo data."""
import datetime
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.accounts.models import Role, User
from apps.core.demo import KAIFENG_COUNTY_CODES, resident_id_for_index
from apps.core.identifiers import parse_credit_code, parse_resident_id
from apps.orgs.models import Industry, Unit
from apps.personnel.demo_seed import SERIES_BY_INDUSTRY, _IdCache
from apps.personnel.models import Person, PromotionApplication, TitleHolding, TitleLevel

# Both write paths where the database has them: COPY exists only on PostgreSQL.
METHODS = ["orm", "copy"] if connection.vendor == "postgresql" else ["orm"]
PASSWORD = "Kaifeng-2016"


def seed(people: int, **options) -> str:
    # These tests are about people; their year of hours is tested in test_demo_hours.py.
    out = StringIO()
    call_command("seed_demo", people=people, year=2016, hours=False, stdout=out, **options)
    return out.getvalue()


def snapshot() -> dict[str, tuple]:
    """Everything a person is, keyed by ID number (primary keys differ between databases and runs)."""
    titles: dict[int, list] = {}
    for person_id, level, series, on in TitleHolding.objects.order_by("obtained_on").values_list(
            "person_id", "level", "series", "obtained_on"):
        titles.setdefault(person_id, []).append((level, series, on))
    promotions = {p: (f, t, y) for p, f, t, y in PromotionApplication.objects.values_list(
        "person_id", "from_level", "to_level", "year")}
    return {
        number: (name, gender, birth, unit_code, series, tuple(titles.get(pk, ())), promotions.get(pk))
        for pk, number, name, gender, birth, unit_code, series in Person.objects.values_list(
            "pk", "id_number", "name", "gender", "birth_date", "unit__credit_code", "title_series")
    }


def counts() -> tuple[int, int, int, int]:
    return (Unit.objects.count(), Person.objects.count(), TitleHolding.objects.count(),
            PromotionApplication.objects.count())


def test_it_refuses_without_the_kaifeng_regions(db):
    with pytest.raises(CommandError, match="loaddata kaifeng_2016"):
        seed(10)
    assert counts() == (0, 0, 0, 0)


def test_its_id_numbers_are_resident_id_for_index():
    ids = _IdCache()
    for i in [*range(3000), 999 * 9 - 1, 999 * 9, 1_000_000, 7_654_321, 131_000_000]:
        number, birth, male = ids.get(i)
        assert number == resident_id_for_index(i)
        parsed = parse_resident_id(number)
        assert (parsed.birth_date, parsed.gender) == (birth, "M" if male else "F")


@pytest.mark.parametrize("method", METHODS)
def test_it_seeds_people_with_valid_ids_in_realistic_units(kaifeng, method):
    out = seed(300, units=25, method=method)

    assert "people/s" in out
    people = list(Person.objects.select_related("unit__industry", "unit__region"))
    assert len(people) == 300
    assert {p.id_number for p in people} == {resident_id_for_index(i) for i in range(300)}
    for p in people:
        rid = parse_resident_id(p.id_number)
        assert (p.gender, p.birth_date) == (rid.gender, rid.birth_date)
        assert p.title_series in SERIES_BY_INDUSTRY[p.unit.industry.code]
        assert len(p.name) in (2, 3, 4)
    people[0].full_clean()

    units = list(Unit.objects.select_related("region", "industry"))
    assert len(units) == 25
    for u in units:
        u.full_clean()
        assert parse_credit_code(u.credit_code) == u.credit_code
        assert u.credit_code[2:8] == u.region.code  # GB 32100: positions 3–8 are the registering region
        assert u.name.startswith("开封" if u.region.code == "410200" else (u.region.name, "开封"))
    assert {u.region.code for u in units} == {"410200", *KAIFENG_COUNTY_CODES}
    assert "开封市第一人民医院" in {u.name for u in units}
    assert "龙亭区实验小学" in {u.name for u in units}
    assert len({u.industry.code for u in units}) >= 6
    assert {u.industry_id for u in units} <= set(Industry.objects.values_list("pk", flat=True))
    assert len({p.unit_id for p in people}) >= 20  # people are spread, not piled into one unit


@pytest.mark.parametrize("method", METHODS)
def test_titles_follow_a_realistic_mix_and_a_consistent_history(kaifeng, method):
    seed(3000, method=method)

    year_end = datetime.date(2016, 12, 31)
    histories: dict[int, list[TitleHolding]] = {}
    for t in TitleHolding.objects.order_by("person_id", "obtained_on"):
        histories.setdefault(t.person_id, []).append(t)
    people = {p.pk: p for p in Person.objects.all()}
    assert set(histories) == set(people)  # everyone has a title history
    latest = {}
    for pk, history in histories.items():
        person = people[pk]
        # Every higher title follows the lower ones: junior first, one level at a time, years apart.
        assert [TitleLevel.rank(t.level) for t in history] == list(range(1, len(history) + 1))
        for earlier, later in zip(history, history[1:]):
            assert (later.obtained_on - earlier.obtained_on).days > 3 * 365
        assert (history[0].obtained_on - person.birth_date).days >= 18 * 365  # adult when first titled
        assert history[-1].obtained_on <= year_end
        assert {t.series for t in history} == {person.title_series}
        latest[pk] = history[-1]

    mix = Counter(t.level for t in latest.values())
    share = {level: mix[level] / len(people) for level in TitleLevel.values}
    assert share["senior_full"] == pytest.approx(0.02, abs=0.01)
    assert share["senior_deputy"] == pytest.approx(0.10, abs=0.025)
    assert share["intermediate"] == pytest.approx(0.38, abs=0.04)
    assert share["junior"] == pytest.approx(0.50, abs=0.04)
    promoted_this_year = sum(t.obtained_on.year == 2016 for t in latest.values())
    assert 0.005 * len(people) <= promoted_this_year <= 0.05 * len(people)

    promotions = list(PromotionApplication.objects.all())
    assert 0.015 * len(people) <= len(promotions) <= 0.045 * len(people)
    for p in promotions:
        p.full_clean()
        assert p.year == 2016
        assert p.from_level == latest[p.person_id].level  # from = the level in force at the end of the year
        assert TitleLevel.rank(p.to_level) == TitleLevel.rank(p.from_level) + 1


def test_running_again_creates_nothing(kaifeng):
    seed(300)
    before, rows = counts(), snapshot()

    out = seed(300)

    assert counts() == before
    assert snapshot() == rows
    assert "people +0 " in out and "units +0;" in out


@pytest.mark.parametrize("method", METHODS)
def test_a_bigger_n_adds_only_the_missing_people_exactly_as_one_run_would(kaifeng, method):
    seed(200, method=method)
    first = snapshot()
    first_pks = dict(Person.objects.values_list("id_number", "pk"))

    out = seed(450, method="orm")  # the portable path extends what either path made

    assert "people +250 " in out
    assert Person.objects.count() == 450
    grown = snapshot()
    assert {k: grown[k] for k in first} == first
    assert dict(Person.objects.filter(id_number__in=first).values_list("id_number", "pk")) == first_pks

    # Deterministic: one run of 450 from scratch makes the very same people, titles and applications.
    Person.objects.all().delete()
    seed(450, method=method)
    assert snapshot() == grown


def test_demo_users_need_seeded_people(kaifeng):
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("create_demo_users", stdout=StringIO())
    assert not User.objects.exists()


def create_users(**options) -> str:
    out = StringIO()
    call_command("create_demo_users", stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def test_create_demo_users_makes_one_valid_login_per_role(kaifeng):
    seed(300)

    out = create_users()

    users = {u.username: u for u in User.objects.all()}
    assert sorted(u.role for u in users.values()) == sorted(Role.values)
    for u in users.values():
        u.full_clean()
        assert u.is_staff == (u.role != Role.TRAINEE)
        assert u.is_superuser == (u.role == Role.SYSTEM_ADMIN)
        assert u.username in out
    assert PASSWORD in out
    assert users["admin"].organisation is None
    assert users["city_bureau"].region.code == "410200"
    assert users["county_longting"].region.name == "龙亭区"
    assert users["unit_admin"].unit.region.code == "410202"
    assert users["base_staff"].base.code == "kf-kfdx"
    assert users["industry_dept"].department.name == "开封市卫生和计划生育委员会"
    # The trainee works in the unit admin's unit, so the demo shows one chain of scopes.
    assert users["trainee"].person.unit == users["unit_admin"].unit
    assert "龙亭区实验小学" in out and "开封大学" in out


def form_login(client, username: str, password: str) -> bool:
    """Log in through the login page (django-axes needs the request, which Client.login does not pass)."""
    response = client.post("/login/", {"username": username, "password": password})
    return response.status_code == 302 and "_auth_user_id" in client.session


def test_create_demo_users_is_idempotent_and_resets_the_password(kaifeng, client):
    seed(300)
    create_users()
    first = dict(User.objects.values_list("username", "pk"))

    create_users(password="Another-2017-pass")

    assert dict(User.objects.values_list("username", "pk")) == first
    assert form_login(client, "unit_admin", "Another-2017-pass")
    client.logout()
    assert not form_login(client, "unit_admin", PASSWORD)


def test_demo_users_can_log_in(kaifeng, client):
    seed(300)
    create_users()

    for username in ["admin", "city_bureau", "county_longting", "unit_admin", "base_staff", "industry_dept",
                     "trainee"]:
        assert form_login(client, username, PASSWORD), username
        client.logout()
    assert not form_login(client, "trainee", "wrong-password")
