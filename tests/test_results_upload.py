"""Exam results upload by a base (W2): check first (nothing written), confirm all or nothing, the same file twice
changes nothing, every bad file or row refused with its row and reason, large files through the worker."""
import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.accounts.models import Role
from apps.bases.models import TrainingBase
from apps.catalog.models import Course
from apps.core.demo import resident_id_for_index
from apps.enrollment import services, uploads
from apps.enrollment.models import ExamResult, Registration, ResultUpload, Submission, SubmissionItem
from apps.orgs.models import Region
from apps.personnel.models import Person

from . import factories as f

BEFORE = datetime.date(2016, 6, 1)
HEADER = ["身份证号", "姓名", "课程代码", "班次", "成绩", "是否合格", "完成日期"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def kf(kaifeng):
    return {"kfdx": TrainingBase.objects.get(code="kf-kfdx"), "jsxx": TrainingBase.objects.get(code="kf-jsxx"),
            "city": Region.objects.get(code="410200"), "F01": Course.objects.get(year=2016, code="GX16-F01")}


def _person(region, name=None):
    p = f.PersonFactory(unit=f.UnitFactory(region=region), **({"name": name} if name else {}))
    f.TitleHoldingFactory(person=p, level="intermediate", obtained_on=datetime.date(2010, 1, 1))
    return p


@pytest.fixture
def world(kf):
    """A class at 开封大学 with three registered people, and a class at another base with one."""
    cls = services.class_create(base=kf["kfdx"], course=kf["F01"], code="KD-01", starts_on=datetime.date(2016, 7, 20),
                                ends_on=datetime.date(2016, 7, 22), capacity=30)
    other = services.class_create(base=kf["jsxx"], course=kf["F01"], code="JS-01",
                                  starts_on=datetime.date(2016, 7, 20), ends_on=datetime.date(2016, 7, 22),
                                  capacity=30)
    people = [_person(kf["city"], name) for name in ("王一", "王二", "王三")]
    outsider = _person(kf["city"], "赵四")
    services.registrations_add(training_class_id=cls.pk, person_ids=[p.pk for p in people], today=BEFORE)
    services.registrations_add(training_class_id=other.pk, person_ids=[outsider.pk], today=BEFORE)
    staff = f.UserFactory(username="kfdx", role=Role.BASE_STAFF, base=kf["kfdx"], is_staff=False)
    other_staff = f.UserFactory(username="jsxx", role=Role.BASE_STAFF, base=kf["jsxx"], is_staff=False)
    return {"base": kf["kfdx"], "cls": cls, "other": other, "people": people, "outsider": outsider,
            "staff": staff, "other_staff": other_staff}


def row(p, score="85", passed="合格", day="2016-07-22", cls="KD-01", course="GX16-F01", name=None):
    return [p.id_number, name or p.name, course, cls, score, passed, day]


def csv_file(rows, header=HEADER, name="results.csv"):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8-sig"), content_type="text/csv")


def xlsx_file(rows, header=HEADER, name="results.xlsx"):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile(name, out.getvalue())


def check(world, file):
    return uploads.upload_check(base=world["base"], file=file, user=world["staff"])


def good_rows(world):
    a, b, c = world["people"]
    return [row(a, "85"), row(b, "59", "不合格", ""), row(c, "", "是", "2016-07-21")]


# --- the happy path -------------------------------------------------------------------------------------------


@pytest.fixture(params=["by-class", "by-id-number"])
def lookup(request, monkeypatch):
    """Registrations are read by class (few seats) or by ID number in chunks (big classes); both must agree."""
    if request.param == "by-id-number":
        from apps.enrollment import resources

        monkeypatch.setattr(resources, "read_by_class", lambda seats, rows: False)
    return request.param


def test_a_good_file_is_checked_without_writing_anything(world, lookup):
    upload = check(world, xlsx_file(good_rows(world)))
    assert upload.status == ResultUpload.Status.CHECKED
    assert upload.report["counts"] == {"new": 3, "updated": 0, "unchanged": 0, "error": 0}
    assert [r["outcome"] for r in upload.report["rows"]] == ["new", "new", "new"]
    assert upload.report["rows"][0]["id_number"].count("*") == 8  # masked for base staff
    assert (upload.total_rows, upload.new_rows, upload.error_rows) == (3, 3, 0)
    assert len(upload.sha256) == 64 and upload.file.name
    assert not ExamResult.objects.exists()


def test_confirming_writes_the_results_once(world):
    upload = check(world, csv_file(good_rows(world)))
    done = uploads.upload_confirm(upload_id=upload.pk, user=world["staff"])
    assert done.status == ResultUpload.Status.DONE and done.confirmed_at
    results = {r.registration.person.name: r for r in ExamResult.objects.select_related("registration__person")}
    assert results["王一"].score == Decimal("85.0") and results["王一"].passed
    assert results["王二"].passed is False and results["王二"].completed_on is None
    assert results["王三"].score is None and results["王三"].completed_on == datetime.date(2016, 7, 21)
    assert {(r.upload_id, r.upload_row, r.recorded_by_id) for r in results.values()} == {
        (upload.pk, 2, world["staff"].pk), (upload.pk, 3, world["staff"].pk), (upload.pk, 4, world["staff"].pk)}
    again = uploads.upload_confirm(upload_id=upload.pk, user=world["staff"])  # idempotent
    assert again.status == ResultUpload.Status.DONE and ExamResult.objects.count() == 3
    assert again.confirmed_at == done.confirmed_at


def test_the_same_file_again_is_all_unchanged(world):
    first = check(world, csv_file(good_rows(world)))
    uploads.upload_confirm(upload_id=first.pk, user=world["staff"])
    second = check(world, xlsx_file(good_rows(world)))
    assert second.report["counts"] == {"new": 0, "updated": 0, "unchanged": 3, "error": 0}
    uploads.upload_confirm(upload_id=second.pk, user=world["staff"])
    assert set(ExamResult.objects.values_list("upload_id", flat=True)) == {first.pk}  # nothing rewritten


def test_an_overlapping_file_with_one_changed_score_updates_one(world, lookup):
    a, b, c = world["people"]
    first = check(world, csv_file([row(a, "85"), row(b, "70")]))
    uploads.upload_confirm(upload_id=first.pk, user=world["staff"])
    second = check(world, csv_file([row(a, "85"), row(b, "75"), row(c, "90")]))
    assert second.report["counts"] == {"new": 1, "updated": 1, "unchanged": 1, "error": 0}
    assert [r["outcome"] for r in second.report["rows"]] == ["unchanged", "updated", "new"]
    assert ExamResult.objects.get(registration__person=b).score == Decimal("70.0")  # not before confirming
    uploads.upload_confirm(upload_id=second.pk, user=world["staff"])
    changed = ExamResult.objects.get(registration__person=b)
    assert (changed.score, changed.upload_id, changed.upload_row) == (Decimal("75.0"), second.pk, 3)
    assert ExamResult.objects.count() == 3


# --- whole-file refusals: nothing stored ------------------------------------------------------------------------


def _wrong_header(world):
    return csv_file([row(world["people"][0])], header=["身份证号", "姓名", "课程", "班次", "成绩", "是否合格", "完成日期"])


def _renamed(world):
    return SimpleUploadedFile("results.xlsx", b"%PDF-1.4 this is a pdf renamed to xlsx\n" * 10)


def _too_big(world):
    return SimpleUploadedFile("results.csv", b"x" * (20 * 1024 * 1024 + 1))


@pytest.mark.parametrize("make, reason", [
    (_wrong_header, "缺少必需的列：课程代码"),
    (lambda w: SimpleUploadedFile("results.xlsx", b""), "文件是空的"),
    (lambda w: csv_file([]), "没有数据行"),
    (_renamed, "不是有效的 Excel 工作簿"),
    (_too_big, "超过 20 MB"),
    (lambda w: SimpleUploadedFile("results.xls", b"\xd0\xcf\x11\xe0"), "不支持的文件类型"),
], ids=["wrong-header", "empty", "header-only", "renamed", "over-20MB", "xls"])
def test_an_unreadable_file_is_refused_with_a_reason_and_nothing_stored(world, make, reason):
    with pytest.raises(uploads.UploadRefused) as exc:
        check(world, make(world))
    assert reason in str(exc.value)
    assert not ResultUpload.objects.exists() and not ExamResult.objects.exists()


def test_a_formula_cell_is_refused_with_its_row_and_column(world):
    a, b, _c = world["people"]
    upload = check(world, xlsx_file([row(a), row(b, score="=80+5")]))
    assert upload.status == ResultUpload.Status.REJECTED
    assert upload.report["errors"] == [[3, "成绩", "单元格含公式，请粘贴为数值"]]
    with pytest.raises(Exception):
        uploads.upload_confirm(upload_id=upload.pk, user=world["staff"])
    assert not ExamResult.objects.exists()


# --- row refusals: named by row, column and reason; nothing written -------------------------------------------


def _errors(upload):
    return {(r, c): m for r, c, m in upload.report["errors"]}


@pytest.mark.parametrize("case", ["not-registered", "other-base-class", "pass-without-date", "duplicate",
                                  "wrong-course", "bad-score", "wrong-name", "future-date", "other-year"])
def test_a_bad_row_is_refused_with_row_and_reason(world, case, lookup):
    a, b, c = world["people"]
    outsider = world["outsider"]
    bad, column, reason = {
        "not-registered": (row(outsider), "身份证号", "未报名班次 KD-01"),
        "other-base-class": (row(outsider, cls="JS-01"), "班次", "不是本基地的班次"),
        "pass-without-date": (row(b, passed="合格", day=""), "完成日期", "合格的成绩须填写完成日期"),
        "duplicate": (row(a, score="90"), "—", "与第 2 行重复"),
        "wrong-course": (row(b, course="GX16-F02"), "课程代码", "课程代码是 GX16-F01"),
        "bad-score": (row(b, score="101"), "成绩", "0–100"),
        "wrong-name": (row(b, name="王五"), "姓名", "不符"),
        "future-date": (row(b, day="2099-01-01"), "完成日期", "晚于今天"),
        "other-year": (row(b, day="2017-01-05"), "完成日期", "2016 年度"),
    }[case]
    upload = check(world, csv_file([row(a), bad, row(c)]))
    assert upload.status == ResultUpload.Status.REJECTED
    assert reason in _errors(upload)[(3, column)]
    assert upload.report["counts"]["error"] == 1 and upload.error_rows == 1
    assert upload.report["rows"][1]["outcome"] == "error"
    with pytest.raises(Exception):
        uploads.upload_confirm(upload_id=upload.pk, user=world["staff"])
    assert not ExamResult.objects.exists()


def test_a_submitted_result_cannot_be_changed_but_may_be_repeated(world):
    a, _b, _c = world["people"]
    first = check(world, csv_file([row(a, "85")]))
    uploads.upload_confirm(upload_id=first.pk, user=world["staff"])
    result = ExamResult.objects.get()
    submission = Submission.objects.create(base=world["base"], number="S-1")
    SubmissionItem.objects.create(submission=submission, person=a, course=world["cls"].course, result=result,
                                  hours=6, completed_on=result.completed_on, organiser="city",
                                  learning_record_no="L-1", certificate_no="C-1")
    assert check(world, csv_file([row(a, "85")])).report["counts"]["unchanged"] == 1
    changed = check(world, csv_file([row(a, "95")]))
    assert "已上报" in _errors(changed)[(2, "—")]


def test_the_error_workbook_lists_rows_and_neutralises_formulas(world):
    a, b, _c = world["people"]
    upload = check(world, csv_file([row(a), row(b, name="=SUM(1)"), row(world["outsider"], score="-5")]))
    filename, content_type, content = uploads.errors_xlsx(upload)
    assert filename.endswith(".xlsx") and "spreadsheetml" in content_type
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0][:3] == ("行号", "列", "原因")
    by_row = {}
    for line in lines[1:]:
        by_row.setdefault(line[0], []).append(line)
    assert set(by_row) == {3, 4}
    assert by_row[3][0][1] == "姓名" and by_row[3][0][3 + 1] == "'=SUM(1)"
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
    assert "'-5" in by_row[4][0] and "*" in by_row[4][0][3]  # negative number neutralised; ID masked


def test_columns_in_another_order_are_read_by_their_headers(world):
    a, b, _c = world["people"]
    order = [6, 5, 4, 3, 2, 1, 0]
    upload = check(world, csv_file([[r[k] for k in order] for r in (row(a), row(b, name="=SUM(1)"))],
                                   header=[HEADER[k] for k in order]))
    assert upload.report["counts"]["new"] == 1 and upload.report["errors"][0][:2] == [3, "姓名"]
    lines = list(openpyxl.load_workbook(io.BytesIO(uploads.errors_xlsx(upload)[2])).active.iter_rows(values_only=True))
    assert lines[1][3 + 1] == "'=SUM(1)" and lines[1][3 + 2] == "GX16-F01"  # written in the template's order


# --- pages ------------------------------------------------------------------------------------------------------


def test_base_staff_upload_check_and_confirm_through_the_pages(client, world):
    client.force_login(world["staff"])
    assert client.get(reverse("enrollment:result_uploads")).status_code == 200
    response = client.post(reverse("enrollment:result_upload_new"), {"file": csv_file(good_rows(world))})
    upload = ResultUpload.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("enrollment:result_upload",
                                                                           args=[upload.pk])
    page = client.get(response["Location"]).content.decode()
    assert 'data-count="new"><dt>新增</dt><dd>3' in page and "data-confirm" in page
    assert not ExamResult.objects.exists()
    client.post(reverse("enrollment:result_upload_confirm", args=[upload.pk]))
    assert ExamResult.objects.count() == 3
    assert client.get(reverse("enrollment:result_upload_progress", args=[upload.pk])).json()["finished"] is True


def test_a_bad_file_shows_the_reason_on_the_form(client, world):
    client.force_login(world["staff"])
    response = client.post(reverse("enrollment:result_upload_new"), {"file": _wrong_header(world)})
    assert response.status_code == 400 and "缺少必需的列" in response.content.decode()
    assert not ResultUpload.objects.exists()


def test_a_rejected_upload_has_no_confirm_button_and_offers_the_error_workbook(client, world):
    client.force_login(world["staff"])
    upload = check(world, csv_file([row(world["outsider"])]))
    page = client.get(reverse("enrollment:result_upload", args=[upload.pk])).content.decode()
    assert "data-confirm" not in page and 'data-error-row="2"' in page
    response = client.get(reverse("enrollment:result_upload_errors", args=[upload.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    client.post(reverse("enrollment:result_upload_confirm", args=[upload.pk]))
    assert not ExamResult.objects.exists()


@pytest.mark.parametrize("name", ["result_upload", "result_upload_progress", "result_upload_errors",
                                  "result_upload_confirm"])
def test_another_bases_staff_get_404(client, world, name):
    upload = check(world, csv_file(good_rows(world)))
    client.force_login(world["other_staff"])
    url = reverse(f"enrollment:{name}", args=[upload.pk])
    response = client.post(url) if name == "result_upload_confirm" else client.get(url)
    assert response.status_code == 404
    assert not ExamResult.objects.exists()


@pytest.mark.parametrize("role", [Role.CITY_BUREAU, Role.UNIT_ADMIN, Role.TRAINEE, Role.SYSTEM_ADMIN])
def test_other_roles_get_403(client, world, role):
    org = {Role.CITY_BUREAU: {"region": world["cls"].organised_by}, Role.UNIT_ADMIN: {"unit": world["people"][0].unit},
           Role.TRAINEE: {"person": world["people"][0]}, Role.SYSTEM_ADMIN: {}}[role]
    client.force_login(f.UserFactory(role=role, is_superuser=role == Role.SYSTEM_ADMIN, **org))
    assert client.get(reverse("enrollment:result_uploads")).status_code == 403
    assert client.get(reverse("enrollment:result_upload_new")).status_code == 403


# --- large files: the worker path ------------------------------------------------------------------------------


def test_a_large_file_is_checked_and_imported_by_the_task(world, django_capture_on_commit_callbacks):
    cls = world["cls"]
    cls.capacity = 5000
    cls.save(update_fields=["capacity"])
    unit = world["people"][0].unit
    people = [Person(id_number=resident_id_for_index(9_000_000 + i), name=f"李{i}", unit=unit) for i in range(2100)]
    for p in people:
        p.derive_from_id_number()
    people = Person.objects.bulk_create(people)
    Registration.objects.bulk_create([Registration(training_class=cls, person=p, unit=unit) for p in people])
    rows = [[p.id_number, p.name, "GX16-F01", "KD-01", 60 + i % 40, "合格", datetime.date(2016, 7, 22)]
            for i, p in enumerate(people)]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        upload = check(world, xlsx_file(rows))
        assert upload.status == ResultUpload.Status.CHECKING  # handed to the worker
    assert len(callbacks) == 1
    upload.refresh_from_db()
    assert upload.status == ResultUpload.Status.CHECKED, upload.report
    assert (upload.total_rows, upload.processed_rows, upload.new_rows) == (2100, 2100, 2100)
    assert len(upload.report["rows"]) == 200
    assert not ExamResult.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert uploads.upload_confirm(upload_id=upload.pk, user=world["staff"]).status == "importing"
    upload.refresh_from_db()
    assert upload.status == ResultUpload.Status.DONE
    assert ExamResult.objects.filter(upload=upload).count() == 2100
    assert uploads.upload_progress(upload) | {} == {**uploads.upload_progress(upload), "processed": 2100,
                                                    "percent": 100, "finished": True}


def test_the_fast_workbook_reader_reads_what_openpyxl_reads():
    from apps.core.importing import SheetXLSX

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "成绩"
    sheet.append(HEADER)
    sheet.append(["11010519491231002X", "王&<小>明", "GX16-F01", "KD-01", 85.5, "合格", datetime.date(2016, 7, 22)])
    sheet.append([412723199010050012, "李", "GX16-F01", "KD-01", 60, True, datetime.datetime(2016, 7, 22, 9, 30)])
    sheet.append([])  # a blank row between data rows keeps its number
    sheet.append(["440524188001010014", None, None, "KD-01", None, "否", "2016/07/22"])
    sheet.cell(row=7, column=3, value=" 孤立 ")
    book.create_sheet("其他").append(["not", "this", "sheet"])
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    expected = SheetXLSX().create_dataset(data)
    headers, rows = uploads._fast_xlsx_rows(data)
    got = uploads._sheet_dataset(headers, rows)
    assert got.headers == expected.headers and list(got) == list(expected) and len(got) == 6


def test_an_upload_in_progress_shows_a_polling_progress_bar(client, world):
    from django.core.cache import cache

    upload = ResultUpload.objects.create(base=world["base"], file_name="big.xlsx", sha256="0" * 64,
                                         status=ResultUpload.Status.CHECKING, total_rows=4000, created_by=world["staff"])
    cache.set(f"enrollment:result-upload:{upload.pk}:processed", 1000)
    client.force_login(world["staff"])
    page = client.get(reverse("enrollment:result_upload", args=[upload.pk])).content.decode()
    assert "data-progress-url" in page and "js/progress.js" in page and "data-confirm" not in page
    progress = client.get(reverse("enrollment:result_upload_progress", args=[upload.pk])).json()
    assert (progress["processed"], progress["total"], progress["percent"], progress["finished"]) == (1000, 4000, 25,
                                                                                                   False)
