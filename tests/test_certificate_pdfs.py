"""The qualification certificate (合格证书) of one endorsed item and the batch endorsement list (认证清单) as PDFs:
real text with an embedded CJK font, the QR code of the signed verification address, refusals and who may download."""
import io
import re
import shutil
import subprocess
import time

import pytest
from django.utils import timezone
from pypdf import PdfReader

from apps.accounts.models import Role
from apps.certificates import signing
from apps.certificates.pdf import NotACertificate, endorsement_list_pdf, qualification_certificate_pdf
from apps.enrollment import review
from apps.enrollment.models import SubmissionItem

from . import factories as f
from .test_certificates import endorsed, reverse_online  # noqa: F401 (fixture)
from .test_review import reviewer, submitted  # noqa: F401 (fixture)
from .test_submissions import graded_class, world  # noqa: F401 (fixture)

ISSUER = "开封市人力资源和社会保障局"


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def assert_cjk_embedded(data: bytes, tmp_path) -> None:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
        cjk = [line for line in fonts.splitlines() if "NotoSansCJK" in line.split(" ")[0].replace("-", "")]
        assert cjk and all(" yes " in line for line in cjk), fonts
    else:
        names = {str(font.get_object()["/BaseFont"]) for page in PdfReader(path).pages
                 for font in page["/Resources"]["/Font"].values()}
        assert any("NotoSansCJK" in n.replace("-", "") for n in names), names


def item_of(person, hours) -> SubmissionItem:
    return SubmissionItem.objects.get(person=person, hours=hours)


# --- the qualification certificate ------------------------------------------------------------------------------


def test_the_certificate_carries_name_hours_serial_issuer_in_an_embedded_cjk_font(endorsed, tmp_path, settings):
    settings.PORTAL_BASE_URL = "https://ce.kaifeng.example"
    item = item_of(endorsed, 8)
    qualification_certificate_pdf(item=item)  # the first render in a process loads Pango and fontconfig
    started = time.perf_counter()
    filename, content_type, data = qualification_certificate_pdf(item=item)
    elapsed = time.perf_counter() - started
    print(f"\nqualification certificate: {elapsed * 1000:.0f} ms warm")
    assert elapsed < 2, f"one certificate took {elapsed:.2f} s"
    assert (filename, content_type) == (f"certificate-{item.certificate_no}.pdf", "application/pdf")
    assert data.startswith(b"%PDF") and len(PdfReader(io.BytesIO(data)).pages) == 1
    text = pdf_text(data).replace("\n", "")  # the statement is a paragraph: lines break anywhere in it
    assert "专业技术人员继续教育合格证书" in text and "周证书" in text
    assert "8 学时" in text and item.certificate_no in text and ISSUER in text
    assert endorsed.masked_id in text and endorsed.id_number not in text
    assert item.course.title in text and "开封大学" in text and "于2016年7月22日在" in text
    assert_cjk_embedded(data, tmp_path)


def test_the_qr_code_points_at_the_absolute_verify_url_with_a_valid_signed_token(endorsed, settings, monkeypatch):
    settings.PORTAL_BASE_URL = "https://ce.kaifeng.example/"
    from apps.certificates import verification

    seen = []
    real = verification.qr_png_data_uri
    monkeypatch.setattr(verification, "qr_png_data_uri", lambda url: seen.append(url) or real(url))
    item = item_of(endorsed, 8)
    qualification_certificate_pdf(item=item)
    [url] = seen
    match = re.fullmatch(r"https://ce\.kaifeng\.example/verify/([^/]+)/\?t=(.+)", url)
    assert match and match[1] == item.certificate_no, url
    assert signing.verify(match[2])["s"] == item.certificate_no


def test_an_item_not_endorsed_has_no_certificate(world, client):
    item = submitted(world["online"]).items.get()
    with pytest.raises(NotACertificate):
        qualification_certificate_pdf(item=item)
    client.force_login(f.UserFactory(role=Role.TRAINEE, person=item.person, is_staff=False))
    response = client.get(f"/certificates/items/{item.pk}.pdf")
    assert response.status_code == 409 and "尚未经认证" in response.content.decode()


def test_a_revoked_certificate_is_refused(endorsed):
    reverse_online(endorsed)
    with pytest.raises(NotACertificate):
        qualification_certificate_pdf(item=item_of(endorsed, "4.5"))


def test_the_trainee_downloads_their_own_certificate_and_the_booklet_links_it(endorsed, client):
    item = item_of(endorsed, 8)
    client.force_login(f.UserFactory(role=Role.TRAINEE, person=endorsed, is_staff=False))
    html = client.get("/certificates/my/2016/").content.decode()
    assert html.count("data-certificate-pdf") == 2 and f"/certificates/items/{item.pk}.pdf" in html
    response = client.get(f"/certificates/items/{item.pk}.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f'filename="certificate-{item.certificate_no}.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")


def test_another_trainee_gets_404(endorsed, world, client):
    item = item_of(endorsed, 8)
    client.force_login(f.UserFactory(role=Role.TRAINEE, person=world["people"][1], is_staff=False))
    assert client.get(f"/certificates/items/{item.pk}.pdf").status_code == 404


def test_base_staff_of_that_base_and_the_bureau_download_it_other_bases_get_404(endorsed, world, reviewer, client):
    item = item_of(endorsed, 8)  # the 开封大学 item
    url = f"/certificates/items/{item.pk}.pdf"
    for user, status in ((f.UserFactory(role=Role.BASE_STAFF, base=world["kfdx"], is_staff=False), 200),
                         (reviewer, 200),
                         (f.UserFactory(role=Role.BASE_STAFF, base=world["online"], is_staff=False), 404)):
        client.force_login(user)
        assert client.get(url).status_code == status, user.role


# --- the endorsement list ---------------------------------------------------------------------------------------


@pytest.fixture
def batch_of_30(world, reviewer):
    graded_class(world["kfdx"], world["f01"], "KD-30", [True] * 28)  # with the world's two passed results: 30
    sub = submitted(world["kfdx"])
    review.submission_endorse_all(submission_id=sub.pk, by=reviewer)
    sub.refresh_from_db()
    assert sub.items.count() == 30 and sub.submitted_at is not None
    return sub


def test_the_endorsement_list_of_30_items_is_one_fast_document_with_every_serial(batch_of_30, tmp_path):
    qualification_certificate_pdf(item=batch_of_30.items.first())  # warm Pango and fontconfig
    started = time.perf_counter()
    filename, content_type, data = endorsement_list_pdf(submission=batch_of_30)
    elapsed = time.perf_counter() - started
    pages = len(PdfReader(io.BytesIO(data)).pages)
    print(f"\nendorsement list, 30 items: {elapsed * 1000:.0f} ms, {pages} page(s)")
    assert elapsed < 3, f"30 rows took {elapsed:.2f} s"
    assert (filename, content_type) == (f"endorsement-list-{batch_of_30.number}.pdf", "application/pdf")
    text = pdf_text(data)
    for item in batch_of_30.items.select_related("person"):
        assert item.certificate_no in text and item.person.masked_id in text
        assert item.person.id_number not in text
    assert "继续教育学时认证清单" in text and batch_of_30.number in text and "开封大学" in text
    assert timezone.localtime(batch_of_30.submitted_at).strftime("%Y-%m-%d %H:%M") in text
    assert "合计 30 条，其中已认证 30 条" in text and ISSUER in text
    assert_cjk_embedded(data, tmp_path)


def test_the_city_bureau_downloads_the_list_and_the_batch_page_links_it(batch_of_30, reviewer, client):
    client.force_login(reviewer)
    url = f"/certificates/batches/{batch_of_30.pk}/endorsement-list.pdf"
    assert url in client.get(f"/enrollment/review/{batch_of_30.pk}/").content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_other_roles_get_403_for_the_list(batch_of_30, world, client):
    url = f"/certificates/batches/{batch_of_30.pk}/endorsement-list.pdf"
    for user in (f.UserFactory(role=Role.BASE_STAFF, base=world["kfdx"], is_staff=False),
                 f.UserFactory(role=Role.TRAINEE, person=world["people"][0], is_staff=False)):
        client.force_login(user)
        assert client.get(url).status_code == 403, user.role
