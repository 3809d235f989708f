"""继续教育证书: the booklet of endorsed hours (serials, endorsing bureau, revoked entries) and the yearly
learning-record PDF (a real PDF, Chinese text with an embedded CJK font, fast enough to render in a request)."""
import io
import shutil
import subprocess
import time

import pytest
from django.db import transaction
from pypdf import PdfReader

from apps.accounts.models import Role
from apps.certificates.pdf import learning_record_pdf
from apps.certificates.selectors import booklet
from apps.enrollment import review
from apps.enrollment.models import SubmissionItem
from apps.ledger import services as ledger_services
from apps.ledger.models import HourEntry
from apps.orgs.models import Region

from . import factories as f
from .test_review import reviewer, submitted  # noqa: F401 (fixture)
from .test_submissions import world  # noqa: F401 (fixture)


@pytest.fixture
def endorsed(world, reviewer):
    """Both of the first person's 2016 results endorsed by the city bureau: the F01 class (8 h, 22 July) and the
    online completion (4.5 h, 1 September)."""
    for base in (world["kfdx"], world["online"]):
        review.submission_endorse_all(submission_id=submitted(base).pk, by=reviewer)
    person = world["people"][0]
    person.name = "周证书"
    person.save()
    return person


def reverse_online(person):
    entry = HourEntry.objects.get(person=person, source="endorsement", hours="4.5")
    with transaction.atomic():
        ledger_services.entry_reverse(entry_id=entry.pk, reason="平台记录有误")
    return entry


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# --- the booklet ------------------------------------------------------------------------------------------------


def test_booklet_lists_the_years_endorsements_in_completion_order_with_serials(endorsed, django_assert_num_queries):
    with django_assert_num_queries(1):
        pages = booklet(person=endorsed, year=2016)
    items = {i.hours: i for i in SubmissionItem.objects.filter(person=endorsed)}
    assert [p.hours for p in pages] == [8, 4.5]
    assert [p.completed_on.isoformat() for p in pages] == ["2016-07-22", "2016-09-01"]
    assert [p.certificate_no for p in pages] == [items[8].certificate_no, items[4.5].certificate_no]
    assert all(p.certificate_no for p in pages)
    assert pages[0].learning_record_no == items[8].learning_record_no
    assert {p.bureau for p in pages} == {"开封市人力资源和社会保障局"}
    assert pages[0].base == "开封大学" and pages[0].endorsed_at is not None
    assert not any(p.revoked for p in pages)
    assert booklet(person=endorsed, year=2017) == []


def test_a_reversed_endorsement_stays_in_the_booklet_marked_revoked(endorsed, client):
    reverse_online(endorsed)
    pages = booklet(person=endorsed, year=2016)
    assert [(p.hours, p.revoked) for p in pages] == [(8, False), (4.5, True)]  # the reversal itself is no page
    assert pages[1].revoked_reason == "平台记录有误"
    client.force_login(f.UserFactory(role=Role.TRAINEE, person=endorsed, is_staff=False))
    html = client.get("/certificates/my/2016/").content.decode()
    assert html.count("data-revoked") == 1 and "已撤销" in html
    assert pages[0].certificate_no in html and "有效学时合计 8 学时" in html


# --- the learning-record PDF ------------------------------------------------------------------------------------


def test_the_learning_record_is_a_pdf_with_the_name_and_hours_in_an_embedded_cjk_font(endorsed, tmp_path):
    reverse_online(endorsed)
    # The first render in a process also loads Pango and fontconfig's cache (about 1–1.5 s more, once); the
    # figure that matters per download is a warm render, which is font subsetting mostly.
    learning_record_pdf(person=endorsed, year=2016)
    started = time.perf_counter()
    filename, content_type, data = learning_record_pdf(person=endorsed, year=2016)
    elapsed = time.perf_counter() - started
    assert elapsed < 2, f"one learning record took {elapsed:.2f} s (is libharfbuzz-subset0 installed?)"
    assert (filename, content_type) == (f"learning-record-2016-{endorsed.pk}.pdf", "application/pdf")
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "周证书" in text and "专业技术人员继续教育学习档案" in text
    assert "开封市人力资源和社会保障局" in text and f"XDA-2016-{endorsed.pk:08d}" in text
    assert "有效学时合计 8 学时" in text and "已撤销" in text
    assert endorsed.masked_id in text and endorsed.id_number not in text
    assert "中级" in text and "未达标" in text  # 8 of 90 hours
    path = tmp_path / filename
    path.write_bytes(data)
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
        cjk = [line for line in fonts.splitlines() if "NotoSansCJK" in line.split(" ")[0].replace("-", "")]
        assert cjk and all(" yes " in line for line in cjk), fonts  # emb column: the glyphs travel with the file
    else:
        names = {str(font.get_object()["/BaseFont"]) for page in PdfReader(path).pages
                 for font in page["/Resources"]["/Font"].values()}
        assert any("NotoSansCJK" in n.replace("-", "") for n in names), names


def test_the_trainee_downloads_their_own_learning_record(endorsed, client):
    client.force_login(f.UserFactory(role=Role.TRAINEE, person=endorsed, is_staff=False))
    response = client.get("/certificates/my/2016/learning-record.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f'filename="learning-record-2016-{endorsed.pk}.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")


# --- who sees what ----------------------------------------------------------------------------------------------


def test_a_trainee_gets_404_for_another_person(endorsed, world, client):
    other = world["people"][1]
    client.force_login(f.UserFactory(role=Role.TRAINEE, person=endorsed, is_staff=False))
    assert client.get("/certificates/my/2016/").status_code == 200
    for url in (f"/certificates/people/{other.pk}/2016/", f"/certificates/people/{other.pk}/2016/learning-record.pdf"):
        assert client.get(url).status_code == 404, url


def test_staff_have_no_my_booklet(endorsed, reviewer, client):
    client.force_login(reviewer)
    assert client.get("/certificates/my/2016/").status_code == 404
    assert client.get(f"/certificates/people/{endorsed.pk}/2016/").status_code == 200


def test_a_county_bureau_sees_its_own_countys_people_only(kaifeng, client):
    mine = f.PersonFactory(unit=f.UnitFactory(region=Region.objects.get(code="410202")), name="龙亭人")
    theirs = f.PersonFactory(unit=f.UnitFactory(region=Region.objects.get(code="410221")), name="杞县人")
    client.force_login(f.UserFactory(role=Role.COUNTY_BUREAU, region=Region.objects.get(code="410202"),
                                     is_staff=False))
    html = client.get(f"/certificates/people/{mine.pk}/2016/").content.decode()
    assert "龙亭人" in html and mine.id_number in html  # a bureau works with full ID numbers
    assert client.get(f"/certificates/people/{mine.pk}/2016/learning-record.pdf").status_code == 200
    for url in (f"/certificates/people/{theirs.pk}/2016/", f"/certificates/people/{theirs.pk}/2016/learning-record.pdf"):
        assert client.get(url).status_code == 404, url


def test_a_year_outside_the_ledger_is_404(endorsed, client):
    client.force_login(f.UserFactory(role=Role.TRAINEE, person=endorsed, is_staff=False))
    assert client.get("/certificates/my/1800/").status_code == 404


def test_a_recognised_self_report_is_a_page_with_the_recording_bureau_and_no_serial(endorsed, reviewer):
    import datetime
    from decimal import Decimal

    with transaction.atomic():
        ledger_services.entries_record(entries=[ledger_services.EntryInput(
            person_id=endorsed.pk, category="professional", hours=Decimal(6), completed_on=datetime.date(2016, 8, 1),
            source="self_report", source_key="test:self-report:1", course_title="学术会议报告")],
            created_by=reviewer)
    pages = booklet(person=endorsed, year=2016)
    assert [p.title for p in pages][1] == "学术会议报告"  # between 22 July and 1 September
    assert (pages[1].certificate_no, pages[1].bureau) == ("", "开封市人力资源和社会保障局")
