"""manage.py import_hours: historical hours into the ledger, all or nothing, never twice."""
import datetime
from decimal import Decimal as D

import pytest

from apps.ledger import selectors
from apps.ledger.models import HourEntry, HourImport, PersonYearTotal
from apps.orgs.models import Region

from . import factories as f
from .test_imports import load, refused, write_csv, write_xlsx

HEADERS = ["身份证号", "姓名", "年度", "类别", "学时", "课程代码", "课程名称", "基地", "主办层级", "完成日期"]


@pytest.fixture
def zhao(kaifeng):
    unit = f.UnitFactory(region=Region.objects.get(code="410202"))
    p = f.PersonFactory(unit=unit, name="赵历史")
    f.TitleHoldingFactory(person=p, level="intermediate", obtained_on=datetime.date(2010, 1, 1))
    return p


def good_rows(p):
    return [
        [p.id_number, p.name, 2016, "公需必修", 8, "GX16-F01", "", "kf-xzxy", "", "2016-06-01"],
        [p.id_number, p.name, 2016, "公需必修", "10", "", "2016年全省公需科目网络培训", "", "省", "2016-08-01"],
        [p.id_number, p.name, 2016, "公需选修", "8", "GX16-W11", "", "kf-online", "", "2016-09-01"],
        [p.id_number, p.name, 2016, "专业科目", "64", "", "县卫生系统业务培训", "", "县", "2016-10-01"],
    ]


@pytest.mark.parametrize("writer, suffix", [(write_xlsx, "xlsx"), (write_csv, "csv")])
def test_historical_hours_enter_the_ledger_with_their_provenance(zhao, tmp_path, writer, suffix):
    out = load("import_hours", writer(tmp_path / f"hours.{suffix}", HEADERS, good_rows(zhao)))
    assert "新增 4 行" in out and "计入台账的学时记录 4" in out
    r = selectors.person_compliance(person=zhao, year=2016)
    assert (r.totals.total, r.totals.public, r.totals.public_required) == (90, 26, 18) and r.compliant
    batch = HourImport.objects.get()
    assert (batch.file_name, batch.rows, batch.created_entries) == (f"hours.{suffix}", 4, 4)
    by_row = {e.source_row: e for e in HourEntry.objects.all()}
    assert set(by_row) == {2, 3, 4, 5}
    assert by_row[2].course.code == "GX16-F01" and by_row[2].organiser == "city" and by_row[2].source_object == batch
    assert by_row[3].course is None and by_row[3].course_title == "2016年全省公需科目网络培训"
    assert by_row[3].organiser == "province" and by_row[5].organiser == "county"
    assert all(e.source == "migration" for e in by_row.values())


def test_running_the_same_file_again_adds_nothing(zhao, tmp_path):
    path = write_xlsx(tmp_path / "hours.xlsx", HEADERS, good_rows(zhao))
    load("import_hours", path)
    again = load("import_hours", path)
    assert "新增 0 行" in again and "未变化 4 行" in again
    assert HourEntry.objects.count() == 4
    assert PersonYearTotal.objects.get(person=zhao, year=2016).entries == 4
    # An overlapping file: one old row and one new one adds only the new one.
    more = [good_rows(zhao)[0], [zhao.id_number, zhao.name, 2016, "专业科目", 6, "", "学术会议", "", "市", "2016-11-02"]]
    assert "新增 1 行" in load("import_hours", write_csv(tmp_path / "more.csv", HEADERS, more))
    assert selectors.person_compliance(person=zhao, year=2016).totals.total == 96


def test_every_bad_row_is_reported_and_nothing_is_written(zhao, kaifeng, tmp_path):
    stranger = f.PersonFactory.build().id_number
    p = zhao
    rows = good_rows(p) + [
        [stranger, "无名", 2016, "公需必修", 2, "GX16-F01", "", "", "", "2016-06-01"],          # unknown person
        [p.id_number, "赵错名", 2016, "公需必修", 2, "GX16-F02", "", "", "", "2016-06-01"],      # name mismatch
        [p.id_number, p.name, 2016, "公需必修", 2, "NOPE-1", "", "", "", "2016-06-01"],          # unknown course
        [p.id_number, p.name, 2017, "公需必修", 2, "GX16-F02", "", "", "", "2017-06-01"],        # course of 2016
        [p.id_number, p.name, 2016, "专业科目", 0, "", "培训", "", "", "2016-06-01"],             # hours <= 0
        [p.id_number, p.name, 2016, "专业科目", "-3", "", "培训", "", "", "2016-06-01"],          # negative
        [p.id_number, p.name, 2016, "专业科目", "三", "", "培训", "", "", "2016-06-01"],           # not a number
        [p.id_number, p.name, 2016, "体育", 2, "", "培训", "", "", "2016-06-01"],                # no such category
        [p.id_number[:17] + ("0" if p.id_number[17] != "0" else "1"), p.name, 2016, "专业科目", 2, "", "培训", "",
         "", "2016-06-01"],                                                                     # check digit
        [p.id_number, p.name, 2016, "专业科目", 2, "", "培训", "", "", "2017-01-01"],             # year ≠ date
        [p.id_number, p.name, 2016, "专业科目", 2, "", "", "", "", "2016-06-01"],                 # no course at all
        [p.id_number, p.name, 2016, "专业科目", "1.3", "", "培训", "", "", "2016-06-01"],         # not half-hours
    ]
    message = refused("import_hours", write_xlsx(tmp_path / "bad.xlsx", HEADERS, rows))
    for row, column, fragment in [
        (6, "身份证号", "没有身份证号"), (7, "姓名", "不符"), (8, "课程代码", "不存在"), (9, "课程代码", "属于 2016 年度"),
        (10, "学时", "大于 0"), (11, "学时", "大于 0"), (12, "学时", "不是数字"), (13, "类别", "无效"),
        (14, "身份证号", "校验位"), (15, "年度", "不符"), (16, "课程名称", "须填写课程名称"), (17, "学时", "0.5"),
    ]:
        assert f"第 {row} 行「{column}」" in message and fragment in message.split(f"第 {row} 行「{column}」")[1].split("\n")[0]
    assert "第 2 行" not in message
    assert not HourEntry.objects.exists() and not HourImport.objects.exists()
    assert PersonYearTotal.objects.get(person=p, year=2016).entries == 0


def test_a_missing_header_is_reported(zhao, tmp_path):
    message = refused("import_hours", write_csv(tmp_path / "h.csv", HEADERS[:4], [good_rows(zhao)[0][:4]]))
    assert "缺少必需的列" in message and "学时" in message


def test_only_the_city_bureau_may_import_hours(zhao, tmp_path):
    from apps.accounts.models import Role
    from apps.core.importing import ImportRejected, run_import
    from apps.ledger.resources import HourEntryResource

    county = f.UserFactory(role=Role.COUNTY_BUREAU, region=Region.objects.get(code="410202"))
    with pytest.raises(ImportRejected) as exc:
        run_import(HourEntryResource, write_xlsx(tmp_path / "h.xlsx", HEADERS, good_rows(zhao)), user=county)
    assert "只有市人社局" in exc.value.report.error_text()
    city = f.UserFactory(role=Role.CITY_BUREAU, region=Region.objects.get(code="410200"))
    report = run_import(HourEntryResource, write_xlsx(tmp_path / "h2.xlsx", HEADERS, good_rows(zhao)), user=city)
    assert report.new == 4 and HourEntry.objects.filter(created_by=city).count() == 4
    assert sum(e.hours for e in HourEntry.objects.all()) == D(90)


def test_admin_import_previews_then_confirms_through_the_ledger(client, zhao):
    from apps.accounts.models import Role

    from .test_imports import CSV_FORMAT, csv_upload

    city = f.UserFactory(role=Role.CITY_BUREAU, region=Region.objects.get(code="410200"))
    client.force_login(city)
    preview = client.post("/admin/ledger/hourentry/import/",
                          {"import_file": csv_upload("hours.csv", HEADERS, good_rows(zhao)), "format": CSV_FORMAT,
                           "resource": "0"})
    assert preview.status_code == 200
    assert [r.import_type for r in preview.context["result"].valid_rows()] == ["new"] * 4
    assert not HourEntry.objects.exists()
    done = client.post("/admin/ledger/hourentry/process_import/",
                       {**preview.context["confirm_form"].initial, "confirm": "1"})
    assert done.status_code == 302
    assert HourEntry.objects.count() == 4 and HourImport.objects.get().file_name == "hours.csv"
    assert selectors.person_compliance(person=zhao, year=2016).compliant


def test_county_bureau_has_no_hours_import_in_the_admin(client, zhao):
    from apps.accounts.models import Role

    client.force_login(f.UserFactory(role=Role.COUNTY_BUREAU, region=Region.objects.get(code="410202")))
    assert client.get("/admin/ledger/hourentry/import/").status_code == 403
