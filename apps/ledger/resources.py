"""Migration import of historical hours from the existing platforms (`manage.py import_hours`, and the admin).

    身份证号, 姓名, 年度, 类别, 学时, 完成日期 [, 课程代码, 课程名称, 基地, 主办层级]

类别 is 公需必修 / 公需选修 / 专业科目. A row names a catalogue course by 课程代码, or — for training outside our
catalogue — names it by 课程名称. 基地 is a base code (its level gives the organising level); for training
organised outside our bases, 主办层级 (省/市/县) says who organised it.

Rows go into the ledger through `services.entries_record`, never around it: each entry points back to this
import (an HourImport) and its spreadsheet row. A row's natural key (person, date, category, course, hours) makes a
second load of the same file, or of an overlapping one, add nothing.
"""
from __future__ import annotations

import datetime
import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.fields import Field

from apps.bases.models import TrainingBase
from apps.catalog.models import Category, Course
from apps.core.identifiers import mask_id_number
from apps.core.importing import (DateWidget, ImportFileError, ResidentIdWidget, TextWidget, TwoStageResource,
                                 YearWidget, chunked, normalise_cell)
from apps.personnel.models import Person

from .models import HourEntry, HourImport, Organiser, Source

ID_NUMBER, NAME, YEAR, CATEGORY, HOURS = "身份证号", "姓名", "年度", "类别", "学时"
COURSE_CODE, COURSE_NAME, BASE, ORGANISER, COMPLETED_ON = "课程代码", "课程名称", "基地", "主办层级", "完成日期"

CATEGORY_LABELS = {"公需必修": Category.PUBLIC_REQUIRED, "公需选修": Category.PUBLIC_ELECTIVE,
                   "专业科目": Category.PROFESSIONAL}
ORGANISER_LABELS = {"省": Organiser.PROVINCE, "省级": Organiser.PROVINCE, "市": Organiser.CITY,
                    "市级": Organiser.CITY, "县": Organiser.COUNTY, "县级": Organiser.COUNTY,
                    "区": Organiser.COUNTY}


class LabelWidget(TextWidget):
    def __init__(self, labels: dict[str, str], *, required: bool = True):
        self.labels = labels | {v: v for v in labels.values()}
        self.shown = "、".join(dict.fromkeys(labels))
        super().__init__(required=required)

    def clean(self, value, row=None, **kwargs) -> str:
        text = super().clean(value, row)
        if text and text not in self.labels:
            raise ValueError(_("“%(value)s”无效，应为：%(allowed)s") % {"value": text, "allowed": self.shown})
        return self.labels.get(text, "")


class HoursWidget(TextWidget):
    def clean(self, value, row=None, **kwargs) -> Decimal:
        text = str(normalise_cell(value))
        if text == "":
            raise ValueError(_("不能为空"))
        try:
            hours = Decimal(text)
        except InvalidOperation:
            raise ValueError(_("“%(value)s”不是数字") % {"value": text}) from None
        if not hours.is_finite() or hours <= 0:
            raise ValueError(_("学时须大于 0，实际为 %(value)s") % {"value": text})
        if hours * 2 != (hours * 2).to_integral_value():
            raise ValueError(_("学时须以 0.5 为单位，实际为 %(value)s") % {"value": text})
        if hours > 200:
            raise ValueError(_("单条记录学时 %(value)s 不合理（超过 200）") % {"value": text})
        return hours


def natural_key(id_number: str, completed_on: datetime.date, category: str, course: str, hours: Decimal) -> str:
    raw = "|".join([id_number, completed_on.isoformat(), category, course, f"{hours.normalize():f}"])
    return "migration:" + hashlib.sha1(raw.encode()).hexdigest()


class HourEntryResource(TwoStageResource):
    id_number = Field(attribute="person__id_number", column_name=ID_NUMBER, widget=ResidentIdWidget(), readonly=True)
    name = Field(attribute="person__name", column_name=NAME, widget=TextWidget(max_length=50), readonly=True)
    year = Field(attribute="year", column_name=YEAR, widget=YearWidget(), readonly=True)
    category = Field(attribute="category", column_name=CATEGORY, widget=LabelWidget(CATEGORY_LABELS), readonly=True)
    hours = Field(attribute="hours", column_name=HOURS, widget=HoursWidget(), readonly=True)
    course_code = Field(attribute="course__code", column_name=COURSE_CODE, widget=TextWidget(required=False),
                        readonly=True)
    course_name = Field(attribute="course_title", column_name=COURSE_NAME,
                        widget=TextWidget(required=False, max_length=200), readonly=True)
    base = Field(attribute="base__code", column_name=BASE, widget=TextWidget(required=False), readonly=True)
    organiser = Field(attribute="organiser", column_name=ORGANISER,
                      widget=LabelWidget(ORGANISER_LABELS, required=False), readonly=True)
    completed_on = Field(attribute="completed_on", column_name=COMPLETED_ON, widget=DateWidget(), readonly=True)

    required_headers = (ID_NUMBER, NAME, YEAR, CATEGORY, HOURS, COMPLETED_ON)

    class Meta:
        model = HourEntry
        name = gettext_lazy("历史学时")
        fields = ("id_number", "name", "year", "category", "hours", "course_code", "course_name", "base",
                  "organiser", "completed_on")
        import_order = fields
        export_order = fields
        import_id_fields = ()

    def __init__(self, *, user=None, file_name: str = "", file_sha256: str = "", **kwargs):
        super().__init__(user=user, **kwargs)
        from apps.accounts import visibility

        self.full_ids = user is not None and visibility.sees_full_id(user)
        self.file_name, self.file_sha256 = file_name, file_sha256
        self._existing: dict[str, HourEntry] = {}
        self._accepted: list[tuple[int, dict]] = []

    # stage one ---------------------------------------------------------------------------------------------

    def scan(self, rows: list[dict[str, Any]], **kwargs) -> None:
        from apps.accounts import visibility
        from apps.accounts.models import Role

        if self.user is not None and self.user.role not in (Role.SYSTEM_ADMIN, Role.CITY_BUREAU):
            raise ImportFileError(_("只有市人社局可以导入历史学时"))
        cleaned = [self.clean_cells(i, row, self.fields) for i, row in enumerate(rows)]
        people = {}
        for batch in chunked({v["id_number"] for v in cleaned if v.get("id_number")}):
            people.update({p.id_number: p for p in Person.objects.filter(id_number__in=batch)})
        visible_ids = None
        if self.user is not None:
            visible_ids = set(visibility.visible(self.user, Person).filter(
                pk__in=[p.pk for p in people.values()]).values_list("pk", flat=True))
        codes = {v["course_code"] for v in cleaned if v.get("course_code")}
        courses: dict[str, dict[int, Course]] = {}
        for course in Course.objects.filter(code__in=codes):
            courses.setdefault(course.code, {})[course.year] = course
        bases = {b.code: b for b in TrainingBase.objects.filter(code__in={v["base"] for v in cleaned if v.get("base")})}

        keys: dict[str, int] = {}
        for index, v in enumerate(cleaned):
            # Every check whose cells are readable runs, so the clerk sees all of a row's problems at once.
            self.values.append(v)
            person = people.get(v.get("id_number"))
            if "id_number" in v and (person is None or (visible_ids is not None and person.pk not in visible_ids)):
                self.add_error(index, ID_NUMBER, _("系统中没有身份证号为 %(id)s 的人员，请先导入人员")
                               % {"id": mask_id_number(v["id_number"])})
                person = None
            if person is not None and "name" in v and person.name != v["name"]:
                self.add_error(index, NAME, _("姓名“%(value)s”与该身份证号登记的姓名“%(name)s”不符")
                               % {"value": v["name"], "name": person.name})
            day, year = v.get("completed_on"), v.get("year")
            if day and year and day.year != year:
                self.add_error(index, YEAR, _("年度 %(year)s 与完成日期 %(date)s 不符") % {"year": year, "date": day})
            if day and day > datetime.date.today():
                self.add_error(index, COMPLETED_ON, _("完成日期 %(date)s 晚于今天") % {"date": day})
            course = None
            if v.get("course_code"):
                by_year = courses.get(v["course_code"], {})
                course = by_year.get(year)
                if not by_year:
                    self.add_error(index, COURSE_CODE, _("课程代码 %(code)s 不存在") % {"code": v["course_code"]})
                elif course is None and year:
                    self.add_error(index, COURSE_CODE, _("课程 %(code)s 属于 %(years)s 年度，与本行年度 %(year)s 不符")
                                   % {"code": v["course_code"], "years": "、".join(map(str, sorted(by_year))),
                                      "year": year})
                elif course is not None and "category" in v and course.category != v["category"]:
                    self.add_error(index, CATEGORY, _("课程 %(code)s 的类别是“%(cat)s”，与本行不符")
                                   % {"code": course.code, "cat": course.get_category_display()})
            elif "course_code" in v and not v.get("course_name") and "course_name" in v:
                self.add_error(index, COURSE_NAME, _("目录外的培训须填写课程名称（或填写课程代码）"))
            base = None
            if v.get("base"):
                base = bases.get(v["base"])
                if base is None:
                    self.add_error(index, BASE, _("基地代码 %(code)s 不存在") % {"code": v["base"]})
                elif v.get("organiser") and v["organiser"] != base.level:
                    self.add_error(index, ORGANISER, _("主办层级与基地 %(base)s 的层级（%(level)s）不符")
                                   % {"base": base.name, "level": base.get_level_display()})
            if index in self.errors:
                continue
            key = natural_key(person.id_number, v["completed_on"], v["category"],
                              course.code if course else v["course_name"], v["hours"])
            if key in keys:
                self.add_error(index, "—", _("与第 %(row)d 行重复（同一人员、日期、类别、课程和学时）")
                               % {"row": self.row_label(keys[key])})
                continue
            keys[key] = index
            v.update(person=person, course=course, base_obj=base, key=key,
                     organiser=(base.level if base else v["organiser"]) or "")
        for batch in chunked(list(keys)):
            self._existing.update({e.source_key: e for e in HourEntry.objects.filter(source_key__in=batch)})

    # stage two ---------------------------------------------------------------------------------------------

    def existing_instance(self, row) -> HourEntry | None:
        return self._existing.get(self.current["key"])

    def import_instance(self, instance: HourEntry, row, **kwargs) -> None:
        v = self.current
        if instance.pk is None:
            instance.person, instance.year, instance.category, instance.hours = (v["person"], v["year"],
                                                                                 v["category"], v["hours"])
            instance.course, instance.course_title, instance.base = v["course"], v["course_name"], v["base_obj"]
            instance.organiser, instance.completed_on = v["organiser"], v["completed_on"]

    def skip_row(self, instance, original, row, import_validation_errors=None):
        # An entry already in the ledger (same natural key) is unchanged; the ledger is never rewritten.
        return not import_validation_errors and instance.pk is not None

    def write(self, instance: HourEntry, is_create: bool, row, *, dry_run: bool) -> None:
        if not dry_run:
            self._accepted.append((self.row_label(self.values.index(self.current)), self.current))

    def after_import(self, dataset, result, **kwargs):
        if self._is_dry_run(kwargs) or result.has_errors() or result.has_validation_errors():
            return
        from . import services

        batch = HourImport.objects.create(file_name=self.file_name[:255], sha256=self.file_sha256,
                                          rows=self.row_count, created_by=self.user)
        created = services.entries_record(entries=[
            services.EntryInput(person_id=v["person"].pk, category=v["category"], hours=v["hours"],
                                completed_on=v["completed_on"], year=v["year"], source=Source.MIGRATION,
                                source_key=v["key"], course_id=v["course"].pk if v["course"] else None,
                                course_title="" if v["course"] else v["course_name"],
                                base_id=v["base_obj"].pk if v["base_obj"] else None, organiser=v["organiser"],
                                source_object=batch, source_row=sheet_row)
            for sheet_row, v in self._accepted], created_by=self.user, returning=False)
        batch.created_entries = created
        batch.save(update_fields=["created_entries"])
        self.stats["entries_created"] = created

    # export ------------------------------------------------------------------------------------------------

    def dehydrate_id_number(self, entry: HourEntry) -> str:
        return entry.person.id_number if self.full_ids else mask_id_number(entry.person.id_number)

    def dehydrate_category(self, entry: HourEntry) -> str:
        return {v: k for k, v in CATEGORY_LABELS.items()}[entry.category]

    def dehydrate_organiser(self, entry: HourEntry) -> str:
        return {"province": "省", "city": "市", "county": "县"}.get(entry.organiser, "")
