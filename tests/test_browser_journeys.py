"""Journeys in a real browser (Debian's chromium through Playwright) against the live server: a trainee, a unit
admin, base staff, the city and a county bureau, and an anonymous phone. Each logs in through the login form and
clicks through the pages as a person would; the assertions read what the page shows and what a download holds.
Screenshots of the key steps land in artifacts/screenshots/<journey>-<step>.png.

Checks that follow a click use Playwright's `expect`, which retries until the next page shows it: a plain read
right after a click could still see the page being left."""
import datetime
import io
import re

import openpyxl
import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from apps.accounts.models import Role
from apps.bases.models import TrainingBase
from apps.catalog.models import Course
from apps.certificates import verification
from apps.enrollment import services
from apps.enrollment.models import ExamResult, Registration, Submission, SubmissionItem
from apps.orgs.models import Region, Unit

from . import factories as f
from .browser import PHONE, assert_clean, browser, download, login, open_page, shot, text_of  # noqa: F401 (fixtures)
from .test_certificates import endorsed  # noqa: F401 (fixture)
from .test_reports import seeded  # noqa: F401 (fixture)
from .test_review import reviewer, submitted  # noqa: F401 (fixture)
from .test_submissions import world  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

BEFORE = datetime.date(2016, 6, 1)  # before the 2016 registration deadline (5 July, W2)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # uploaded files; the live server runs in this process and reads the same


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def xlsx_rows(data: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(values_only=True))


def nav(page, name: str) -> None:
    page.get_by_role("navigation", name="主导航").get_by_role("link", name=name, exact=True).click()


def f01_class(code="KD-01"):
    """A face-to-face GX16-F01 class at 开封大学, 20–22 July 2016, 30 seats (registration closes 5 July)."""
    return services.class_create(base=TrainingBase.objects.get(code="kf-kfdx"),
                                 course=Course.objects.get(year=2016, code="GX16-F01"), code=code,
                                 starts_on=datetime.date(2016, 7, 20), ends_on=datetime.date(2016, 7, 22),
                                 capacity=30)


def people_of(unit, *names):
    people = [f.PersonFactory(unit=unit, name=name) for name in names]
    for p in people:
        f.TitleHoldingFactory(person=p, level="intermediate", obtained_on=datetime.date(2010, 1, 1))
    return people


# --- 1. a trainee: hours, the gap, a certificate ----------------------------------------------------------------


def test_a_trainee_logs_in_sees_hours_and_gap_and_downloads_a_certificate(open_page, endorsed):
    f.UserFactory(username="zhou", role=Role.TRAINEE, person=endorsed, is_staff=False)
    eight = SubmissionItem.objects.get(person=endorsed, hours=8)
    online = SubmissionItem.objects.get(person=endorsed, hours="4.5")
    page = open_page()

    login(page, "zhou", journey="trainee")
    expect(page.locator(".whoami-name")).to_have_text("周证书")
    nav(page, "我的学时")
    expect(page).to_have_url(re.compile(r"/my/hours/$"))
    expect(page.locator(".page-title [data-year]")).to_have_attribute("data-year", "2016")
    # 8 h face to face (GX16-F01, required) and 4.5 h online (an elective), against 90 / 26 / 18 for intermediate.
    expect(page.locator("[data-bar-figures]")).to_have_text(["12.5 / 90 学时", "12.5 / 26 学时", "8 / 18 学时"])
    expect(page.locator('[data-compliant="false"]')).to_be_visible()
    expect(page.locator("[data-summary]")).to_have_text("还差 77.5 学时；还差 13.5 学时公需科目，其中必修 10 学时")
    expect(page.locator("[data-hours] dd")).to_have_text(["12.5", "0"])  # official, pending
    expect(page.locator("[data-consequences]")).to_be_visible()
    expect(page.locator("li[data-course]").first).to_be_visible()  # courses that would close the gap
    shot(page, "trainee", "my-hours")

    page.get_by_role("link", name="继续教育证书（认证记录）").click()
    expect(page).to_have_url(re.compile(r"/certificates/my/2016/$"))
    expect(page.locator("[data-total]")).to_have_text("有效学时合计 12.5 学时")
    expect(page.locator("[data-certificate]")).to_have_text([eight.certificate_no, online.certificate_no])
    expect(page.locator("[data-qr] svg")).to_have_count(2)
    shot(page, "trainee", "booklet")

    entry = page.locator("li.entry", has_text=eight.certificate_no)
    name, data = download(page, entry.get_by_role("link", name="下载合格证书（PDF）"))
    assert name.endswith(".pdf") and data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "周证书" in text and eight.certificate_no in text

    name, data = download(page, page.get_by_role("link", name="下载年度学习档案（PDF）"))
    assert name == f"learning-record-2016-{endorsed.pk}.pdf" and data.startswith(b"%PDF-")
    assert "有效学时合计 12.5 学时" in pdf_text(data)
    assert_clean(page)


# --- 2. a unit admin registers staff before the deadline --------------------------------------------------------


@pytest.fixture
def before_deadline(monkeypatch):
    """The pages' "today" is 1 June 2016 (the live server runs in this process, so it sees the same clock)."""
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **kw: BEFORE)


def test_a_unit_admin_registers_staff_before_the_deadline(open_page, kaifeng, before_deadline):
    cls = f01_class()
    unit = f.UnitFactory(region=Region.objects.get(code="410200"), name="开封市中心医院")
    people_of(unit, "赵甲", "钱乙", "孙丙")
    admin = f.UserFactory(username="unit", role=Role.UNIT_ADMIN, unit=unit, is_staff=False)
    page = open_page()

    login(page, "unit", journey="registration")
    nav(page, "培训报名")
    card = page.locator('[data-class="KD-01"]')
    expect(card).to_contain_text("2016-07-05")  # the deadline
    expect(card).to_contain_text("30 / 30")
    shot(page, "registration", "open-classes")

    card.get_by_role("link", name="为本单位人员报名").click()
    expect(page).to_have_url(re.compile(rf"/enrollment/classes/{cls.pk}/register/$"))
    expect(page.locator("[data-seats-left]")).to_have_text("30 / 30")
    expect(page.locator("[data-closed]")).to_have_count(0)
    page.get_by_label("赵甲").check()
    page.get_by_label("钱乙").check()
    shot(page, "registration", "ticked")
    page.get_by_role("button", name="为勾选的人员报名").click()

    expect(page.locator(".messages")).to_contain_text("已为 2 人报名班次 KD-01，该班次还剩 28 个名额")
    expect(page.locator("[data-seats-left]")).to_have_text("28 / 30")
    registered = page.locator("table.pick-table tbody tr", has=page.locator(".badge-ok")).locator("label")
    expect(registered).to_have_count(2)
    assert sorted(registered.all_inner_texts()) == sorted(["赵甲", "钱乙"])
    expect(page.get_by_label("孙丙")).to_be_enabled()  # still free to register
    shot(page, "registration", "registered")

    page.get_by_role("link", name="本单位报名记录").last.click()
    expect(page).to_have_url(re.compile(r"/enrollment/unit/registrations/"))
    main = page.locator("main")
    expect(main).to_contain_text("赵甲")
    expect(main).to_contain_text("钱乙")
    expect(main).not_to_contain_text("孙丙")
    shot(page, "registration", "unit-registrations")
    assert set(Registration.objects.filter(training_class=cls, registered_by=admin)
               .values_list("person__name", flat=True)) == {"赵甲", "钱乙"}
    assert_clean(page)


# --- 3. base staff upload results, fix an error, confirm, and submit them ----------------------------------------

HEADER = "身份证号,姓名,课程代码,班次,成绩,是否合格,完成日期"


def results_csv(rows) -> dict:
    lines = [HEADER, *(",".join(r) for r in rows)]
    return {"name": "成绩.csv", "mimeType": "text/csv", "buffer": ("\n".join(lines) + "\n").encode("utf-8-sig")}


def test_base_staff_upload_results_fix_an_error_confirm_and_submit(open_page, kaifeng):
    cls = f01_class()
    a, b, c = people_of(f.UnitFactory(region=Region.objects.get(code="410200")), "王一", "王二", "王三")
    services.registrations_add(training_class_id=cls.pk, person_ids=[a.pk, b.pk, c.pk], today=BEFORE)
    f.UserFactory(username="kfdx", role=Role.BASE_STAFF, base=cls.base, is_staff=False)
    good = [[a.id_number, "王一", "GX16-F01", "KD-01", "85", "合格", "2016-07-22"],
            [b.id_number, "王二", "GX16-F01", "KD-01", "59", "不合格", ""],
            [c.id_number, "王三", "GX16-F01", "KD-01", "", "是", "2016-07-21"]]
    typo = [good[0], [b.id_number, "王五", *good[1][2:]], good[2]]
    page = open_page()
    status = page.locator(".page-title [data-status]")

    login(page, "kfdx", journey="results")
    nav(page, "成绩上传")
    page.get_by_role("link", name="上传成绩文件").click()
    page.locator('input[type="file"]').set_input_files(results_csv(typo))
    shot(page, "results", "upload-form")
    page.get_by_role("button", name="上传并检查").click()

    # The preview refuses the file: row 3's name does not match the ID number; nothing can be confirmed.
    expect(status).to_have_attribute("data-status", "rejected")
    error = page.locator('[data-error-row="3"]')
    expect(error).to_contain_text("姓名")
    expect(error).to_contain_text("不符")
    expect(page.locator("[data-confirm]")).to_have_count(0)
    expect(page.locator('[data-count="error"] dd')).to_have_text("1")
    assert not ExamResult.objects.exists()
    shot(page, "results", "preview-error")

    page.get_by_role("link", name="上传新文件").click()
    page.locator('input[type="file"]').set_input_files(results_csv(good))
    page.get_by_role("button", name="上传并检查").click()
    expect(status).to_have_attribute("data-status", "checked")
    expect(page.locator("[data-count] dd")).to_have_text(["3", "0", "0", "0"])  # new, updated, unchanged, error
    expect(page.locator('tr[data-outcome="new"]')).to_have_count(3)
    assert not ExamResult.objects.exists()  # a preview writes nothing
    shot(page, "results", "preview-ok")
    page.locator("[data-confirm]").click()
    expect(status).to_have_attribute("data-status", "done")
    expect(page.locator(".alert-success")).to_contain_text("导入")
    assert ExamResult.objects.filter(registration__training_class=cls).count() == 3
    shot(page, "results", "imported")

    # Report the passed results (王一, 王三; 王二 failed) to the city bureau.
    nav(page, "上报审核")
    page.get_by_role("button", name="新建草稿批次").click()
    batch_status = page.locator("dd[data-status]")
    expect(batch_status).to_have_attribute("data-status", "draft")
    page.get_by_role("button", name="添加全部待上报记录").click()
    items = page.locator("tr[data-item]")
    expect(items).to_have_count(2)
    assert sorted(items.locator("td:first-child").all_inner_texts()) == sorted(["王一", "王三"])
    html = page.content()
    assert a.id_number not in html and c.id_number not in html and a.masked_id in html  # masked for a base
    shot(page, "results", "draft")
    page.get_by_role("link", name="上报市人社局…").click()
    expect(page.locator("main")).to_contain_text("本批次共 2 条明细，合计 16 学时")
    page.get_by_role("button", name="确认上报").click()
    expect(batch_status).to_have_attribute("data-status", "submitted")
    expect(page.get_by_role("button", name="添加全部待上报记录")).to_have_count(0)  # frozen
    shot(page, "results", "submitted")
    sub = Submission.objects.get(base=cls.base)
    assert sub.status == Submission.Status.SUBMITTED and sub.items.count() == 2
    assert_clean(page)


# --- 4. the city bureau endorses; the trainee's hours change ----------------------------------------------------


def test_the_city_bureau_endorses_and_the_trainees_hours_change(open_page, world):
    batch = submitted(world["kfdx"])  # the 8-hour GX16-F01 results of the first two people
    person = world["people"][0]
    f.UserFactory(username="trainee", role=Role.TRAINEE, person=person, is_staff=False)
    f.UserFactory(username="city", role=Role.CITY_BUREAU, region=Region.objects.get(code="410200"))
    trainee, bureau = open_page(), open_page()  # two browsers side by side, each with its own session

    login(trainee, "trainee", journey="endorse")
    trainee.goto("/my/hours/2016/")
    expect(trainee.locator("[data-hours] dd")).to_have_text(["0", "8"])  # official, pending
    expect(trainee.locator('[data-bar-figures="total"]')).to_have_text("0 / 90 学时")
    expect(trainee.get_by_text("本年度暂无已认证的学时记录。")).to_be_visible()
    shot(trainee, "endorse", "trainee-before")

    login(bureau, "city", journey="endorse-city")
    nav(bureau, "审核认证")
    row = bureau.locator(f'[data-batch="{batch.number}"]')
    expect(row).to_contain_text("开封大学")
    expect(row).to_contain_text("2 / 2")  # pending / all
    shot(bureau, "endorse", "queue")
    row.get_by_role("link", name=batch.number).click()
    expect(bureau.locator('tr[data-status="pending"]')).to_have_count(2)
    bureau.get_by_role("button", name="认证全部 2 条待审核明细").click()
    expect(bureau.locator('tr[data-status="endorsed"]')).to_have_count(2)
    expect(bureau.locator('tr[data-status="pending"]')).to_have_count(0)
    shot(bureau, "endorse", "endorsed")
    bureau.get_by_role("link", name="返回审核队列").click()
    expect(bureau.get_by_text("没有待审核的批次。")).to_be_visible()

    trainee.reload()
    expect(trainee.locator("[data-hours] dd")).to_have_text(["8", "0"])
    expect(trainee.locator("[data-bar-figures]")).to_have_text(["8 / 90 学时", "8 / 26 学时", "8 / 18 学时"])
    entry = trainee.locator("li[data-entry]")
    expect(entry).to_have_count(1)
    for fact in ("GX16-F01", "开封大学", "审核认证", "2016-07-22"):
        expect(entry).to_contain_text(fact)
    expect(trainee.locator(".entries-total")).to_have_text("本年度官方学时合计 8 学时")
    shot(trainee, "endorse", "trainee-after")
    assert_clean(trainee)
    assert_clean(bureau)


# --- 5. a county bureau opens its report and exports it ---------------------------------------------------------


def test_a_county_bureau_opens_its_report_and_exports_xlsx(open_page, seeded):
    own, _other = seeded
    f.UserFactory(username="county", role=Role.COUNTY_BUREAU, region=own, is_staff=False)
    page = open_page()

    login(page, "county", journey="county-report")
    nav(page, "统计报表")
    expect(page).to_have_url(re.compile(r"/reports/county/$"))
    page.get_by_label("年度").select_option("2016")
    page.get_by_role("button", name="查看").click()
    expect(page).to_have_url(re.compile(r"year=2016"))
    expect(page.locator(".page-title")).to_contain_text(f"{own.name} · 2016 年度")
    people = int(text_of(page.locator("dd[data-people]")))
    compliant = int(text_of(page.locator("dd[data-compliant]")))
    assert people > 0 and 0 <= compliant <= people
    shown = [[text_of(cell) for cell in row.locator("td").all()[:3]] for row in page.locator("tr[data-unit-row]").all()]
    assert shown
    shot(page, "county-report", "report")

    name, data = download(page, page.locator('[data-export="units.xlsx"]'))
    assert name == f"county-{own.code}-2016-units.xlsx" and data[:2] == b"PK"  # a zip: a real workbook
    rows = xlsx_rows(data)
    assert rows[0][0] == "单位"
    exported = {r[0]: [str(r[1]), str(r[2])] for r in rows[1:]}
    for unit_name, n, ok in shown:  # the page's rows are in the workbook with the same figures
        assert exported[unit_name] == [n, ok]
    assert set(exported) <= set(Unit.objects.filter(region=own).values_list("name", flat=True))
    assert sum(int(n) for n, _ok in exported.values()) == people  # every evaluated person, all pages
    assert sum(int(ok) for _n, ok in exported.values()) == compliant

    # The non-compliant people: the same ID numbers as the page's table (a bureau sees them in full).
    on_page = {text_of(row.locator("td").nth(1)) for row in page.locator("tr[data-person-row]").all()}
    name, data = download(page, page.locator('[data-export="people.xlsx"]'))
    assert name == f"county-{own.code}-2016-people.xlsx"
    rows = xlsx_rows(data)
    assert on_page and on_page <= {r[1] for r in rows[1:]} and len(rows) - 1 == people - compliant
    assert_clean(page)


# --- 6. anyone verifies a certificate from its QR address on a phone --------------------------------------------


def test_anyone_verifies_a_certificate_from_its_qr_address_on_a_phone(open_page, endorsed):
    item = SubmissionItem.objects.get(person=endorsed, hours=8)
    # The address the QR code of the booklet and of the PDF carries: the page and its signed token.
    address = verification.verify_path(verification.certificate_by_serial(item.certificate_no))
    page = open_page(**PHONE)

    page.goto(address)
    expect(page).to_have_url(re.compile(rf"/verify/{item.certificate_no}/\?t="))  # no detour through the login
    expect(page.locator(".whoami")).to_have_count(0)
    verdict = page.locator('[data-status="valid"]')
    expect(verdict).to_be_visible()
    expect(verdict).to_contain_text("有效")
    expect(verdict).to_be_in_viewport(ratio=1)  # wholly on the first screen: readable without scrolling
    expect(page.locator('[data-signature="valid"]')).to_be_visible()
    expect(page.locator("[data-name]")).to_have_text("周**")
    expect(page.locator("[data-hours]")).to_have_text("8")
    expect(page.locator("[data-serial]")).to_have_text(item.certificate_no)
    assert endorsed.id_number not in page.content()
    widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
    assert max(widths[:2]) <= widths[2] == PHONE["viewport"]["width"], widths  # no horizontal scroll
    shot(page, "verify", "phone")
    assert_clean(page)
