"""Property tests of what reads untrusted input: ID numbers (GB 11643), credit codes (GB 32100) and uploaded files.

- A number built by the standard is accepted and comes back as it went in; any single-character change of it is
  refused (both check characters catch every single substitution); any text at all is either a valid number or
  the parser's own ValidationError, never another exception.
- An upload (the exam-results upload, the people / units / hours imports) of arbitrary bytes, a truncated or
  damaged workbook, or random cells under the right headers ends in a refusal naming what is wrong — never an
  unhandled exception — and writes none of its rows.

Bounded and reproducible for CI: derandomized, small max_examples, no deadline (the database is slow sometimes).
"""
import csv
import datetime
import io
import os
import zipfile

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from apps.core.identifiers import (
    CREDIT_CHARS,
    PROVINCE_CODES,
    credit_check_char,
    id_check_char,
    mask_id_number,
    parse_credit_code,
    parse_resident_id,
    validate_credit_code,
    validate_resident_id,
)

SCALE = int(os.environ.get("FUZZ_SCALE", "1"))  # FUZZ_SCALE=20 for a deeper run by hand


def fuzz(examples: int):
    return settings(max_examples=examples * SCALE, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


TODAY = datetime.date(2026, 1, 1)  # birth dates are "not in the future" relative to the day the test runs

# --- resident ID numbers (GB 11643-1999) --------------------------------------------------------------------


@st.composite
def resident_ids(draw):
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    area = province + "%02d" % draw(st.integers(1, 99)) + "%02d" % draw(st.integers(1, 99))
    birth = draw(st.dates(datetime.date(1800, 1, 1), TODAY))
    first17 = area + birth.strftime("%Y%m%d") + "%03d" % draw(st.integers(0, 999))
    return first17 + id_check_char(first17), area, birth


@given(resident_ids())
@fuzz(200)
def test_a_valid_id_number_is_accepted_and_round_trips(generated):
    number, area, birth = generated
    parsed = parse_resident_id(number)
    assert (parsed.number, parsed.area_code, parsed.birth_date) == (number, area, birth)
    assert parsed.gender == ("M" if int(number[16]) % 2 else "F")
    validate_resident_id(number)  # the stored form is the normal form
    # What a clerk types: lower-case x, spaces around it — the same number.
    assert parse_resident_id(f"  {number.lower()}\u3000 ".strip(" ")).number == number
    assert parse_resident_id(parsed.number).number == number
    assert mask_id_number(number) == number[:6] + "********" + number[-4:]


def _changed(value: str, position: int, char: str) -> str:
    return value[:position] + char + value[position + 1:]


@given(resident_ids(), st.integers(0, 17), st.one_of(st.sampled_from("0123456789Xx"), st.characters()))
@fuzz(300)
def test_any_single_character_change_of_an_id_number_is_refused(generated, position, char):
    number = generated[0]
    assume(char.upper() != number[position])
    with pytest.raises(ValidationError):
        parse_resident_id(_changed(number, position, char))


ID_LIKE = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from("0123456789Xx \u3000"), min_size=16, max_size=20),
    # Unicode digits: str.isdigit() says yes to full-width, Arabic-Indic and superscript digits.
    st.text(alphabet=st.sampled_from("0123456789X１２０٣۴²³⁰০"), min_size=18, max_size=18),
    resident_ids().flatmap(lambda g: st.tuples(st.just(g[0]), st.integers(0, 17), st.characters()).map(
        lambda t: _changed(*t))),
)


@given(ID_LIKE)
@fuzz(400)
def test_any_text_is_an_id_number_or_a_validation_error(text):
    try:
        parsed = parse_resident_id(text)
    except ValidationError as exc:
        assert all(exc.messages)  # a message a clerk can read, with its parameters filled in
        return
    # Whatever is accepted is the plain ASCII normal form, and the same number again.
    assert len(parsed.number) == 18 and parsed.number.isascii()
    validate_resident_id(parsed.number)
    assert parse_resident_id(parsed.number) == parsed


# --- unified social credit codes (GB 32100-2015) ------------------------------------------------------------


@st.composite
def credit_codes(draw):
    first17 = "".join(draw(st.lists(st.sampled_from(CREDIT_CHARS), min_size=17, max_size=17)))
    return first17 + credit_check_char(first17)


@given(credit_codes())
@fuzz(200)
def test_a_valid_credit_code_is_accepted_and_round_trips(code):
    assert parse_credit_code(code) == code
    validate_credit_code(code)
    assert parse_credit_code(f" {code.lower()} ") == code


@given(credit_codes(), st.integers(0, 17), st.one_of(st.sampled_from(CREDIT_CHARS + "IOZSVioz"), st.characters()))
@fuzz(300)
def test_any_single_character_change_of_a_credit_code_is_refused(code, position, char):
    assume(char.upper() != code[position])
    with pytest.raises(ValidationError):
        parse_credit_code(_changed(code, position, char))


CODE_LIKE = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from(CREDIT_CHARS + "IOZSVabcxyzıſ１Ａ \u3000"), min_size=16, max_size=20),
    credit_codes().flatmap(lambda c: st.tuples(st.just(c), st.integers(0, 17), st.characters()).map(
        lambda t: _changed(*t))),
)


@given(CODE_LIKE)
@fuzz(400)
def test_any_text_is_a_credit_code_or_a_validation_error(text):
    try:
        code = parse_credit_code(text)
    except ValidationError as exc:
        assert all(exc.messages)
        return
    assert len(code) == 18 and all(c in CREDIT_CHARS for c in code)
    validate_credit_code(code)
    assert parse_credit_code(code) == code


# --- uploaded files ---------------------------------------------------------------------------------------------

CELL_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=30)
CELL = st.one_of(
    st.none(), CELL_TEXT, st.integers(-10**20, 10**20), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), st.dates(datetime.date(1900, 1, 1), datetime.date(2100, 1, 1)),
    st.datetimes(datetime.datetime(1900, 1, 1), datetime.datetime(2100, 1, 1)),
)


def xlsx_bytes(header, rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(["" if c is None else c for c in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def _cut(data: bytes, at: int) -> bytes:
    return data[:at * len(data) // 10**6]


def _overwrite(data: bytes, at: int, junk: bytes) -> bytes:
    at = at * len(data) // 10**6
    return data[:at] + junk + data[at + len(junk):]


def damaged(files):
    """A file cut short, or with a run of bytes overwritten: what a broken download or disk leaves. Positions are
    drawn as fractions of the length: a workbook's size varies with the second it is saved (zip timestamps), and
    Hypothesis needs the same draws to mean the same thing on a replay."""
    at = st.integers(0, 10**6 - 1)
    return st.one_of(
        st.tuples(files, at).map(lambda t: _cut(*t)),
        st.tuples(files, at, st.binary(min_size=1, max_size=16)).map(lambda t: _overwrite(*t)),
    )


def files(header, pools):
    """(file name, bytes): arbitrary bytes, random cells under the right header (cells drawn from real values and
    junk), as .xlsx or .csv, intact or damaged, with the header itself sometimes cut short or misspelt."""
    cell = st.one_of(CELL, *(st.sampled_from(p) for p in pools if p))
    heading = st.one_of(st.just(list(header)), st.lists(st.one_of(st.sampled_from(list(header)), CELL_TEXT),
                                                        max_size=len(header) + 2))
    rows = st.lists(st.lists(cell, max_size=len(header) + 1), max_size=6)
    sheet = st.tuples(heading, rows)
    xlsx = sheet.map(lambda s: xlsx_bytes(*s))
    return st.one_of(
        st.tuples(st.sampled_from(["x.xlsx", "x.csv"]), st.binary(max_size=300)),
        st.tuples(st.just("x.xlsx"), xlsx),
        st.tuples(st.just("x.xlsx"), damaged(xlsx)),
        st.tuples(st.just("x.csv"), sheet.map(lambda s: csv_bytes(*s))),
        st.tuples(st.just("x.xlsx"), st.binary(max_size=200).map(_zip_with_workbook_xml)),
    )


def _zip_with_workbook_xml(junk: bytes) -> bytes:
    """A zip that passes the 'is it a workbook' sniff but is not one."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("xl/workbook.xml", junk)
        zf.writestr("[Content_Types].xml", junk[::-1])
    return out.getvalue()


def _counts(*models) -> tuple[int, ...]:
    return tuple(m.objects.count() for m in models)


# The exam-results upload (base staff, the pages) ----------------------------------------------------------------


@pytest.fixture
def results_world(kaifeng, settings, tmp_path):
    from apps.accounts.models import Role
    from apps.bases.models import TrainingBase
    from apps.catalog.models import Course
    from apps.enrollment import services
    from apps.orgs.models import Region

    from . import factories as f

    settings.MEDIA_ROOT = tmp_path
    base = TrainingBase.objects.get(code="kf-kfdx")
    course = Course.objects.get(year=2016, code="GX16-F01")
    cls = services.class_create(base=base, course=course, code="KD-01", starts_on=datetime.date(2016, 7, 20),
                                ends_on=datetime.date(2016, 7, 22), capacity=30)
    people = [f.PersonFactory(unit=f.UnitFactory(region=Region.objects.get(code="410200"))) for _ in range(2)]
    for p in people:
        f.TitleHoldingFactory(person=p, level="intermediate", obtained_on=datetime.date(2010, 1, 1))
    services.registrations_add(training_class_id=cls.pk, person_ids=[p.pk for p in people],
                               today=datetime.date(2016, 6, 1))
    staff = f.UserFactory(role=Role.BASE_STAFF, base=base, is_staff=False)
    pools = [[p.id_number for p in people], [p.name for p in people], ["GX16-F01"], ["KD-01"],
             ["85", "59.5", "100", "-1", "abc"], ["是", "否", "合格", "不合格"], ["2016-07-22", "2016/7/21"]]
    return {"base": base, "staff": staff, "pools": pools}


RESULT_HEADER = ["身份证号", "姓名", "课程代码", "班次", "成绩", "是否合格", "完成日期"]


@given(data=st.data())
@fuzz(100)
def test_a_bad_results_upload_is_refused_with_reasons_and_writes_no_result(results_world, data):
    from apps.enrollment import uploads
    from apps.enrollment.models import ExamResult, ResultUpload

    name, content = data.draw(files(RESULT_HEADER, results_world["pools"]), label="file")
    before = _counts(ExamResult, ResultUpload)
    try:
        upload = uploads.upload_check(base=results_world["base"], file=SimpleUploadedFile(name, content),
                                      user=results_world["staff"])
    except uploads.UploadRefused as exc:
        event("refused before storing")
        assert str(exc.message).strip()
        assert _counts(ExamResult, ResultUpload) == before  # refused before anything was stored
        return
    if upload.status == ResultUpload.Status.CHECKING:  # a size the probe could not tell: what the worker runs
        upload = uploads.upload_run_check(upload_id=upload.pk)
    event(f"stored and {upload.status}")
    # FAILED would be an exception the check swallowed: a bad file must be a REJECTED one, with its reasons.
    assert upload.status in (ResultUpload.Status.REJECTED, ResultUpload.Status.CHECKED), upload.status
    report = upload.report
    if upload.status == ResultUpload.Status.REJECTED:
        assert report["file_errors"] or report["errors"]
        assert all(str(m).strip() for m in report["file_errors"])
        for row, column, message in report["errors"]:
            assert isinstance(row, int) and row >= 2, row  # a spreadsheet row (the header is row 1)
            assert column in RESULT_HEADER or column == "—", column
            assert str(message).strip()
        uploads.errors_xlsx(upload)  # the error workbook the page offers can be built
    assert ExamResult.objects.count() == before[0]  # the check is a dry run


# The command-line / admin imports: people, units, hours -------------------------------------------------------


@pytest.fixture
def import_world(kaifeng):
    from apps.orgs.models import Industry, Region

    from . import factories as f

    unit = f.UnitFactory(region=Region.objects.get(code="410202"), industry=Industry.objects.get(name="卫生"))
    person = f.PersonFactory(unit=unit)
    return {"unit": unit, "person": person}


def _resource(kind):
    from apps.ledger.models import HourEntry
    from apps.ledger.resources import HourEntryResource
    from apps.orgs.models import Unit
    from apps.orgs.resources import UnitResource
    from apps.personnel.models import Person, PromotionApplication, TitleHolding
    from apps.personnel.resources import PersonTitleResource

    return {
        "people": (PersonTitleResource, (Person, TitleHolding, PromotionApplication)),
        "units": (UnitResource, (Unit,)),
        "hours": (HourEntryResource, (HourEntry,)),
    }[kind]


def _pools(kind, world):
    person, unit = world["person"], world["unit"]
    common = [[person.id_number, person.id_number.lower(), "410202198005010011"], [person.name, "王小明"],
              [unit.credit_code, unit.credit_code.lower()], ["2016-05-01", "2016年5月1日", "20160501", "2099-01-01"]]
    return common + {
        "people": [["卫生技术", "教师"], ["中级", "副高级", "正高级", "初级", "高级"], ["2016", "1979"]],
        "units": [["龙亭区", "410202", "杞县", "开封市"], ["卫生", "教育", "health"]],
        "hours": [["公需科目（必修）", "专业科目", "public_required"], ["6", "0.5", "-2", "1e3", "abc"], ["2016"]],
    }[kind]


@pytest.mark.parametrize("kind", ["people", "units", "hours"])
@given(data=st.data())
@fuzz(60)
def test_a_bad_import_file_is_refused_with_reasons_and_writes_nothing(import_world, tmp_path, kind, data):
    from apps.core.importing import ImportRejected, run_import

    resource_class, models = _resource(kind)
    header = resource_class().columns
    name, content = data.draw(files(header, _pools(kind, import_world)), label="file")
    path = tmp_path / name
    path.write_bytes(content)
    before = _counts(*models)
    try:
        report = run_import(resource_class, path)
    except ImportRejected as exc:
        report = exc.report
        event("rows refused" if report.issues else "file refused")
        assert report.file_errors or report.issues
        assert all(str(m).strip() for m in report.file_errors)
        for issue in report.issues:
            assert issue.row >= 2 and (issue.column in header or issue.column == "—"), issue
            assert str(issue.message).strip()
        assert report.error_text()
        assert _counts(*models) == before  # all rows or none
        return
    # Random cells can make a good file (drawn from real values): then it was imported, and says so.
    event("imported")
    assert report.ok and report.rows >= 1
