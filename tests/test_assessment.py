"""The yearly audit (A1): figures equal a person-by-person recount, atomic replacement, reproduction from the
recorded point in time, the commendation flow, the weights, scoping, the command."""
import datetime
import random
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Role
from apps.assessment import selectors, services
from apps.assessment.models import AuditGroupResult, AuditPersonResult, AuditSnapshot, AuditWeights, Commendation
from apps.catalog.models import YearPolicy
from apps.core.errors import DomainError
from apps.ledger import selectors as ledger
from apps.ledger import services as ledger_services
from apps.orgs.models import Region
from apps.personnel.models import Person

from . import factories as f

YEAR = 2016


@pytest.fixture
def kf(kaifeng):
    return Region.objects.get(code="410200")


@pytest.fixture
def world(kf):
    """200 demo people in Kaifeng's counties with a year of hours, plus a city-affiliated unit with random hours."""
    call_command("seed_demo", "--people", "200", "--year", str(YEAR), verbosity=0)
    rng = random.Random(7)
    city_unit = f.UnitFactory(region=kf, name="开封市直属医院")
    entries = []
    for i in range(12):
        p = f.PersonFactory(unit=city_unit)
        f.TitleHoldingFactory(person=p, level=rng.choice(["junior", "intermediate", "senior_deputy", "senior_full"]),
                              obtained_on=datetime.date(2011, 1, 1))
        for k in range(rng.randint(0, 6)):
            entries.append(ledger_services.EntryInput(
                person_id=p.pk, category=rng.choice(["public_required", "public_elective", "professional"]),
                hours=D(rng.randint(1, 60)) / 2, completed_on=datetime.date(YEAR, 5, 1), source="migration",
                source_key=f"audit-test:{p.pk}:{k}", organiser="city"))
    with transaction.atomic():
        ledger_services.entries_record(entries=entries)
    return {"city": kf, "city_unit": city_unit}


@pytest.fixture
def logins(kf):
    county = Region.objects.get(code="410202")
    unit = f.UnitFactory(region=county)
    return {
        Role.SYSTEM_ADMIN: f.UserFactory(username="admin", role=Role.SYSTEM_ADMIN, is_superuser=True),
        Role.CITY_BUREAU: f.UserFactory(username="city", role=Role.CITY_BUREAU, region=kf),
        Role.COUNTY_BUREAU: f.UserFactory(username="county", role=Role.COUNTY_BUREAU, region=county),
        Role.UNIT_ADMIN: f.UserFactory(username="unit", role=Role.UNIT_ADMIN, unit=unit),
        Role.TRAINEE: f.UserFactory(username="trainee", role=Role.TRAINEE, is_staff=False,
                                    person=f.PersonFactory(unit=unit)),
    }


def run(city, **kw) -> AuditSnapshot:
    return services.audit_run_now(year=YEAR, region=city, **kw)


def recount(city) -> dict:
    """Person by person with the ledger's own one-person path (the pure engine over the running totals)."""
    out = {}
    people = Person.objects.filter(unit__region__in=selectors.region_tree_ids(city)).select_related("unit__region")
    for p in people:
        try:
            r = ledger.person_compliance(person=p, year=YEAR)
        except DomainError:  # no title on 31 December: not audited
            continue
        out[p.pk] = {"unit": p.unit_id, "county": p.unit.region_id, "level": r.level, "compliant": r.compliant,
                     "total": r.totals.total, "public": r.totals.public,
                     "public_met": r.rule("public").met and r.rule("public_required").met,
                     "shortfall": r.rule("total").shortfall, "shortfall_public": r.rule("public").shortfall,
                     "shortfall_required": r.rule("public_required").shortfall}
    return out


def group(expected: dict, key) -> dict:
    acc: dict = {}
    for row in expected.values():
        k = key(row)
        people, ok, pub, gap = acc.get(k, (0, 0, 0, D(0)))
        acc[k] = (people + 1, ok + row["compliant"], pub + row["public_met"], gap + row["shortfall"])
    return acc


# --- figures --------------------------------------------------------------------------------------------------


def test_audit_figures_equal_a_person_by_person_recount(world):
    snapshot = run(world["city"])
    assert snapshot.status == AuditSnapshot.Status.DONE and snapshot.is_current
    expected = recount(world["city"])
    assert len(expected) > 150
    rows = {r.person_id: r for r in AuditPersonResult.objects.filter(snapshot=snapshot)}
    assert set(rows) == set(expected)
    for pid, e in expected.items():
        r = rows[pid]
        assert (r.unit_id, r.county_id, r.level, r.compliant, r.total, r.public, r.public_met) == (
            e["unit"], e["county"], e["level"], e["compliant"], e["total"], e["public"], e["public_met"]), pid
        assert (r.shortfall, r.shortfall_public, r.shortfall_required) == (
            e["shortfall"], e["shortfall_public"], e["shortfall_required"]), pid
    assert snapshot.people == len(expected)
    assert snapshot.compliant == sum(e["compliant"] for e in expected.values())
    assert 0 < snapshot.compliant < snapshot.people  # the dataset has both

    groups = AuditGroupResult.objects.filter(snapshot=snapshot)
    checks = [
        ("county", "", lambda e: (e["county"], None, "")),
        ("county", "x", lambda e: (e["county"], None, e["level"])),
        ("unit", "", lambda e: (e["county"], e["unit"], "")),
        ("unit", "x", lambda e: (e["county"], e["unit"], e["level"])),
    ]
    for kind, by_level, key in checks:
        want = group(expected, key)
        qs = groups.filter(kind=kind)
        qs = qs.exclude(level="") if by_level else qs.filter(level="")
        got = {(g.county_id, g.unit_id, g.level): (g.people, g.compliant, g.public_met, g.shortfall_sum) for g in qs}
        assert got == want, kind
        for g in qs:
            assert g.rate == round(D(g.compliant) / D(g.people), 4)
    # The city-affiliated unit is grouped under the city itself.
    assert groups.filter(kind="county", county_id=world["city"].pk, level="").exists()

    gaps = [e["shortfall"] for e in expected.values()]
    assert snapshot.distribution == {
        "0": sum(g == 0 for g in gaps), "0-10": sum(0 < g <= 10 for g in gaps),
        "10-30": sum(10 < g <= 30 for g in gaps), "30-60": sum(30 < g <= 60 for g in gaps),
        "60+": sum(g > 60 for g in gaps)}


def test_scores_and_ranks_follow_the_weights(world):
    AuditWeights.objects.create(region=world["city"], rate=D("0.5"), public_rate=D("0.3"), shortfall=D("0.2"),
                                commend_counties=2, commend_units=3, min_unit_people=15)
    snapshot = run(world["city"])
    overall = AuditGroupResult.objects.filter(snapshot=snapshot, kind="county", level="")
    counties = list(overall.exclude(county_id=world["city"].pk).order_by("rank"))
    assert [c.rank for c in counties] == list(range(1, len(counties) + 1)) and len(counties) == 9
    own_units = overall.get(county_id=world["city"].pk)  # the city's own units: scored, not ranked as a county
    assert own_units.rank is None and own_units.score is not None
    for c in counties:
        want = D("0.5") * 100 * c.compliant / c.people + D("0.3") * 100 * c.public_met / c.people \
            - D("0.2") * c.shortfall_sum / c.people
        assert abs(c.score - want) <= D("0.005")
    assert [c.score for c in counties] == sorted((c.score for c in counties), reverse=True)
    units = AuditGroupResult.objects.filter(snapshot=snapshot, kind="unit", level="")
    assert not units.filter(people__lt=15, rank__isnull=False).exists()  # too small to rank
    assert units.filter(people__gte=15, rank__isnull=True).count() == 0
    assert snapshot.weights["min_unit_people"] == 15 and snapshot.weights["rate"] == "0.50"


def test_a_year_without_policy_is_refused_and_writes_nothing(world):
    with pytest.raises(DomainError, match="2030 年度没有继续教育政策"):
        services.audit_run_now(year=2030, region=world["city"])
    assert not AuditSnapshot.objects.exists()


def test_a_policy_missing_a_level_is_refused(kf):
    YearPolicy.objects.create(year=2031, region=kf)
    with pytest.raises(DomainError):
        services.audit_start(year=2031, region=kf)
    assert not AuditSnapshot.objects.exists()


# --- atomic replacement ---------------------------------------------------------------------------------------


def test_rerun_replaces_the_snapshot_and_drops_the_old_person_rows(world):
    first = run(world["city"])
    second = run(world["city"])
    first.refresh_from_db()
    assert second.is_current and not first.is_current
    assert AuditSnapshot.objects.filter(year=YEAR, is_current=True).get() == second
    assert not AuditPersonResult.objects.filter(snapshot=first).exists()
    assert AuditPersonResult.objects.filter(snapshot=second).count() == second.people
    assert AuditGroupResult.objects.filter(snapshot=first).exists()  # history of the figures stays


def test_a_failed_run_leaves_the_previous_snapshot_current_with_its_rows(world, monkeypatch):
    good = run(world["city"])
    rows = AuditPersonResult.objects.filter(snapshot=good).count()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full while ranking")

    monkeypatch.setattr(services, "_rank", boom)
    with pytest.raises(RuntimeError):
        run(world["city"])
    good.refresh_from_db()
    assert good.is_current and good.status == AuditSnapshot.Status.DONE
    assert AuditPersonResult.objects.filter(snapshot=good).count() == rows
    failed = AuditSnapshot.objects.exclude(pk=good.pk).get()
    assert failed.status == AuditSnapshot.Status.FAILED and not failed.is_current
    assert "disk full while ranking" in failed.error
    assert not AuditPersonResult.objects.filter(snapshot=failed).exists()
    assert not AuditGroupResult.objects.filter(snapshot=failed).exists()
    assert not Commendation.objects.filter(snapshot=failed).exists()
    # A failed snapshot is not computed again by a redelivered task.
    assert services.audit_run(snapshot_id=failed.pk).status == AuditSnapshot.Status.FAILED


def test_a_second_start_while_running_is_refused(world):
    services.audit_start(year=YEAR, region=world["city"], enqueue=False)
    with pytest.raises(DomainError, match="正在计算中"):
        services.audit_start(year=YEAR, region=world["city"], enqueue=False)


# --- reproduction ---------------------------------------------------------------------------------------------


def stored(snapshot) -> dict:
    return {r.person_id: (r.level, r.total, r.public, r.public_required, r.professional, r.compliant)
            for r in AuditPersonResult.objects.filter(snapshot=snapshot)}


def recomputed(evaluation, ids) -> dict:
    return {r["person_id"]: (r["level"], D(r["total"]), D(r["public"]), D(r["public_required"]),
                             D(r["professional"]), r["compliant"]) for r in evaluation.rows() if r["person_id"] in ids}


def test_recomputing_through_the_recorded_entry_reproduces_the_snapshot(world):
    snapshot = run(world["city"])
    assert snapshot.through_entry and snapshot.as_of
    figures = stored(snapshot)
    # Hours keep arriving after the audit — the same day and later.
    people = list(figures)[:30]
    later = timezone.now() + datetime.timedelta(days=2)
    with transaction.atomic():
        ledger_services.entries_record(entries=[ledger_services.EntryInput(
            person_id=pid, category="professional", hours=D(40), completed_on=datetime.date(YEAR, 12, 1),
            source="migration", source_key=f"late-same-day:{pid}") for pid in people[:15]])
    from unittest import mock

    with mock.patch("django.utils.timezone.now", return_value=later), transaction.atomic():
        ledger_services.entries_record(entries=[ledger_services.EntryInput(
            person_id=pid, category="public_required", hours=D(30), completed_on=datetime.date(YEAR, 12, 2),
            source="migration", source_key=f"late-next-days:{pid}") for pid in people[15:]])
    policy = ledger.policy_for(year=YEAR, region=world["city"])
    now = recomputed(ledger.scope_compliance(year=YEAR, policy=policy), set(figures))
    assert now != figures  # the ledger moved on

    then = recomputed(ledger.scope_compliance(year=YEAR, policy=policy, through_entry=snapshot.through_entry),
                      set(figures))
    assert then == figures
    # as_of (a day, as the ledger's point-in-time reads take it) reproduces it too once the day's later entries are
    # excluded by through_entry; without them the next days' entries are already left out.
    day = timezone.localdate(snapshot.as_of)
    both = recomputed(ledger.scope_compliance(year=YEAR, policy=policy, as_of=day,
                                              through_entry=snapshot.through_entry), set(figures))
    assert both == figures
    by_day = recomputed(ledger.scope_compliance(year=YEAR, policy=policy, as_of=day), set(figures))
    assert {pid for pid in figures if by_day[pid] != figures[pid]} <= set(people[:15])


def test_as_of_the_snapshot_day_reproduces_it_when_nothing_came_that_day(world):
    snapshot = run(world["city"])
    policy = ledger.policy_for(year=YEAR, region=world["city"])
    figures = stored(snapshot)
    assert recomputed(ledger.scope_compliance(year=YEAR, policy=policy,
                                              as_of=timezone.localdate(snapshot.as_of)), set(figures)) == figures


# --- commendations --------------------------------------------------------------------------------------------


def test_the_audit_proposes_the_top_counties_and_units_and_the_bureau_decides(world, logins, client):
    AuditWeights.objects.create(region=world["city"], commend_counties=3, commend_units=2, min_unit_people=5)
    snapshot = run(world["city"])
    proposals = list(Commendation.objects.filter(snapshot=snapshot).order_by("kind", "rank"))
    counties = [c for c in proposals if c.kind == "county"]
    units = [c for c in proposals if c.kind == "unit"]
    assert [c.rank for c in counties] == [1, 2, 3] and [c.rank for c in units] == [1, 2]
    top = AuditGroupResult.objects.get(snapshot=snapshot, kind="county", level="", rank=1)
    assert counties[0].county_id == top.county_id and counties[0].score == top.score
    assert all(c.status == Commendation.Status.PROPOSED for c in proposals)

    client.force_login(logins[Role.COUNTY_BUREAU])
    assert client.post(f"/assessment/commendations/{counties[0].pk}/confirm/").status_code == 403
    client.force_login(logins[Role.CITY_BUREAU])
    page = client.get(f"/assessment/{snapshot.pk}/").content.decode()
    assert f'data-commendation="{counties[0].pk}"' in page and "确认表彰" in page
    assert client.post(f"/assessment/commendations/{counties[0].pk}/confirm/").status_code == 302
    assert client.post(f"/assessment/commendations/{units[0].pk}/drop/").status_code == 302
    counties[0].refresh_from_db()
    units[0].refresh_from_db()
    assert counties[0].status == Commendation.Status.CONFIRMED and counties[0].decided_by == logins[Role.CITY_BUREAU]
    assert units[0].status == Commendation.Status.DROPPED

    # Once replaced, the old proposal is history: no more decisions on it.
    run(world["city"])
    response = client.post(f"/assessment/commendations/{counties[1].pk}/confirm/")
    assert response.status_code == 409 and "已被新的考核结果替代" in response.content.decode()


# --- pages ----------------------------------------------------------------------------------------------------


def test_the_city_bureau_runs_the_audit_from_the_page(world, logins, client, django_capture_on_commit_callbacks):
    client.force_login(logins[Role.CITY_BUREAU])
    page = client.get("/assessment/")
    assert page.status_code == 200 and "开始考核" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/assessment/run/", {"year": str(YEAR)})
    assert response.status_code == 302
    snapshot = AuditSnapshot.objects.get()
    assert response["Location"] == f"/assessment/{snapshot.pk}/"
    assert snapshot.status == AuditSnapshot.Status.DONE  # eager mode: computed in-process after commit
    progress = client.get(f"/assessment/{snapshot.pk}/progress.json").json()
    assert progress["finished"] and progress["processed"] == progress["total"]
    page = client.get(f"/assessment/{snapshot.pk}/").content.decode()
    assert "县（区）排名" in page and "龙亭区" in page and "表彰建议" in page


def test_progress_of_a_running_audit(world, logins, client):
    snapshot = services.audit_start(year=YEAR, region=world["city"], enqueue=False)
    from django.core.cache import cache

    cache.set(selectors.progress_key(snapshot.pk), 3)
    client.force_login(logins[Role.CITY_BUREAU])
    data = client.get(f"/assessment/{snapshot.pk}/progress.json").json()
    assert data == {"status": "running", "status_label": "计算中", "processed": 3, "total": len(selectors.STEPS),
                    "percent": round(300 / len(selectors.STEPS)), "finished": False, "error": ""}
    page = client.get(f"/assessment/{snapshot.pk}/").content.decode()
    assert "data-progress-url" in page and "progress.js" in page


def test_a_year_without_policy_is_an_error_on_the_page(world, logins, client):
    client.force_login(logins[Role.CITY_BUREAU])
    response = client.post("/assessment/run/", {"year": "2030"})
    assert response.status_code == 400 and "2030 年度没有继续教育政策" in response.content.decode()
    assert not AuditSnapshot.objects.exists()


def test_the_page_shows_a_failed_run(world, logins, client, monkeypatch):
    run(world["city"])
    monkeypatch.setattr(services, "_insert_groups", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        run(world["city"])
    failed = AuditSnapshot.objects.get(status=AuditSnapshot.Status.FAILED)
    client.force_login(logins[Role.CITY_BUREAU])
    page = client.get(f"/assessment/{failed.pk}/").content.decode()
    assert "考核失败" in page and "boom" in page and "原有的当前考核结果保持不变" in page


@pytest.mark.parametrize("role,status", [
    (Role.SYSTEM_ADMIN, 200), (Role.CITY_BUREAU, 200), (Role.COUNTY_BUREAU, 403), (Role.UNIT_ADMIN, 403),
    (Role.TRAINEE, 403),
])
def test_weights_page_is_for_the_city_bureau_only(kf, logins, client, role, status):
    client.force_login(logins[role])
    assert client.get("/assessment/weights/").status_code == status
    response = client.post("/assessment/weights/", {"rate": "0.7", "public_rate": "0.3", "shortfall": "0.05",
                                                     "commend_counties": "2", "commend_units": "5",
                                                     "min_unit_people": "10"})
    assert response.status_code == status
    saved = AuditWeights.objects.filter(region=kf).first()
    if status == 200:
        assert saved.rate == D("0.7") and saved.min_unit_people == 10 and saved.updated_by == logins[role]
    else:
        assert saved is None


def test_weights_form_refuses_negative_weights(kf, logins, client):
    client.force_login(logins[Role.CITY_BUREAU])
    response = client.post("/assessment/weights/", {"rate": "-1", "public_rate": "0.3", "shortfall": "0.05",
                                                     "commend_counties": "2", "commend_units": "5",
                                                     "min_unit_people": "10"})
    assert response.status_code == 400 and "权重不能为负数" in response.content.decode()
    assert not AuditWeights.objects.exists()


@pytest.mark.parametrize("role,status", [
    (Role.SYSTEM_ADMIN, 200), (Role.CITY_BUREAU, 200), (Role.COUNTY_BUREAU, 200), (Role.UNIT_ADMIN, 403),
    (Role.TRAINEE, 403),
])
def test_who_may_see_the_audit_pages(world, logins, client, role, status):
    snapshot = run(world["city"])
    client.force_login(logins[role])
    for url in ("/assessment/", f"/assessment/{snapshot.pk}/", f"/assessment/{snapshot.pk}/progress.json"):
        assert client.get(url).status_code == status, url
    start = client.post("/assessment/run/", {"year": str(YEAR)})
    assert start.status_code == (403 if role not in (Role.SYSTEM_ADMIN, Role.CITY_BUREAU) else 302)


def test_county_bureau_sees_only_its_own_county_rows(world, logins, client):
    snapshot = run(world["city"])
    county = Region.objects.get(code="410202")
    user = logins[Role.COUNTY_BUREAU]
    summary = selectors.snapshot_summary(snapshot=snapshot, user=user)
    assert [r.pk for _c, r in summary["counties"]] == [county.pk]
    own = AuditPersonResult.objects.filter(snapshot=snapshot, county_id=county.pk).count()
    assert summary["people"] == own and own < snapshot.people and not summary["whole_city"]
    assert all(region.pk == county.pk for _u, _n, region in summary["units"])
    client.force_login(user)
    page = client.get(f"/assessment/{snapshot.pk}/").content.decode()
    assert f'data-county="{county.pk}"' in page
    others = AuditGroupResult.objects.filter(snapshot=snapshot, kind="county", level="").exclude(county_id=county.pk)
    assert others.exists()
    for g in others:
        assert f'data-county="{g.county_id}"' not in page
    assert "确认表彰" not in page and "开始考核" not in client.get("/assessment/").content.decode()
    # A snapshot of another city is absent for it.
    other_city = f.RegionFactory(code="410300", name="洛阳市", kind="city")
    foreign = AuditSnapshot.objects.create(region=other_city, year=YEAR, status="done")
    assert client.get(f"/assessment/{foreign.pk}/").status_code == 404


# --- command and tasks ----------------------------------------------------------------------------------------


def test_run_audit_command_prints_a_summary(world):
    out = StringIO()
    call_command("run_audit", "--year", str(YEAR), stdout=out)
    text = out.getvalue()
    snapshot = AuditSnapshot.objects.get(is_current=True)
    assert f"人数 {snapshot.people:,}" in text and f"达标 {snapshot.compliant:,}" in text
    assert "开封市 2016 年度考核" in text and "县（区）排名" in text and "龙亭区" in text and "缺口学时分布" in text


def test_run_audit_command_refuses_a_year_without_policy(world):
    with pytest.raises(CommandError, match="2030 年度没有继续教育政策"):
        call_command("run_audit", "--year", "2030", stdout=StringIO())
    assert not AuditSnapshot.objects.exists()


def test_tasks_run_the_audit_by_ids_and_for_the_previous_year(world, logins):
    from unittest import mock

    from apps.assessment import tasks

    result = tasks.run_audit.delay(year=YEAR, region_id=world["city"].pk, user_id=logins[Role.CITY_BUREAU].pk).get()
    snapshot = AuditSnapshot.objects.get(pk=result["snapshot"])
    assert result["status"] == "done" and snapshot.requested_by == logins[Role.CITY_BUREAU]
    pending = services.audit_start(year=YEAR, region=world["city"], enqueue=False)
    assert tasks.run_audit.delay(snapshot_id=pending.pk).get()["status"] == "done"
    with mock.patch("django.utils.timezone.localdate", return_value=datetime.date(2017, 1, 5)):
        result = tasks.run_audit_previous_year.delay().get()
    assert result["status"] == "done" and AuditSnapshot.objects.get(pk=result["snapshot"]).year == 2016


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_audit_waits_for_a_ledger_writer_in_flight_and_includes_it_whole(kaifeng):
    """The consistency point: LOCK … IN SHARE MODE waits for the writer's transaction, so its entry and its running
    total are both in the snapshot (and through_entry covers it) — never one without the other."""
    import threading
    import time

    from django.db import connections

    city = Region.objects.get(code="410200")
    unit = f.UnitFactory(region=Region.objects.get(code="410202"))
    people = [f.PersonFactory(unit=unit) for _ in range(3)]
    for p in people:
        f.TitleHoldingFactory(person=p, level="intermediate", obtained_on=datetime.date(2010, 1, 1))
    in_flight, release, made = threading.Event(), threading.Event(), []

    def writer():
        try:
            with transaction.atomic():
                made.extend(ledger_services.entries_record(entries=[ledger_services.EntryInput(
                    person_id=people[0].pk, category="professional", hours=D(64), completed_on=datetime.date(YEAR, 3, 1),
                    source="migration", source_key="in-flight")]))
                in_flight.set()
                release.wait(20)
        finally:
            connections.close_all()

    result = {}

    def audit():
        try:
            result["snapshot"] = run(city)
        finally:
            connections.close_all()

    w = threading.Thread(target=writer)
    w.start()
    assert in_flight.wait(20)
    a = threading.Thread(target=audit)
    a.start()
    time.sleep(1)
    assert a.is_alive()  # waiting for the writer's commit
    release.set()
    w.join(20)
    a.join(60)
    snapshot = result["snapshot"]
    assert snapshot.status == AuditSnapshot.Status.DONE and snapshot.through_entry == made[0].pk
    row = AuditPersonResult.objects.get(snapshot=snapshot, person_id=people[0].pk)
    assert row.professional == 64 and row.total == 64


def _figures(snapshot) -> tuple:
    groups = sorted(AuditGroupResult.objects.filter(snapshot=snapshot).values_list(
        "kind", "county_id", "unit_id", "level", "people", "compliant", "public_met", "shortfall_sum", "rate", "score",
        "rank"), key=str)
    people = sorted(AuditPersonResult.objects.filter(snapshot=snapshot).values_list(
        "person_id", "unit_id", "county_id", "level", "total", "public", "public_required", "professional",
        "compliant", "public_met", "shortfall", "shortfall_public", "shortfall_required"))
    commendations = sorted(Commendation.objects.filter(snapshot=snapshot).values_list("kind", "county_id", "unit_id",
                                                                                       "rank"), key=str)
    return (snapshot.people, snapshot.compliant, snapshot.distribution, snapshot.through_entry, groups, people,
            commendations)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_writers_write_the_same_snapshot_as_one_statement(world, settings, monkeypatch):
    """AUDIT_WRITERS connections sharing the audit's exported snapshot write exactly what one statement writes,
    and what the person-by-person recount says."""
    settings.AUDIT_WRITERS = 3
    shares, write_shares = [], services._write_shares
    monkeypatch.setattr(services, "_write_shares", lambda *a: shares.append(a[-1]) or write_shares(*a))
    parallel = run(world["city"])  # the audit owns its transaction here: three writers
    assert shares == [3]
    assert parallel.status == AuditSnapshot.Status.DONE and parallel.is_current
    expected = recount(world["city"])
    rows = {r.person_id: r for r in AuditPersonResult.objects.filter(snapshot=parallel)}
    assert set(rows) == set(expected)
    assert all((rows[k].compliant, rows[k].shortfall) == (e["compliant"], e["shortfall"]) for k, e in expected.items())
    in_parallel = _figures(parallel)

    with transaction.atomic():  # inside a caller's transaction the audit runs as one statement
        serial = run(world["city"])
    assert shares == [3]
    assert _figures(serial) == in_parallel


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_parallel_run_that_fails_after_its_writers_committed_leaves_nothing_behind(world, settings, monkeypatch):
    settings.AUDIT_WRITERS = 2
    good = run(world["city"])
    rows = AuditPersonResult.objects.filter(snapshot=good).count()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full while ranking")

    monkeypatch.setattr(services, "_rank", boom)
    with pytest.raises(RuntimeError):
        run(world["city"])
    good.refresh_from_db()
    assert good.is_current and AuditPersonResult.objects.filter(snapshot=good).count() == rows
    failed = AuditSnapshot.objects.exclude(pk=good.pk).get()
    assert failed.status == AuditSnapshot.Status.FAILED and not failed.is_current
    assert not AuditPersonResult.objects.filter(snapshot=failed).exists()
    assert not AuditGroupResult.objects.filter(snapshot=failed).exists()


def test_admin_shows_snapshots_read_only_and_scoped(world, logins, client):
    snapshot = run(world["city"])
    client.force_login(logins[Role.CITY_BUREAU])
    assert client.get("/admin/assessment/auditsnapshot/").status_code == 200
    assert client.get(f"/admin/assessment/auditsnapshot/{snapshot.pk}/change/").status_code == 200
    assert client.get("/admin/assessment/auditsnapshot/add/").status_code == 403
    client.force_login(logins[Role.UNIT_ADMIN])
    assert client.get(f"/admin/assessment/auditsnapshot/{snapshot.pk}/change/").status_code in (302, 403, 404)
