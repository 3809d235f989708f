"""Self-reported activities (学时申报): trainee → unit → bureau, one ledger entry with the policy's hours, retries
change nothing, returns need a reason, evidence checked by its content, roles and scope on the pages."""
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.accounts.models import Role
from apps.catalog.models import ActivityHours, YearPolicy
from apps.core.errors import Conflict, DomainError, NotVisible
from apps.enrollment import activities
from apps.enrollment.models import ActivityReport
from apps.ledger import selectors as ledger
from apps.ledger.models import HourEntry
from apps.orgs.models import Region

from . import factories as f

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
DAY = datetime.date(2016, 5, 12)
# The 2016 policy's hours per activity (policy data in fixtures/kaifeng_2016.json).
HOURS = {"conference": Decimal("6"), "degree": Decimal("30"), "research": Decimal("20"),
         "publication": Decimal("10"), "training": Decimal("8")}


def pdf(name="会议证明.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def w(kaifeng):
    policy = YearPolicy.objects.get(year=2016, region__code="410200")
    assert {a.kind: a.hours for a in ActivityHours.objects.filter(policy=policy)} == HOURS  # the fixture's data
    city = Region.objects.get(code="410200")
    unit, other_unit = f.UnitFactory(region=city), f.UnitFactory(region=city)
    person = f.PersonFactory(unit=unit)
    f.TitleHoldingFactory(person=person, level="intermediate", obtained_on=datetime.date(2010, 1, 1))
    return {
        "person": person,
        "trainee": f.UserFactory(role=Role.TRAINEE, person=person, is_staff=False),
        "unit": f.UserFactory(role=Role.UNIT_ADMIN, unit=unit, is_staff=False),
        "other_unit": f.UserFactory(role=Role.UNIT_ADMIN, unit=other_unit, is_staff=False),
        "bureau": f.UserFactory(role=Role.CITY_BUREAU, region=city, is_staff=False),
    }


def reported(w, kind="conference", **kw):
    return activities.activity_report(person=w["person"], kind=kind, title=kw.pop("title", "河南省医学年会"),
                                      activity_date=kw.pop("activity_date", DAY), evidence=kw.pop("evidence", pdf()),
                                      by=w["trainee"], **kw)


def test_the_whole_flow_writes_one_entry_with_the_policy_hours(w):
    r = reported(w, kind="publication")
    assert (r.status, r.year, r.evidence_name) == ("submitted", 2016, "会议证明.pdf")
    assert r.evidence.name.startswith("evidence/") and r.evidence.read() == PDF
    r = activities.activity_check(report_id=r.pk, by=w["unit"])
    assert (r.status, r.unit_checked_by) == ("checked", w["unit"])
    assert not HourEntry.objects.exists()
    r = activities.activity_recognise(report_id=r.pk, by=w["bureau"])
    assert (r.status, r.hours, r.decided_by) == ("recognised", Decimal("10"), w["bureau"])
    e = HourEntry.objects.get()
    assert (e.person, e.hours, e.category, e.source, e.source_key, e.course_title, e.completed_on, e.year) == (
        w["person"], Decimal("10"), "professional", "self_report", f"activity:{r.pk}", "河南省医学年会", DAY, 2016)
    assert e.source_object == r and e.created_by == w["bureau"]
    assert ledger.totals_for(person_id=w["person"].pk, year=2016).professional == 10
    result = ledger.person_compliance(person=w["person"], year=2016)
    assert result.totals.professional == 10
    assert ledger.ledger_drift()[1] == []


def test_a_retried_recognition_adds_nothing(w):
    r = reported(w)
    activities.activity_check(report_id=r.pk, by=w["unit"])
    activities.activity_recognise(report_id=r.pk, by=w["bureau"])
    again = activities.activity_recognise(report_id=r.pk, by=w["bureau"])
    assert again.hours == HOURS["conference"]
    assert HourEntry.objects.count() == 1
    assert ledger.totals_for(person_id=w["person"].pk, year=2016).professional == HOURS["conference"]


def test_a_report_must_be_checked_by_the_unit_before_recognition(w):
    r = reported(w)
    with pytest.raises(Conflict):
        activities.activity_recognise(report_id=r.pk, by=w["bureau"])
    assert not HourEntry.objects.exists()


def test_a_year_without_hours_for_the_kind_is_named(w):
    ActivityHours.objects.filter(kind="research").delete()
    r = reported(w, kind="research")
    activities.activity_check(report_id=r.pk, by=w["unit"])
    with pytest.raises(DomainError) as exc:
        activities.activity_recognise(report_id=r.pk, by=w["bureau"])
    assert "2016" in str(exc.value) and "科研项目" in str(exc.value)
    assert ActivityReport.objects.get(pk=r.pk).status == "checked" and not HourEntry.objects.exists()


def test_a_return_needs_a_reason_and_is_final(w):
    r = reported(w)
    with pytest.raises(DomainError) as exc:
        activities.activity_return(report_id=r.pk, reason="  ", by=w["unit"])
    assert exc.value.field == "reason"
    r = activities.activity_return(report_id=r.pk, reason="证明材料不清晰", by=w["unit"])
    assert (r.status, r.reason, r.decided_by) == ("returned", "证明材料不清晰", w["unit"])
    with pytest.raises(Conflict):
        activities.activity_check(report_id=r.pk, by=w["unit"])


def test_the_bureau_may_return_a_checked_report(w):
    r = reported(w)
    activities.activity_check(report_id=r.pk, by=w["unit"])
    r = activities.activity_return(report_id=r.pk, reason="不属于专业科目", by=w["bureau"])
    assert r.status == "returned"
    with pytest.raises(Conflict):
        activities.activity_recognise(report_id=r.pk, by=w["bureau"])
    assert not HourEntry.objects.exists()


@pytest.mark.parametrize("evidence, message", [
    (SimpleUploadedFile("证明.pdf", b"just some text, not a PDF"), "文件内容与扩展名不符"),
    (SimpleUploadedFile("证明.png", PDF), "文件内容与扩展名不符"),
    (SimpleUploadedFile("setup.exe", b"MZ\x90\x00" + b"\x00" * 60), "PDF"),
    (SimpleUploadedFile("big.pdf", PDF + b"\x00" * (10 * 1024 * 1024)), "10 MB"),
])
def test_bad_evidence_is_refused(w, evidence, message):
    with pytest.raises(DomainError) as exc:
        reported(w, evidence=evidence)
    assert message in str(exc.value) and exc.value.field == "evidence"
    assert not ActivityReport.objects.exists()


def test_a_png_and_a_jpeg_are_accepted(w):
    reported(w, evidence=SimpleUploadedFile("会场.PNG", PNG))
    reported(w, evidence=SimpleUploadedFile("会场.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20))
    assert ActivityReport.objects.count() == 2


def test_a_future_date_is_refused(w):
    with pytest.raises(DomainError) as exc:
        reported(w, activity_date=datetime.date(2016, 6, 2), today=datetime.date(2016, 6, 1))
    assert exc.value.field == "activity_date"


def test_another_units_admin_and_the_trainee_cannot_act(w):
    r = reported(w)
    with pytest.raises(NotVisible):
        activities.activity_check(report_id=r.pk, by=w["other_unit"])
    with pytest.raises(PermissionDenied):
        activities.activity_check(report_id=r.pk, by=w["trainee"])
    activities.activity_check(report_id=r.pk, by=w["unit"])
    with pytest.raises(PermissionDenied):
        activities.activity_recognise(report_id=r.pk, by=w["trainee"])
    with pytest.raises(PermissionDenied):
        activities.activity_recognise(report_id=r.pk, by=w["unit"])
    assert not HourEntry.objects.exists()


# --- pages ------------------------------------------------------------------------------------------------------


def test_the_pages_carry_a_report_from_trainee_to_ledger(client, w):
    client.force_login(w["trainee"])
    page = client.get(reverse("enrollment:activity_mine"))
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.content.decode()
    resp = client.post(reverse("enrollment:activity_mine"), {
        "kind": "degree", "title": "在职硕士课程", "activity_date": "2016-06-30", "evidence": pdf("成绩单.pdf")})
    assert resp.status_code == 302
    r = ActivityReport.objects.get()
    assert client.get(reverse("enrollment:activity_evidence", args=[r.pk])).getvalue() == PDF

    client.force_login(w["unit"])
    assert "在职硕士课程" in client.get(reverse("enrollment:activity_unit_queue")).content.decode()
    ev = client.get(reverse("enrollment:activity_evidence", args=[r.pk]))
    assert ev.status_code == 200 and "attachment" in ev["Content-Disposition"]
    assert client.post(reverse("enrollment:activity_check", args=[r.pk])).status_code == 302

    client.force_login(w["bureau"])
    assert "在职硕士课程" in client.get(reverse("enrollment:activity_bureau_queue")).content.decode()
    assert client.post(reverse("enrollment:activity_recognise", args=[r.pk])).status_code == 302
    assert client.post(reverse("enrollment:activity_recognise", args=[r.pk])).status_code == 302  # a retry
    assert HourEntry.objects.get().hours == HOURS["degree"]

    client.force_login(w["trainee"])
    mine = client.get(reverse("enrollment:activity_mine")).content.decode()
    assert 'data-status="recognised"' in mine and "30" in mine


def test_the_form_shows_the_evidence_error(client, w):
    client.force_login(w["trainee"])
    resp = client.post(reverse("enrollment:activity_mine"), {
        "kind": "conference", "title": "年会", "activity_date": "2016-06-30",
        "evidence": SimpleUploadedFile("证明.pdf", b"hello")})
    assert resp.status_code == 400 and "文件内容与扩展名不符" in resp.content.decode()
    assert not ActivityReport.objects.exists()


def test_a_return_without_a_reason_changes_nothing_on_the_page(client, w):
    r = reported(w)
    client.force_login(w["unit"])
    client.post(reverse("enrollment:activity_return", args=[r.pk]), {"reason": ""})
    assert ActivityReport.objects.get(pk=r.pk).status == "submitted"
    client.post(reverse("enrollment:activity_return", args=[r.pk]), {"reason": "材料缺页"})
    assert ActivityReport.objects.get(pk=r.pk).status == "returned"


@pytest.mark.parametrize("who, name, method, expected", [
    ("other_unit", "activity_check", "post", 404),
    ("other_unit", "activity_return", "post", 404),
    ("other_unit", "activity_evidence", "get", 404),
    ("trainee", "activity_check", "post", 403),
    ("trainee", "activity_recognise", "post", 403),
    ("trainee", "activity_return", "post", 403),
    ("unit", "activity_recognise", "post", 403),
    ("bureau", "activity_check", "post", 403),
    ("trainee", "activity_unit_queue", "get", 403),
    ("trainee", "activity_bureau_queue", "get", 403),
    ("unit", "activity_bureau_queue", "get", 403),
    ("bureau", "activity_mine", "get", 403),
])
def test_wrong_role_is_403_and_outside_scope_is_404(client, w, who, name, method, expected):
    r = reported(w)
    client.force_login(w[who])
    args = [] if name.endswith(("queue", "mine")) else [r.pk]
    data = {"reason": "x"} if method == "post" else {}
    resp = getattr(client, method)(reverse(f"enrollment:{name}", args=args), data)
    assert resp.status_code == expected
    assert ActivityReport.objects.get(pk=r.pk).status == "submitted"


def test_another_trainee_cannot_see_the_evidence(client, w):
    r = reported(w)
    stranger = f.PersonFactory(unit=w["person"].unit)
    client.force_login(f.UserFactory(role=Role.TRAINEE, person=stranger, is_staff=False))
    assert client.get(reverse("enrollment:activity_evidence", args=[r.pk])).status_code == 404


def test_the_forms_need_csrf(w):
    from django.test import Client

    r = reported(w)
    c = Client(enforce_csrf_checks=True)
    c.force_login(w["unit"])
    assert c.post(reverse("enrollment:activity_check", args=[r.pk])).status_code == 403
    assert ActivityReport.objects.get(pk=r.pk).status == "submitted"
