"""Bulk loading of units and people from HR files: the commands, the shared resources and the admin."""
import csv
import datetime
import io
import re

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError

from apps.accounts.models import Role
from apps.bases.models import TrainingBase
from apps.core.demo import credit_code_for_index, resident_id
from apps.core.identifiers import id_check_char, mask_id_number
from apps.core.importing import ImportRejected, read_dataset, run_import
from apps.orgs.models import Industry, IndustryDepartment, Region, Unit
from apps.orgs.resources import UnitResource
from apps.personnel.models import Person, PromotionApplication, TitleHolding
from apps.personnel.resources import PersonTitleResource

from . import factories as f

UNIT_HEADERS = ["单位名称", "统一社会信用代码", "所属区县", "行业"]
PEOPLE_HEADERS = ["身份证号", "姓名", "单位统一社会信用代码", "职称系列", "职称级别", "取得日期", "拟晋升级别", "申报年度"]

HOSPITAL = credit_code_for_index(1)  # 龙亭区人民医院, registered by the `units` fixture
SCHOOL = credit_code_for_index(2)  # 开封市第一中学, city-affiliated
QIXIAN = credit_code_for_index(3)  # 杞县人民医院, another county
UNREGISTERED = credit_code_for_index(99)

WANG = resident_id("410202", datetime.date(1980, 5, 1), 11)  # male (odd sequence)
LI = resident_id("410221", datetime.date(1985, 3, 8), 22)  # female
ZHAO = resident_id("410203", datetime.date(1975, 12, 31), 33)


def with_check(first17: str) -> str:
    return first17 + id_check_char(first17)


def write_xlsx(path, headers, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def write_csv(path, headers, rows, *, bom=False):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_bytes(("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8"))
    return path


def load(command, path):
    out = io.StringIO()
    call_command(command, str(path), stdout=out)
    return out.getvalue()


def refused(command, path) -> str:
    with pytest.raises(CommandError) as exc:
        call_command(command, str(path), stdout=io.StringIO())
    assert exc.value.returncode == 1
    return str(exc.value)


def region(code):
    return Region.objects.get(code=code)


@pytest.fixture
def units(kaifeng):
    health = Industry.objects.get(name="卫生")
    education = Industry.objects.get(name="教育")
    return {
        HOSPITAL: f.UnitFactory(name="龙亭区人民医院", credit_code=HOSPITAL, region=region("410202"), industry=health),
        SCHOOL: f.UnitFactory(name="开封市第一中学", credit_code=SCHOOL, region=region("410200"), industry=education),
        QIXIAN: f.UnitFactory(name="杞县人民医院", credit_code=QIXIAN, region=region("410221"), industry=health),
    }


@pytest.fixture
def city_user(kaifeng):
    return f.UserFactory(username="city", role=Role.CITY_BUREAU, region=region("410200"))


@pytest.fixture
def county_user(kaifeng):
    return f.UserFactory(username="longting", role=Role.COUNTY_BUREAU, region=region("410202"))


# --- units ----------------------------------------------------------------------------------------------------


def test_units_load_with_county_by_code_by_name_and_empty_as_city(kaifeng, tmp_path):
    codes = [credit_code_for_index(i) for i in (11, 12, 13)]
    path = write_xlsx(tmp_path / "units.xlsx", UNIT_HEADERS, [
        ["龙亭区第二医院", codes[0], "410202", "卫生"],
        ["杞县第一高中", codes[1], "杞县", "教育"],
        ["开封市建筑设计院", codes[2], "", "工程"],
    ])

    out = load("import_units", path)

    assert "新增 3 行" in out and "更新 0 行" in out
    saved = {u.credit_code: u for u in Unit.objects.select_related("region", "industry")}
    assert (saved[codes[0]].name, saved[codes[0]].region.code, saved[codes[0]].industry.name) == (
        "龙亭区第二医院", "410202", "卫生")
    assert (saved[codes[1]].region.code, saved[codes[1]].industry.name) == ("410221", "教育")
    assert saved[codes[2]].region.code == "410200" and saved[codes[2]].is_city_affiliated


@pytest.mark.parametrize("bom", [True, False], ids=["with-bom", "without-bom"])
def test_units_load_from_utf8_csv(kaifeng, tmp_path, bom):
    code = credit_code_for_index(21)
    path = write_csv(tmp_path / "units.csv", UNIT_HEADERS, [["通许县中医院", code.lower(), "通许县", "卫生"]], bom=bom)

    load("import_units", path)

    unit = Unit.objects.get()
    assert (unit.name, unit.credit_code, unit.region.name) == ("通许县中医院", code, "通许县")


def test_loading_the_same_units_twice_changes_nothing(kaifeng, tmp_path):
    rows = [["单位甲", credit_code_for_index(31), "410203", "会计"], ["单位乙", credit_code_for_index(32), "", "其他"]]
    path = write_xlsx(tmp_path / "units.xlsx", UNIT_HEADERS, rows)
    load("import_units", path)
    before = list(Unit.objects.order_by("pk").values())

    out = load("import_units", path)

    assert "新增 0 行，更新 0 行，未变化 2 行" in out
    assert list(Unit.objects.order_by("pk").values()) == before


def test_a_changed_unit_row_updates_the_unit(units, tmp_path):
    path = write_csv(tmp_path / "units.csv", UNIT_HEADERS, [["龙亭区人民医院", HOSPITAL, "龙亭区", "科学研究"]])

    out = load("import_units", path)

    assert "新增 0 行，更新 1 行" in out
    assert Unit.objects.get(credit_code=HOSPITAL).industry.name == "科学研究"


def test_every_bad_unit_row_is_reported_and_no_unit_is_written(kaifeng, tmp_path):
    good = credit_code_for_index(41)
    path = write_xlsx(tmp_path / "units.xlsx", UNIT_HEADERS, [
        ["好单位", good, "410202", "卫生"],                                 # row 2: fine
        ["校验位错", "91110000600037341N", "410202", "卫生"],               # row 3
        ["区县错", credit_code_for_index(42), "410299", "卫生"],            # row 4
        ["行业错", credit_code_for_index(43), "龙亭区", "医疗"],             # row 5
        ["", credit_code_for_index(44), "", "教育"],                        # row 6
        ["重复", good, "", "教育"],                                          # row 7
    ])

    report = refused("import_units", path)

    assert "第 3 行「统一社会信用代码」：统一社会信用代码校验位错误：应为 L，实际为 N" in report
    assert "第 4 行「所属区县」：“410299”不是开封市的区县" in report
    assert "第 5 行「行业」：行业“医疗”不存在，应为：教育、卫生、工程、农业、经济、会计、文化艺术、新闻出版、科学研究、其他" in report
    assert "第 6 行「单位名称」：不能为空" in report
    assert "第 7 行「统一社会信用代码」：与第 2 行的统一社会信用代码重复" in report
    assert "第 2 行" not in report.split("第 7 行")[0]  # the good row itself is not reported
    assert "共 5 行有错误" in report
    assert Unit.objects.count() == 0


def test_a_missing_header_is_reported_before_any_row(kaifeng, tmp_path):
    path = write_csv(tmp_path / "units.csv", ["单位名称", "统一社会信用代码", "行业"],
                     [["某单位", "bad", "不存在的行业"]])

    report = refused("import_units", path)

    assert "缺少必需的列：所属区县" in report
    assert "第 2 行" not in report  # rows are not looked at without their columns
    assert Unit.objects.count() == 0


def test_unsupported_file_type_is_refused(kaifeng, tmp_path):
    path = tmp_path / "units.xls"
    path.write_bytes(b"not really excel")

    assert "不支持的文件类型“.xls”" in refused("import_units", path)


def test_a_gbk_csv_is_refused_with_advice(kaifeng, tmp_path):
    path = tmp_path / "units.csv"
    path.write_bytes("单位名称,统一社会信用代码,所属区县,行业\n".encode("gbk"))

    assert "不是 UTF-8 编码" in refused("import_units", path)


def test_blank_rows_do_not_shift_row_numbers(kaifeng, tmp_path):
    path = write_xlsx(tmp_path / "units.xlsx", UNIT_HEADERS, [
        ["单位一", credit_code_for_index(51), "", "卫生"],
        [None, None, None, None],
        ["单位三", "12345", "", "卫生"],
    ])

    report = refused("import_units", path)

    assert "第 4 行「统一社会信用代码」：统一社会信用代码应为 18 位，实际为 5 位" in report


# --- people ---------------------------------------------------------------------------------------------------

GOOD_PEOPLE = [
    [WANG, "王小明", HOSPITAL, "卫生技术", "初级", "2004-07-01", "", ""],
    [WANG, "王小明", HOSPITAL, "卫生技术", "中级", "2010-12-20", "副高级", "2016"],
    [LI, "李小红", SCHOOL, "中小学教师", "中级", "2012-09-01", "", ""],
]


def test_people_load_with_title_history_and_promotion(units, tmp_path):
    path = write_xlsx(tmp_path / "people.xlsx", PEOPLE_HEADERS, GOOD_PEOPLE)

    out = load("import_people", path)

    assert "新增 3 行，更新 0 行，未变化 0 行" in out
    assert "新建人员 2" in out and "新增职称记录 3" in out and "新增晋升申报 1" in out
    wang = Person.objects.get(id_number=WANG)
    assert (wang.name, wang.gender, wang.birth_date, wang.unit.credit_code, wang.title_series) == (
        "王小明", "M", datetime.date(1980, 5, 1), HOSPITAL, "卫生技术")
    assert [(t.level, t.obtained_on) for t in wang.titles.order_by("obtained_on")] == [
        ("junior", datetime.date(2004, 7, 1)), ("intermediate", datetime.date(2010, 12, 20))]
    promotion = PromotionApplication.objects.get()
    assert (promotion.person, promotion.year, promotion.from_level, promotion.to_level) == (
        wang, 2016, "intermediate", "senior_deputy")
    li = Person.objects.get(id_number=LI)
    assert (li.gender, li.birth_date, li.unit.credit_code) == ("F", datetime.date(1985, 3, 8), SCHOOL)
    assert list(li.titles.values_list("level", flat=True)) == ["intermediate"]


def test_loading_the_same_people_twice_changes_nothing(units, tmp_path):
    path = write_xlsx(tmp_path / "people.xlsx", PEOPLE_HEADERS, GOOD_PEOPLE)
    load("import_people", path)
    snapshot = (list(Person.objects.order_by("pk").values()), list(TitleHolding.objects.order_by("pk").values()),
                list(PromotionApplication.objects.order_by("pk").values()))

    out = load("import_people", path)

    assert "新增 0 行，更新 0 行，未变化 3 行" in out
    assert (list(Person.objects.order_by("pk").values()), list(TitleHolding.objects.order_by("pk").values()),
            list(PromotionApplication.objects.order_by("pk").values())) == snapshot


def test_a_later_file_adds_to_the_title_history(units, tmp_path):
    load("import_people", write_xlsx(tmp_path / "first.xlsx", PEOPLE_HEADERS, GOOD_PEOPLE))
    later = [[WANG, "王小明", HOSPITAL, "卫生技术", "副高级", "2017-01-15", "", ""]]

    out = load("import_people", write_csv(tmp_path / "later.csv", PEOPLE_HEADERS[:6], [r[:6] for r in later]))

    assert "新增 1 行" in out
    assert list(Person.objects.get(id_number=WANG).titles.values_list("level", flat=True)) == [
        "junior", "intermediate", "senior_deputy"]


def test_a_corrected_file_updates_unit_title_and_promotion(units, tmp_path):
    load("import_people", write_xlsx(tmp_path / "first.xlsx", PEOPLE_HEADERS, GOOD_PEOPLE))
    corrected = [
        [WANG, "王小明", QIXIAN, "卫生技术", "初级", "2004-07-01", "", ""],  # moved to 杞县人民医院
        [WANG, "王小明", QIXIAN, "卫生技术", "中级", "2010-12-20", "正高级", "2016"],  # applied higher after all
        [LI, "李小红", SCHOOL, "中小学教师", "副高级", "2012-09-01", "", ""],  # the level was entered wrongly
    ]

    out = load("import_people", write_xlsx(tmp_path / "corrected.xlsx", PEOPLE_HEADERS, corrected))

    assert "新增 0 行，更新 3 行，未变化 0 行" in out
    assert "更新人员 1" in out and "更正职称记录 1" in out and "更正晋升申报 1" in out
    wang = Person.objects.get(id_number=WANG)
    assert wang.unit.credit_code == QIXIAN and wang.titles.count() == 2
    assert PromotionApplication.objects.get().to_level == "senior_full"
    assert Person.objects.get(id_number=LI).titles.get().level == "senior_deputy"


def test_an_identical_repeated_row_is_reported_unchanged(units, tmp_path):
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADERS, GOOD_PEOPLE + [GOOD_PEOPLE[0]])

    out = load("import_people", path)

    assert "新增 3 行，更新 0 行，未变化 1 行" in out
    assert TitleHolding.objects.count() == 3


def test_a_file_with_only_a_header_is_refused(units, tmp_path):
    path = write_xlsx(tmp_path / "people.xlsx", PEOPLE_HEADERS, [[None] * 8])

    assert "文件中没有数据行" in refused("import_people", path)


def test_people_csv_with_bom_lowercase_x_and_without_promotion_columns(units, tmp_path):
    number = resident_id("410204", datetime.date(1990, 1, 9), 5)
    while not number.endswith("X"):  # find a number whose check character is X
        number = resident_id("410204", datetime.date(1990, 1, 9), int(number[14:17]) + 2)
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADERS[:6],
                     [[number.lower(), "孙一", HOSPITAL, "卫生技术", "初级", "2014/7/1"]], bom=True)

    load("import_people", path)

    person = Person.objects.get()
    assert person.id_number == number and person.gender == "M"
    assert person.titles.get().obtained_on == datetime.date(2014, 7, 1)


def test_every_kind_of_bad_people_row_is_reported_and_nothing_is_written(units, tmp_path):
    f.PersonFactory(id_number=ZHAO, name="赵老师", unit=units[SCHOOL])
    bad_check = WANG[:17] + ("0" if WANG[17] != "0" else "1")
    feb_30 = with_check("410202" + "19900230" + "015")
    unknown_area = with_check("990202" + "19900101" + "015")
    rows = [
        [LI, "李小红", SCHOOL, "中小学教师", "中级", "2012-09-01", "", ""],          # 2 fine
        [bad_check, "甲", HOSPITAL, "卫生技术", "初级", "2010-01-01", "", ""],       # 3
        [feb_30, "乙", HOSPITAL, "卫生技术", "初级", "2010-01-01", "", ""],          # 4
        [unknown_area, "丙", HOSPITAL, "卫生技术", "初级", "2010-01-01", "", ""],    # 5
        [WANG, "王小明", "91110000600037341N", "卫生技术", "初级", "2004-07-01", "", ""],  # 6
        [WANG, "王小明", UNREGISTERED, "卫生技术", "中级", "2010-07-01", "", ""],     # 7
        [WANG, "王小明", HOSPITAL, "卫生技术", "特级", "2012-07-01", "", ""],         # 8
        [WANG, "王小明", HOSPITAL, "卫生技术", "中级", "2013-02-30", "", ""],         # 9
        [WANG, "王大明", HOSPITAL, "卫生技术", "中级", "2014-07-01", "", ""],         # 10
        [ZHAO, "赵先生", SCHOOL, "中小学教师", "中级", "2001-07-01", "", ""],         # 11
        [LI, "李小红", SCHOOL, "中小学教师", "初级", "2012-09-01", "", ""],           # 12
        [LI, "李小红", SCHOOL, "中小学教师", "中级", "2012-09-01", "中级", "2016"],   # 13
        [LI, "李小红", SCHOOL, "中小学教师", "中级", "2012-09-01", "副高级", ""],     # 14
    ]
    path = write_xlsx(tmp_path / "people.xlsx", PEOPLE_HEADERS, rows)

    report = refused("import_people", path)

    expected = [
        (3, "身份证号", "身份证号校验位错误"),
        (4, "身份证号", "出生日期 19900230 不是有效日期"),
        (5, "身份证号", "地区码 990202 不存在"),
        (6, "单位统一社会信用代码", "统一社会信用代码校验位错误"),
        (7, "单位统一社会信用代码", f"统一社会信用代码为 {UNREGISTERED} 的单位尚未登记"),
        (8, "职称级别", "“特级”无效，应为：正高级、副高级、中级、初级"),
        (9, "取得日期", "“2013-02-30”不是有效日期"),
        (10, "姓名", "同一身份证号在第 6 行的姓名为“王小明”，此处为“王大明”"),
        (11, "姓名", "与系统中该身份证号登记的姓名“赵老师”不一致"),
        (12, "职称级别", "与第 2 行同一取得日期 2012-09-01 的职称级别（中级）不同"),
        (13, "拟晋升级别", "拟晋升级别须高于现级别：该人员现为中级"),
        (14, "申报年度", "填写了拟晋升级别时须填写申报年度"),
    ]
    for row, column, reason in expected:
        assert re.search(rf"第 {row} 行「{column}」：[^\n]*{re.escape(reason)}", report), (row, column, reason)
    assert not re.search(r"第 2 行「", report)
    assert Person.objects.count() == 1  # only 赵老师, who was there before
    assert TitleHolding.objects.count() == 0 and PromotionApplication.objects.count() == 0


def test_a_unit_admin_cannot_hand_out_titles_in_an_18_digit_number_cell(units, tmp_path):
    # Excel keeps 15 significant digits: an ID typed into a number cell arrives as a float with zeros at the end.
    path = write_xlsx(tmp_path / "people.xlsx", PEOPLE_HEADERS[:6],
                      [[float(WANG[:17] + "0"), "王小明", HOSPITAL, "卫生技术", "初级", datetime.date(2004, 7, 1)]])

    assert "第 2 行「身份证号」：身份证号单元格是数字格式" in refused("import_people", path)


def test_a_failure_while_writing_rolls_back_rows_already_written(units, tmp_path, monkeypatch):
    # Batches of two rows: 王小明's two titles are written by the first batch, then writing 李小红 fails.
    monkeypatch.setattr(PersonTitleResource._meta, "batch_size", 2)
    path = write_xlsx(tmp_path / "people.xlsx", PEOPLE_HEADERS, GOOD_PEOPLE)
    original, written = PersonTitleResource.flush, []

    def flush(self, *, dry_run):
        if not dry_run and written:
            raise IntegrityError("simulated failure")
        if not dry_run and self.create_instances:
            written.append(len(self.create_instances))
        return original(self, dry_run=dry_run)

    monkeypatch.setattr(PersonTitleResource, "flush", flush)

    report = refused("import_people", path)

    assert written == [2]
    assert "写入数据库失败，已全部撤销：simulated failure" in report
    assert Person.objects.count() == 0 and TitleHolding.objects.count() == 0  # 王小明's batch was undone too


def test_run_import_reports_rows_columns_and_reasons_as_data(units, tmp_path):
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADERS[:6],
                     [[WANG, "王小明", HOSPITAL, "卫生技术", "中级", "明年"]])

    with pytest.raises(ImportRejected) as exc:
        run_import(PersonTitleResource, path)

    [issue] = exc.value.report.issues
    assert (issue.row, issue.column) == (2, "取得日期")
    assert "不是有效日期" in issue.message


def test_read_dataset_keeps_spreadsheet_dates_and_text(tmp_path):
    path = write_xlsx(tmp_path / "x.xlsx", ["身份证号", "取得日期"], [[WANG, datetime.date(2010, 7, 1)]])

    dataset = read_dataset(path)

    assert dataset.headers == ["身份证号", "取得日期"]
    assert dataset[0][0] == WANG and dataset[0][1].date() == datetime.date(2010, 7, 1)


# --- scope of the importing user ------------------------------------------------------------------------------


def scoped_import(resource_class, user, path):
    return run_import(resource_class, path, user=user)


def test_a_county_bureau_cannot_change_people_of_another_county(units, county_user, tmp_path):
    f.PersonFactory(id_number=ZHAO, name="赵老师", unit=units[QIXIAN])
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADERS[:6], [
        [WANG, "王小明", HOSPITAL, "卫生技术", "初级", "2004-07-01"],
        [ZHAO, "赵老师", HOSPITAL, "卫生技术", "中级", "2001-07-01"],
    ])

    with pytest.raises(ImportRejected) as exc:
        scoped_import(PersonTitleResource, county_user, path)

    assert [str(i) for i in exc.value.report.issues] == [
        "第 3 行「身份证号」：该身份证号已登记在您管辖范围以外的单位，不能由您导入或修改"]
    assert Person.objects.get(id_number=ZHAO).unit == units[QIXIAN] and Person.objects.count() == 1


def test_a_county_bureau_cannot_register_units_elsewhere(kaifeng, county_user, tmp_path):
    path = write_csv(tmp_path / "units.csv", UNIT_HEADERS, [
        ["龙亭区某所", credit_code_for_index(61), "龙亭区", "卫生"],
        ["市属某所", credit_code_for_index(62), "", "卫生"],
    ])

    with pytest.raises(ImportRejected) as exc:
        scoped_import(UnitResource, county_user, path)

    assert [str(i) for i in exc.value.report.issues] == ["第 3 行「所属区县」：“开封市”不在您的管辖范围内，不能在此登记单位"]


# --- admin ----------------------------------------------------------------------------------------------------


def csv_upload(name, headers, rows):
    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8-sig"), content_type="text/csv")


CSV_FORMAT = "0"  # IMPORT_FORMATS = [SheetCSV, SheetXLSX]


def test_admin_import_previews_people_for_the_city_bureau_and_confirms(client, units, city_user):
    client.force_login(city_user)
    upload = csv_upload("people.csv", PEOPLE_HEADERS, GOOD_PEOPLE)

    preview = client.post("/admin/personnel/person/import/",
                          {"import_file": upload, "format": CSV_FORMAT, "resource": "0"})

    assert preview.status_code == 200
    result = preview.context["result"]
    assert [row.import_type for row in result.valid_rows()] == ["new", "new", "new"]
    assert not result.has_validation_errors()
    content = preview.content.decode()
    assert "王小明" in content and "李小红" in content and 'name="import_file_name"' in content
    assert Person.objects.count() == 0  # the preview writes nothing

    confirm = preview.context["confirm_form"].initial
    done = client.post("/admin/personnel/person/process_import/", {**confirm, "confirm": "1"})

    assert done.status_code == 302
    assert Person.objects.count() == 2 and TitleHolding.objects.count() == 3
    assert PromotionApplication.objects.get().to_level == "senior_deputy"


def test_admin_import_shows_the_bad_row_and_offers_no_confirmation(client, units, city_user):
    client.force_login(city_user)
    rows = [GOOD_PEOPLE[0], [LI, "李小红", SCHOOL, "中小学教师", "中级", "2012-13-01", "", ""]]

    response = client.post("/admin/personnel/person/import/",
                           {"import_file": csv_upload("people.csv", PEOPLE_HEADERS, rows), "format": CSV_FORMAT,
                            "resource": "0"})

    assert response.status_code == 200
    [invalid] = response.context["result"].invalid_rows
    assert invalid.number == 3
    assert invalid.field_specific_errors == {"取得日期": ["“2012-13-01”不是有效日期，请写成 2016-07-01 的形式"]}
    content = response.content.decode()
    assert "“2012-13-01”不是有效日期" in content
    assert "confirm_form" not in response.context and 'name="import_file_name"' not in content
    assert Person.objects.count() == 0


def test_admin_import_keeps_a_county_bureau_to_its_own_units(client, units, county_user):
    client.force_login(county_user)
    rows = [[WANG, "王小明", HOSPITAL, "卫生技术", "初级", "2004-07-01"], [LI, "李小红", QIXIAN, "卫生技术", "初级", "2008-07-01"]]

    response = client.post("/admin/personnel/person/import/",
                           {"import_file": csv_upload("people.csv", PEOPLE_HEADERS[:6], rows), "format": CSV_FORMAT,
                            "resource": "0"})

    [invalid] = response.context["result"].invalid_rows
    assert (invalid.number, invalid.field_specific_errors) == (3, {"单位统一社会信用代码": [f"单位 {QIXIAN} 不在您的管辖范围内"]})
    assert "confirm_form" not in response.context


def test_admin_import_reports_a_missing_header_without_rows(client, units, city_user):
    client.force_login(city_user)
    rows = [[WANG, "王小明", HOSPITAL, "卫生技术", "初级"]]

    response = client.post("/admin/personnel/person/import/",
                           {"import_file": csv_upload("people.csv", PEOPLE_HEADERS[:5], rows), "format": CSV_FORMAT,
                            "resource": "0"})

    result = response.context["result"]
    assert [str(e.error) for e in result.base_errors] == [
        "缺少必需的列：取得日期（第 1 行须为表头，应包含：身份证号、姓名、单位统一社会信用代码、职称系列、职称级别、取得日期、拟晋升级别、申报年度）"]
    assert result.rows == [] and "confirm_form" not in response.context
    assert "Traceback" not in response.content.decode()  # a refusal, not a crash


def test_admin_changelist_and_import_page_still_scoped(client, units, county_user):
    f.PersonFactory(id_number=WANG, name="王小明", unit=units[HOSPITAL])
    f.PersonFactory(id_number=ZHAO, name="赵老师", unit=units[QIXIAN])
    client.force_login(county_user)

    changelist = client.get("/admin/personnel/person/")
    import_page = client.get("/admin/personnel/person/import/")

    assert changelist.status_code == 200
    assert [p.name for p in changelist.context["cl"].result_list] == ["王小明"]
    assert "/admin/personnel/person/import/" in changelist.content.decode()
    assert import_page.status_code == 200
    assert "单位统一社会信用代码" in import_page.content.decode()


def test_admin_unit_import_preview_for_the_city_bureau(client, kaifeng, city_user):
    client.force_login(city_user)
    upload = csv_upload("units.csv", UNIT_HEADERS, [["鼓楼区某医院", credit_code_for_index(71), "鼓楼区", "卫生"]])

    response = client.post("/admin/orgs/unit/import/", {"import_file": upload, "format": CSV_FORMAT, "resource": "0"})

    assert response.status_code == 200
    [row] = response.context["result"].valid_rows()
    assert row.import_type == "new" and "鼓楼区某医院" in response.content.decode()
    assert Unit.objects.count() == 0


def test_admin_import_is_refused_to_roles_that_may_not_add_people(client, units, kaifeng):
    department = IndustryDepartment.objects.get(name="开封市卫生和计划生育委员会")
    user = f.UserFactory(username="dept", role=Role.INDUSTRY_DEPT, department=department)
    client.force_login(user)

    assert client.get("/admin/personnel/person/import/").status_code == 403


def export_rows(client, url, resource_name, file_format):
    response = client.post(url, {"format": file_format, "resource": "0",
                                 **{f"{resource_name}_{name}": "on" for name in (
                                     "id_number", "name", "unit", "series", "level", "obtained_on", "to_level",
                                     "year")}})
    assert response.status_code == 200, response.content[:500]
    if file_format == CSV_FORMAT:
        return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = [[("" if v is None else v) for v in row] for row in sheet.iter_rows(values_only=True)]
    return [{h: (v.strftime("%Y-%m-%d") if isinstance(v, datetime.datetime) else str(v)) for h, v in zip(header, r)}
            for r in rows]


@pytest.mark.parametrize("file_format", [CSV_FORMAT, "1"], ids=["csv", "xlsx"])
def test_county_bureau_export_shows_full_ids_of_its_own_people_only(client, units, county_user, tmp_path,
                                                                    file_format):
    load("import_people", write_xlsx(tmp_path / "people.xlsx", PEOPLE_HEADERS, GOOD_PEOPLE + [
        [ZHAO, "赵老师", QIXIAN, "卫生技术", "中级", "2001-07-01", "", ""]]))
    client.force_login(county_user)

    rows = export_rows(client, "/admin/personnel/person/export/", "persontitleresource", file_format)

    # 龙亭区 sees its own hospital's 王小明 (two titles), not 开封市第一中学's 李小红 nor 杞县's 赵老师.
    assert [(r["身份证号"], r["职称级别"], r["取得日期"], r["拟晋升级别"], r["申报年度"]) for r in rows] == [
        (WANG, "初级", "2004-07-01", "", ""), (WANG, "中级", "2010-12-20", "副高级", "2016")]


@pytest.mark.parametrize("role", [Role.BASE_STAFF, Role.INDUSTRY_DEPT, Role.TRAINEE])
def test_people_export_masks_ids_for_roles_without_full_id_access(units, tmp_path, role):
    load("import_people", write_xlsx(tmp_path / "people.xlsx", PEOPLE_HEADERS, GOOD_PEOPLE))
    org = {Role.BASE_STAFF: {"base": TrainingBase.objects.get(code="kf-kfdx")},
           Role.INDUSTRY_DEPT: {"department": IndustryDepartment.objects.get(pk=2)},
           Role.TRAINEE: {"person": Person.objects.get(id_number=LI)}}[role]
    user = f.UserFactory(username=f"u-{role}", role=role, **org)

    dataset = PersonTitleResource(user=user).export(Person.objects.all())

    assert dataset["身份证号"] == [mask_id_number(WANG), mask_id_number(WANG), mask_id_number(LI)]
    assert mask_id_number(WANG) == WANG[:6] + "********" + WANG[-4:]


def test_exported_people_file_loads_back_unchanged(units, city_user, tmp_path):
    load("import_people", write_xlsx(tmp_path / "people.xlsx", PEOPLE_HEADERS, GOOD_PEOPLE))
    exported = PersonTitleResource(user=city_user).export(Person.objects.all())
    path = tmp_path / "exported.xlsx"
    path.write_bytes(exported.export("xlsx"))

    out = load("import_people", path)

    assert "新增 0 行，更新 0 行，未变化 3 行" in out


@pytest.mark.parametrize("command", ["import_units", "import_people"])
def test_command_help_names_the_columns(command):
    from django.core.management import load_command_class

    parser = load_command_class({"import_units": "apps.orgs", "import_people": "apps.personnel"}[command],
                                command).create_parser("manage.py", command)

    assert "统一社会信用代码" in parser.format_help()


@pytest.mark.parametrize("fmt_index", [0, 1])
def test_every_export_writes_formula_like_cells_as_text(fmt_index):
    import tablib

    from apps.core.importing import IMPORT_FORMATS

    data = tablib.Dataset(headers=["姓名", "备注"])
    for cell in ("=SUM(1)", "+1", "-2", "@cmd", "正常"):
        data.append(["张三", cell])
    fmt = IMPORT_FORMATS[fmt_index]()
    out = fmt.export_data(data)
    back = fmt.create_dataset(out if isinstance(out, bytes) else out.encode("utf-8"))
    assert [row[1] for row in back] == ["'=SUM(1)", "'+1", "'-2", "'@cmd", "正常"]
