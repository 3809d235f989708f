"""County bureau reports and the city bureau dashboard (apps/reports): figures against a brute-force count,
county isolation in pages and exports, sorting and filtering, a year without policy, roles."""
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone
from pypdf import PdfReader

from apps.accounts.models import Role
from apps.bases.models import TrainingBase
from apps.catalog.models import Course, IndustryPlan
from apps.ledger import selectors as ledger
from apps.ledger.models import PersonYearTotal
from apps.orgs.models import IndustryDepartment, Region, Unit
from apps.personnel.models import Person

from . import factories as f

YEAR = 2016


@pytest.fixture
def seeded(kaifeng):
    call_command("seed_demo", "--people", "300", "--year", str(YEAR), verbosity=0)
    counties = (Region.objects.filter(kind="county", units__isnull=False).annotate(n=Count("units"))
                .order_by("-n", "code"))
    own, other = counties[0], counties[1]
    return own, other


def _client(client, role, **org):
    user = f.UserFactory(role=role, is_staff=False, **org)
    client.force_login(user)
    return user


@pytest.fixture
def county_client(client, seeded):
    own, _other = seeded
    _client(client, Role.COUNTY_BUREAU, region=own)
    return client


def _evaluated_people(region):
    """Brute force: everyone of the region holding a title on 31 December, through the one-person rule."""
    people = Person.objects.filter(unit__region=region).select_related("unit__region")
    held = set(PersonYearTotal.objects.filter(year=YEAR, level__isnull=False).values_list("person_id", flat=True))
    return {p: ledger.person_compliance(person=p, year=YEAR) for p in people if p.pk in held}


def test_county_figures_equal_a_brute_force_count(county_client, seeded):
    own, _other = seeded
    response = county_client.get("/reports/county/", {"year": YEAR})
    assert response.status_code == 200
    report = response.context["report"]
    results = _evaluated_people(own)
    assert report.people == len(results) > 0
    assert report.compliant == sum(r.compliant for r in results.values())
    by_unit: dict[int, list] = {}
    for p, r in results.items():
        by_unit.setdefault(p.unit_id, []).append(r.compliant)
    assert report.unit_count == len(by_unit)
    for row in report.units:
        oks = by_unit[row["unit_id"]]
        assert (row["people"], row["compliant"]) == (len(oks), sum(oks))
        assert row["rate"] == pytest.approx(sum(oks) / len(oks))
    for lv in report.levels:
        oks = [r.compliant for r in results.values() if r.level == lv["level"]]
        assert (lv["people"], lv["compliant"]) == (len(oks), sum(oks))
    totals = [r.totals.total for r in results.values()]
    assert [b["people"] for b in report.histogram] == [
        sum(t <= 0 for t in totals), sum(0 < t < 30 for t in totals), sum(30 <= t < 60 for t in totals),
        sum(60 <= t < 90 for t in totals), sum(t >= 90 for t in totals)]
    assert report.noncompliant_count == sum(not r.compliant for r in results.values())
    # A shortfall on the page is the one the person's own compliance page gives.
    row = report.noncompliant[0]
    person = Person.objects.get(pk=row["person_id"])
    result = results[person]
    assert row["short_total"] == pytest.approx(float(result.rule("total").shortfall))
    assert b"<svg" in response.content and f'data-unit-row="{report.units[0]["unit_id"]}"'.encode() in response.content


def test_county_bureau_sees_only_its_county_and_gets_404_for_another(county_client, seeded):
    own, other = seeded
    own_units = set(Unit.objects.filter(region=own).values_list("pk", flat=True))
    own_people = set(Person.objects.filter(unit__region=own).values_list("pk", flat=True))
    response = county_client.get("/reports/county/", {"year": YEAR, "psort": "name"})
    report = response.context["report"]
    assert report.county == own
    assert {u["unit_id"] for u in report.units} <= own_units
    assert {p["person_id"] for p in report.noncompliant} <= own_people
    assert county_client.get("/reports/county/", {"county": other.pk, "year": YEAR}).status_code == 404
    assert county_client.get("/reports/county/", {"county": 999999, "year": YEAR}).status_code == 404
    assert county_client.get(f"/reports/county/{other.pk}/{YEAR}/units.xlsx").status_code == 404
    assert county_client.get(f"/reports/county/{other.pk}/{YEAR}/people.pdf").status_code == 404
    # Another county's unit as a filter finds nobody rather than showing its people.
    other_unit = Unit.objects.filter(region=other).first()
    response = county_client.get("/reports/county/", {"year": YEAR, "unit": other_unit.pk})
    assert response.context["report"].noncompliant == []


def _xlsx_rows(response) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    return list(book.active.iter_rows(values_only=True))


def _pdf_text(response) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def test_county_exports_hold_only_the_county_rows(county_client, seeded):
    own, other = seeded
    own_ids = set(Person.objects.filter(unit__region=own).values_list("id_number", flat=True))
    other_ids = set(Person.objects.exclude(unit__region=own).values_list("id_number", flat=True))
    own_unit_names = set(Unit.objects.filter(region=own).values_list("name", flat=True))
    other_unit_names = set(Unit.objects.exclude(region=own).values_list("name", flat=True)) - own_unit_names

    response = county_client.get(f"/reports/county/{own.pk}/{YEAR}/units.xlsx")
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
    rows = _xlsx_rows(response)
    assert rows[0][0] == "单位"
    assert {r[0] for r in rows[1:]} <= own_unit_names and len(rows) > 1

    response = county_client.get(f"/reports/county/{own.pk}/{YEAR}/people.xlsx")
    rows = _xlsx_rows(response)
    ids = {r[1] for r in rows[1:]}
    assert ids and ids <= own_ids
    assert len(rows) - 1 == county_client.get("/reports/county/", {"year": YEAR}).context["report"].noncompliant_count

    response = county_client.get(f"/reports/county/{own.pk}/{YEAR}/people.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = _pdf_text(response)
    assert any(i in text for i in ids)
    assert not any(i in text for i in other_ids)

    text = _pdf_text(county_client.get(f"/reports/county/{own.pk}/{YEAR}/units.pdf"))
    assert any(name in text for name in own_unit_names)
    assert not any(name in text for name in other_unit_names)


def test_city_bureau_opens_any_county_of_its_city(client, seeded):
    own, other = seeded
    _client(client, Role.CITY_BUREAU, region=Region.objects.get(code="410200"))
    assert client.get("/reports/county/").context["report"] is None  # chooses a county first
    response = client.get("/reports/county/", {"county": other.pk, "year": YEAR})
    assert response.status_code == 200 and response.context["report"].county == other
    assert client.get(f"/reports/county/{own.pk}/{YEAR}/levels.xlsx").status_code == 200
    outsider = f.RegionFactory(code="419999", name="别市某县", kind="county")
    assert client.get("/reports/county/", {"county": outsider.pk}).status_code == 404


def test_units_sort_and_people_filter_in_sql(county_client, seeded):
    own, _other = seeded
    report = county_client.get("/reports/county/", {"year": YEAR, "sort": "rate", "dir": "desc"}).context["report"]
    rates = [u["rate"] for u in report.units]
    assert rates == sorted(rates, reverse=True)
    report = county_client.get("/reports/county/", {"year": YEAR, "sort": "people", "dir": "asc"}).context["report"]
    assert [u["people"] for u in report.units] == sorted(u["people"] for u in report.units)
    # An unknown sort key falls back to the default instead of reaching the SQL.
    response = county_client.get("/reports/county/", {"year": YEAR, "sort": "rate; DROP TABLE x", "dir": "up"})
    assert response.status_code == 200 and response.context["filters"].sort == "rate"

    report = county_client.get("/reports/county/", {"year": YEAR, "psort": "total", "pdir": "asc"}).context["report"]
    totals = [p["total"] for p in report.noncompliant]
    assert totals == sorted(totals)
    level = report.noncompliant[0]["level"]
    report = county_client.get("/reports/county/", {"year": YEAR, "level": level}).context["report"]
    assert {p["level"] for p in report.noncompliant} == {level}
    assert [lv["level"] for lv in report.levels] == [level]
    target = report.noncompliant[0]
    report = county_client.get("/reports/county/", {"year": YEAR, "q": target["name"][1:],
                                                    "unit": target["unit_id"]}).context["report"]
    assert target["person_id"] in {p["person_id"] for p in report.noncompliant}
    assert all(target["name"][1:] in p["name"] and p["unit_id"] == target["unit_id"] for p in report.noncompliant)
    # The export keeps the filter.
    rows = _xlsx_rows(county_client.get(f"/reports/county/{own.pk}/{YEAR}/people.xlsx", {"level": level}))
    assert {r[3] for r in rows[1:]} == {report.noncompliant[0]["level_label"]}


def test_a_year_without_policy_says_so(county_client, seeded):
    response = county_client.get("/reports/county/", {"year": 2030})
    assert response.status_code == 200
    assert "2030 年度没有继续教育政策" in response.content.decode()
    assert b"data-problem" in response.content
    own, _other = seeded
    assert county_client.get(f"/reports/county/{own.pk}/2030/units.xlsx").status_code == 200
    assert county_client.get("/reports/county/", {"year": "abc"}).status_code == 404


def test_trend_uses_the_current_audit_snapshot_of_past_years(county_client, seeded):
    from apps.assessment.models import AuditGroupResult, AuditSnapshot

    own, _other = seeded
    city = Region.objects.get(code="410200")
    for year, current in ((2015, False), (2015, True)):
        snap = AuditSnapshot.objects.create(region=city, year=year, status="done", is_current=current,
                                            people=10, compliant=4)
        AuditGroupResult.objects.create(snapshot=snap, kind="county", county=own, level="", people=10,
                                        compliant=7 if current else 1, public_met=8, shortfall_sum=0, rate=0.7)
    report = county_client.get("/reports/county/", {"year": YEAR}).context["report"]
    trend = {t["year"]: t for t in report.trend}
    assert trend[2015]["source"] == "audit" and trend[2015]["rate"] == pytest.approx(0.7)
    assert trend[YEAR]["source"] == "live" and trend[YEAR]["people"] == report.people
    rows = _xlsx_rows(county_client.get(f"/reports/county/{own.pk}/{YEAR}/trend.xlsx"))
    assert [r[0] for r in rows[1:]] == [2015, YEAR]


@pytest.fixture
def dashboard_data(seeded):
    """One face-to-face base with a class of 4 registrations (3 results, 2 passed), a submission of 2 items still
    pending for 3 days and 1 endorsed; plans: 2 filed, 1 acknowledged, 1 draft."""
    from apps.enrollment.models import ExamResult, Registration, Submission, SubmissionItem, TrainingClass

    city = Region.objects.get(code="410200")
    base = TrainingBase.objects.get(code="kf-xzxy")
    course = Course.objects.filter(year=YEAR, mode="face_to_face").first() or Course.objects.filter(year=YEAR).first()
    cls = TrainingClass.objects.create(base=base, course=course, code="C1", year=YEAR,
                                       starts_on=datetime.date(2016, 7, 10), ends_on=datetime.date(2016, 7, 12),
                                       capacity=10, organiser="city", organised_by=city,
                                       registration_deadline=datetime.date(2016, 7, 5), registered=4)
    people = list(Person.objects.select_related("unit")[:4])
    regs = [Registration.objects.create(training_class=cls, person=p, unit=p.unit) for p in people]
    results = [ExamResult.objects.create(registration=r, passed=ok, completed_on=datetime.date(2016, 7, 12))
               for r, ok in zip(regs, (True, True, False))]
    now = timezone.now()
    sub = Submission.objects.create(base=base, number="S-1", status="submitted",
                                    submitted_at=now - datetime.timedelta(days=3, hours=1))
    for k, (res, status) in enumerate(zip(results, ("pending", "pending", "endorsed"))):
        SubmissionItem.objects.create(submission=sub, person=res.registration.person, course=course, result=res,
                                      hours=Decimal(6), completed_on=datetime.date(2016, 7, 12), organiser="city",
                                      learning_record_no=f"L{k}", certificate_no=f"Q{k}", status=status)
    dept = IndustryDepartment.objects.filter(region=city).first() or f.IndustryDepartmentFactory(region=city)
    for k, status in enumerate(("filed", "filed", "acknowledged", "draft")):
        IndustryPlan.objects.create(department=dept, title=f"计划{k}", year=YEAR, starts_on=datetime.date(2016, 3, 1),
                                    ends_on=datetime.date(2016, 12, 1), status=status,
                                    filed_at=now - datetime.timedelta(days=5 + k) if status != "draft" else None)
    return base


def test_city_dashboard_figures(client, seeded, dashboard_data):
    from apps.assessment.models import AuditGroupResult, AuditSnapshot

    city = Region.objects.get(code="410200")
    own, _other = seeded
    snap = AuditSnapshot.objects.create(region=city, year=2015, status="done", is_current=True, people=300,
                                        compliant=240)
    AuditGroupResult.objects.create(snapshot=snap, kind="county", county=own, level="", people=50, compliant=40,
                                    public_met=45, shortfall_sum=0, rate=0.8, rank=1)
    _client(client, Role.CITY_BUREAU, region=city)
    response = client.get("/reports/city/", {"year": YEAR})
    assert response.status_code == 200
    d = response.context["dashboard"]
    base = next(b for b in d.bases if b["base"] == dashboard_data)
    assert (base["registrations"], base["examined"], base["passed"]) == (4, 3, 2)
    assert base["pass_rate"] == pytest.approx(2 / 3)
    assert (base["pending_items"], base["pending_batches"], base["age_days"]) == (2, 1, 3)
    assert d.plans["filed"] == 2 and d.plans["acknowledged"] == 1 and d.plans["total"] == 4
    assert [p["age_days"] for p in d.plans["pending"]] == [6, 5]
    counties = {c["region"].pk: c for c in d.counties}
    results = _evaluated_people(own)
    assert counties[own.pk]["people"] == len(results)
    assert counties[own.pk]["compliant"] == sum(r.compliant for r in results.values())
    assert sum(c["people"] for c in d.counties) == PersonYearTotal.objects.filter(year=YEAR,
                                                                                  level__isnull=False).count()
    assert [s["year"] for s in d.snapshots] == [2015] and d.matrix[0]["cells"][0]["rate"] == Decimal("0.8")
    rows = _xlsx_rows(client.get(f"/reports/city/{YEAR}/bases.xlsx"))
    assert any(r[0] == dashboard_data.name and r[2] == 4 for r in rows[1:])
    text = _pdf_text(client.get(f"/reports/city/{YEAR}/counties.pdf"))
    assert own.name in text


@pytest.mark.parametrize("role", [Role.TRAINEE, Role.UNIT_ADMIN, Role.BASE_STAFF, Role.INDUSTRY_DEPT])
def test_other_roles_are_refused(client, seeded, role):
    own, _other = seeded
    org = {Role.TRAINEE: {"person": Person.objects.filter(unit__region=own).first()},
           Role.UNIT_ADMIN: {"unit": Unit.objects.filter(region=own).first()},
           Role.BASE_STAFF: {"base": TrainingBase.objects.first()},
           Role.INDUSTRY_DEPT: {"department": f.IndustryDepartmentFactory()}}[role]
    _client(client, role, **org)
    for url in ("/reports/county/", f"/reports/county/?county={own.pk}", f"/reports/county/{own.pk}/{YEAR}/units.xlsx",
                "/reports/city/", f"/reports/city/{YEAR}/bases.pdf"):
        assert client.get(url).status_code == 403, url


def test_county_bureau_has_no_city_dashboard(county_client):
    assert county_client.get("/reports/city/").status_code == 403
    assert county_client.get(f"/reports/city/{YEAR}/counties.xlsx").status_code == 403


def test_anonymous_is_sent_to_login(client, seeded):
    response = client.get("/reports/county/")
    assert response.status_code == 302


def test_formula_like_unit_names_are_exported_as_text(county_client, seeded):
    own, _other = seeded
    unit = Unit.objects.filter(region=own).first()
    Unit.objects.filter(pk=unit.pk).update(name="=HYPERLINK(\"http://x\")")
    rows = _xlsx_rows(county_client.get(f"/reports/county/{own.pk}/{YEAR}/units.xlsx"))
    assert "'=HYPERLINK(\"http://x\")" in {r[0] for r in rows[1:]}


def test_pages_past_the_end_keep_the_county_figures(county_client, seeded):
    first = county_client.get("/reports/county/", {"year": YEAR}).context["report"]
    far = county_client.get("/reports/county/", {"year": YEAR, "page": 999, "ppage": 999}).context["report"]
    assert far.units == [] and far.noncompliant == []
    assert (far.people, far.compliant, far.unit_count) == (first.people, first.compliant, first.unit_count)
    gaps = [p["short_total"] for p in first.noncompliant]
    assert gaps == sorted(gaps, reverse=True)  # the default: the largest shortfall first


def test_the_hour_histogram_puts_each_boundary_in_the_upper_bucket(client, kaifeng):
    """0 | (0, 30) | [30, 60) | [60, 90) | [90, …): 29.5 below 30, 30 in the second band, 89.5 below 90, 90 at the top."""
    from django.db import transaction

    from apps.ledger import services as ledger_services

    county = Region.objects.get(code="410203")
    unit = f.UnitFactory(region=county)
    totals = [Decimal(h) for h in ("0", "0.5", "29.5", "30", "59.5", "60", "89.5", "90", "120")]
    entries = []
    for k, hours in enumerate(totals):
        p = f.PersonFactory(unit=unit)
        f.TitleHoldingFactory(person=p, level="intermediate", obtained_on=datetime.date(2010, 1, 1))
        if hours:
            entries.append(ledger_services.EntryInput(
                person_id=p.pk, category="professional", hours=hours, completed_on=datetime.date(YEAR, 5, 1),
                source="migration", source_key=f"histogram:{k}", organiser="city"))
    with transaction.atomic():
        ledger_services.entries_record(entries=entries)
    _client(client, Role.COUNTY_BUREAU, region=county)
    report = client.get("/reports/county/", {"year": YEAR}).context["report"]
    assert [b["people"] for b in report.histogram] == [1, 2, 2, 2, 2]
