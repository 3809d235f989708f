"""Import and export of professionals (专业技术人员) with their title history and promotion applications.

One row per title a person held (a TitleHolding), so a person's rows together are their title history:

    身份证号, 姓名, 单位统一社会信用代码, 职称系列, 职称级别, 取得日期 [, 拟晋升级别, 申报年度]

The person is created from their first row (gender and birth date derived from the ID number by Person.clean());
their unit and title series follow the file. The optional promotion columns record a PromotionApplication for that
year, from the person's latest level (which must be lower) to the level applied for.

Used by the Person admin and by `manage.py import_people`; the two-stage flow is in `apps.core.importing`. The
export writes the same columns, so an exported file can be corrected and loaded again; the ID number is masked for
roles that may not see it (visibility.sees_full_id).
"""
from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.fields import Field

from apps.core.identifiers import mask_id_number, parse_resident_id
from apps.core.importing import (
    ChoiceLabelWidget,
    CreditCodeWidget,
    DateWidget,
    ImportFileError,
    ResidentIdWidget,
    TextWidget,
    TwoStageResource,
    YearWidget,
    chunked,
)
from apps.orgs.models import Unit

from .models import Person, PromotionApplication, TitleHolding, TitleLevel

# The headers are the file format agreed with the bureaus' HR records, so they are not translated.
ID_NUMBER = "身份证号"
NAME = "姓名"
UNIT_CODE = "单位统一社会信用代码"
SERIES = "职称系列"
LEVEL = "职称级别"
OBTAINED_ON = "取得日期"
TO_LEVEL = "拟晋升级别"
YEAR = "申报年度"

# Lazy: checked on every row, translated only for the rows that break the rule.
NAME_DIFFERS = gettext_lazy("同一身份证号在第 %(row)d 行的姓名为“%(first)s”，此处为“%(value)s”")
UNIT_DIFFERS = gettext_lazy("同一人员在第 %(row)d 行的单位为 %(first)s，此处为 %(value)s：一人只能属于一个单位")


@dataclass
class PersonPlan:
    """Everything the file says about one person, gathered from all their rows in stage one."""

    id_number: str
    name: str = ""
    unit: Unit | None = None
    person: Person | None = None  # the stored person, or the new one once its first row is imported
    exists: bool = False
    history: dict[datetime.date, tuple[str, str]] = field(default_factory=dict)  # date -> (level, series), DB + file
    promotions: dict[int, PromotionApplication] = field(default_factory=dict)  # year -> stored application
    pending: bool = True  # the person still has to be created or updated by the next row of theirs

    @property
    def latest_level(self) -> str | None:
        return self.history[max(self.history)][0] if self.history else None

    @property
    def latest_series(self) -> str:
        named = [series for _date, (_level, series) in sorted(self.history.items()) if series]
        return named[-1] if named else ""


class PersonTitleResource(TwoStageResource):
    id_number = Field(attribute="person__id_number", column_name=ID_NUMBER, widget=ResidentIdWidget(),
                      readonly=True)
    name = Field(attribute="person__name", column_name=NAME, widget=TextWidget(max_length=50), readonly=True)
    unit = Field(attribute="person__unit__credit_code", column_name=UNIT_CODE, widget=CreditCodeWidget(),
                 readonly=True)
    series = Field(attribute="series", column_name=SERIES, widget=TextWidget(required=False, max_length=50))
    level = Field(attribute="level", column_name=LEVEL, widget=ChoiceLabelWidget(TitleLevel))
    obtained_on = Field(attribute="obtained_on", column_name=OBTAINED_ON, widget=DateWidget())
    # The application travels with the row as `row_promotion` (set in import_instance and by the export).
    to_level = Field(attribute="row_promotion__to_level", column_name=TO_LEVEL,
                     widget=ChoiceLabelWidget(TitleLevel, required=False), readonly=True)
    year = Field(attribute="row_promotion__year", column_name=YEAR, widget=YearWidget(required=False),
                 readonly=True)

    required_headers = (ID_NUMBER, NAME, UNIT_CODE, SERIES, LEVEL, OBTAINED_ON)
    tracked_attributes = ("level", "series")

    class Meta:
        model = TitleHolding
        name = gettext_lazy("人员及职称记录")
        fields = ("id_number", "name", "unit", "series", "level", "obtained_on", "to_level", "year")
        import_order = fields
        export_order = fields
        import_id_fields = ("id_number", "obtained_on")
        use_bulk = True
        batch_size = 1000

    def __init__(self, *, user=None, **kwargs):
        super().__init__(user=user, **kwargs)
        from apps.accounts import visibility  # accounts sits above personnel: imported when used

        # Fail closed: without a user who may see full numbers (e.g. a resource built by a script), IDs are masked.
        self.full_ids = user is not None and visibility.sees_full_id(user)
        self._plans: dict[str, PersonPlan] = {}
        self._titles: dict[tuple[str, datetime.date], TitleHolding] = {}
        self._pending_promotion: PromotionApplication | None = None
        self._batch: dict[str, list] = defaultdict(list)

    # stage one ---------------------------------------------------------------------------------------------

    def scan(self, rows: list[dict[str, Any]], **kwargs) -> None:
        from apps.accounts import visibility

        if self.user is not None and not visibility.can_add(self.user, Person):
            raise ImportFileError(_("您没有导入专业技术人员的权限"))
        today = datetime.date.today()
        parsed = self.values
        for index, row in enumerate(rows):
            values = self.clean_cells(index, row, self.fields)
            number, obtained = values.get("id_number"), values.get("obtained_on")
            if number and obtained:
                birth = parse_resident_id(number).birth_date
                if obtained > today:
                    self.add_error(index, OBTAINED_ON, _("取得日期 %(d)s 晚于今天") % {"d": obtained})
                elif obtained < birth:
                    self.add_error(index, OBTAINED_ON, _("取得日期 %(d)s 早于出生日期 %(birth)s")
                                   % {"d": obtained, "birth": birth})
            if values.get("to_level") and "year" in values and values["year"] is None:
                self.add_error(index, YEAR, _("填写了拟晋升级别时须填写申报年度"))
            if values.get("year") and "to_level" in values and not values["to_level"]:
                self.add_error(index, TO_LEVEL, _("填写了申报年度时须填写拟晋升级别"))
            parsed.append(values)

        units = self._load_units({v["unit"] for v in parsed if v.get("unit")})
        rows_of: dict[str, list[int]] = defaultdict(list)
        for index, values in enumerate(parsed):
            code = values.get("unit")
            if code and code not in units:
                self.add_error(index, UNIT_CODE, units.missing_reason(code))
            if values.get("id_number"):
                rows_of[values["id_number"]].append(index)

        self._plans = {number: PersonPlan(number) for number in rows_of}
        self._load_people()
        for number, indexes in rows_of.items():
            self._check_person(self._plans[number], [(i, parsed[i]) for i in indexes], units)

    def _load_units(self, codes: set[str]) -> _Units:
        from apps.accounts import visibility

        units = _Units()
        for batch in chunked(sorted(codes)):
            units.known.update(Unit.objects.filter(credit_code__in=batch).values_list("credit_code", flat=True))
            qs = Unit.objects.filter(credit_code__in=batch)
            if self.user is not None:
                qs = visibility.visible(self.user, qs)
            units.update((u.credit_code, u) for u in qs)
        return units

    def _load_people(self) -> None:
        """The stored people of the file, their titles and applications: a few queries per 2,000 people."""
        from apps.accounts import visibility

        plans = self._plans
        for batch in chunked(plans):
            for person in Person.objects.filter(id_number__in=batch).select_related("unit"):
                plans[person.id_number].person, plans[person.id_number].exists = person, True
        self._out_of_scope: set[str] = set()
        if self.user is not None:
            stored = [p for p in plans if plans[p].exists]
            for batch in chunked(stored):
                seen = set(visibility.visible(self.user, Person).filter(id_number__in=batch)
                           .values_list("id_number", flat=True))
                self._out_of_scope.update(set(batch) - seen)
        by_pk = {plan.person.pk: plan for plan in plans.values() if plan.exists}
        self._titles = {}
        for batch in chunked(by_pk):
            for title in TitleHolding.objects.filter(person_id__in=batch):
                plan = by_pk[title.person_id]
                title.person = plan.person  # so reading the row back (preview, diff) asks no query
                plan.history[title.obtained_on] = (title.level, title.series)
                self._titles[(plan.id_number, title.obtained_on)] = title
            for promotion in PromotionApplication.objects.filter(person_id__in=batch):
                by_pk[promotion.person_id].promotions[promotion.year] = promotion

    def _check_person(self, plan: PersonPlan, rows: list[tuple[int, dict[str, Any]]], units: _Units) -> None:
        """Rows of one person against each other and against what is stored."""
        if plan.id_number in self._out_of_scope:
            for index, _values in rows:
                self.add_error(index, ID_NUMBER, _("该身份证号已登记在您管辖范围以外的单位，不能由您导入或修改"))
            return

        first: dict[str, tuple[int, Any]] = {}  # column -> (row index, value) of the first row giving it

        def agree(index: int, column: str, value: Any, message) -> None:
            if column not in first:
                first[column] = (index, value)
            elif first[column][1] != value:
                self.add_error(index, column, message % {"row": self.row_label(first[column][0]),
                                                         "first": first[column][1], "value": value})

        stored_name = plan.person.name if plan.exists else None
        dates: dict[datetime.date, tuple[int, str, str]] = {}
        years: dict[int, tuple[int, str]] = {}
        for index, values in rows:
            name = values.get("name")
            if name:
                if stored_name is not None and name != stored_name:
                    self.add_error(index, NAME, _("与系统中该身份证号登记的姓名“%(stored)s”不一致")
                                   % {"stored": stored_name})
                agree(index, NAME, name, NAME_DIFFERS)
            if values.get("unit") in units:
                agree(index, UNIT_CODE, values["unit"], UNIT_DIFFERS)
            level, obtained, series = values.get("level"), values.get("obtained_on"), values.get("series", "")
            if level and obtained:
                if obtained not in dates:
                    dates[obtained] = (index, level, series)
                elif dates[obtained][1] != level:
                    self.add_error(index, LEVEL, _("与第 %(row)d 行同一取得日期 %(d)s 的职称级别（%(first)s）不同："
                                                   "同一天只能取得一个职称")
                                   % {"row": self.row_label(dates[obtained][0]), "d": obtained,
                                      "first": self._level_label(dates[obtained][1])})
                elif dates[obtained][2] != series:
                    self.add_error(index, SERIES, _("与第 %(row)d 行同一取得日期 %(d)s 的职称系列（%(first)s）不同")
                                   % {"row": self.row_label(dates[obtained][0]), "d": obtained,
                                      "first": dates[obtained][2] or "空"})
            to_level, year = values.get("to_level"), values.get("year")
            if to_level and year:
                if year not in years:
                    years[year] = (index, to_level)
                elif years[year][1] != to_level:
                    self.add_error(index, TO_LEVEL, _("与第 %(row)d 行 %(year)d 年度的拟晋升级别（%(first)s）不同："
                                                      "每人每年只能申报一次")
                                   % {"row": self.row_label(years[year][0]), "year": year,
                                      "first": self._level_label(years[year][1])})

        plan.name = first.get(NAME, (0, ""))[1]
        plan.unit = units.get(first[UNIT_CODE][1]) if UNIT_CODE in first else None
        for obtained, (_index, level, series) in dates.items():
            plan.history[obtained] = (level, series)  # the file corrects what is stored for the same date

        current = plan.latest_level
        for index, values in rows:
            to_level, year = values.get("to_level"), values.get("year")
            if not (to_level and year and current):
                continue
            stored = plan.promotions.get(year)
            if stored is not None and stored.to_level == to_level:
                continue  # already recorded as it is: loading the file again must not start refusing it
            if TitleLevel.rank(to_level) <= TitleLevel.rank(current):
                self.add_error(index, TO_LEVEL, _("拟晋升级别须高于现级别：该人员现为%(current)s，拟晋升%(to)s")
                               % {"current": self._level_label(current), "to": self._level_label(to_level)})

    def _level_label(self, level: str) -> str:
        return self.fields["level"].widget.render(level)

    # stage two ---------------------------------------------------------------------------------------------
    #
    # Rows are written in batches (Meta.use_bulk): each row adds its new or changed records to `self._batch`, and
    # import-export calls bulk_create/bulk_update when a batch is full and once at the end, where `flush` writes
    # people first (their keys are needed), then titles and applications, a few statements per 1,000 rows.
    # Stage one has checked everything the database would refuse; should a write still fail (a concurrent import
    # of the same person), the error ends the import and the whole file is rolled back.

    def existing_instance(self, row) -> TitleHolding | None:
        return self._titles.get((self.current["id_number"], self.current["obtained_on"]))

    def import_instance(self, instance: TitleHolding, row, **kwargs) -> None:
        values = self.current
        instance.level, instance.series, instance.obtained_on = values["level"], values["series"], values["obtained_on"]
        plan = self._plans[values["id_number"]]
        instance.person = self._person(plan)
        instance.row_promotion = self._pending_promotion = None
        if values.get("year"):
            instance.row_promotion = self._promotion(plan, values["year"], values["to_level"])

    def _person(self, plan: PersonPlan) -> Person:
        """The person of this row: created or updated (unit, title series) in memory the first time it is met."""
        if not plan.pending:
            return plan.person
        if plan.exists:
            person = plan.person
            before = (person.unit_id, person.title_series)
            person.unit, person.title_series = plan.unit, plan.latest_series or person.title_series
            plan.pending = (person.unit_id, person.title_series) != before
        else:
            person = Person(id_number=plan.id_number, name=plan.name, unit=plan.unit, title_series=plan.latest_series)
            person.clean()  # gender and birth date come from the ID number
            plan.person = person
        return person

    def _promotion(self, plan: PersonPlan, year: int, to_level: str) -> PromotionApplication:
        stored = plan.promotions.get(year)
        if stored is not None and stored.to_level == to_level:
            return stored
        promotion = stored or PromotionApplication(year=year)
        promotion.person, promotion.to_level, promotion.from_level = plan.person, to_level, plan.latest_level
        plan.promotions[year] = promotion
        self._pending_promotion = promotion
        return promotion

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors:
            return False
        plan = self._plans[self.current["id_number"]]
        return not (self.changed(instance) or plan.pending or self._pending_promotion)

    def write(self, instance: TitleHolding, is_create: bool, row, *, dry_run: bool) -> None:
        plan = self._plans[self.current["id_number"]]
        batch = self._batch
        if plan.pending:
            (batch["people_updated"] if plan.exists else batch["people_created"]).append(plan.person)
            plan.pending = False
        if self.changed(instance):
            # import-export counts these two lists to decide when a batch is full
            (self.create_instances if is_create else self.update_instances).append(instance)
        promotion = self._pending_promotion
        if promotion is not None:
            (batch["promotions_created"] if promotion.pk is None else batch["promotions_updated"]).append(promotion)
            self._pending_promotion = None
        self._titles[(plan.id_number, instance.obtained_on)] = instance

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        try:
            self.flush(dry_run=dry_run)
        except Exception as exc:
            self.handle_import_error(result, exc, raise_errors)

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        self.bulk_create(using_transactions, dry_run, raise_errors, batch_size=batch_size, result=result)

    def flush(self, *, dry_run: bool) -> None:
        """Write what the rows since the last flush created or changed; a dry run only counts it."""
        batch, self._batch = self._batch, defaultdict(list)
        batch["titles_created"], batch["titles_updated"] = self.create_instances, self.update_instances
        self.create_instances, self.update_instances = [], []
        for key, objects in batch.items():
            self.stats[key] += len(objects)
        if dry_run:
            return
        Person.objects.bulk_create(batch["people_created"])
        now = timezone.now()
        for person in batch["people_updated"]:
            person.updated_at = now  # bulk_update does not apply auto_now
        Person.objects.bulk_update(batch["people_updated"], ["unit", "title_series", "updated_at"])
        for obj in (*batch["titles_created"], *batch["titles_updated"], *batch["promotions_created"],
                    *batch["promotions_updated"]):
            obj.person = obj.person  # the person's key exists only now that it is inserted
        TitleHolding.objects.bulk_create(batch["titles_created"])
        TitleHolding.objects.bulk_update(batch["titles_updated"], ["level", "series"])
        PromotionApplication.objects.bulk_create(batch["promotions_created"])
        PromotionApplication.objects.bulk_update(batch["promotions_updated"], ["from_level", "to_level"])

    # export ------------------------------------------------------------------------------------------------

    def get_queryset(self) -> QuerySet:
        qs = Person.objects.all()
        if self.user is None:
            return qs
        from apps.accounts import visibility

        return visibility.visible(self.user, qs)

    def iter_queryset(self, queryset):
        """One row per title, in the import's columns; the latest application rides on the latest title's row.
        A person without any title still gets one row, with the title columns empty."""
        if queryset.model is TitleHolding:
            yield from queryset.select_related("person__unit").iterator(chunk_size=2000)
            return
        people = queryset.select_related("unit").prefetch_related("titles", "promotions").order_by("pk")
        for person in people.iterator(chunk_size=2000):
            titles = sorted(person.titles.all(), key=lambda t: t.obtained_on) or [TitleHolding(level="", series="")]
            promotions = sorted(person.promotions.all(), key=lambda p: p.year)
            for title in titles:
                title.person = person
                title.row_promotion = promotions[-1] if promotions and title is titles[-1] else None
                yield title

    def dehydrate_id_number(self, title: TitleHolding) -> str:
        number = title.person.id_number
        return number if self.full_ids else mask_id_number(number)


class _Units(dict):
    """Units of the file by credit code that the importing user may attach people to."""

    def __init__(self):
        super().__init__()
        self.known: set[str] = set()

    def missing_reason(self, code: str) -> str:
        if code in self.known:
            return _("单位 %(code)s 不在您的管辖范围内") % {"code": code}
        return _("统一社会信用代码为 %(code)s 的单位尚未登记：请先导入该单位") % {"code": code}
