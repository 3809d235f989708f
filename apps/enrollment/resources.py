"""Exam results uploaded by a training base (W2): one row per registered person and class.

    身份证号, 姓名, 课程代码, 班次, 成绩, 是否合格, 完成日期

班次 is the base's own class code (TrainingClass.code) and 课程代码 the catalogue code of that class's course. The key of
a row is the registration (person + class, hence course): a result already stored with the same values is
"unchanged", with other values "updated" — unless it has been put into a submission to the bureau, after which the
base may not change it here. A result for someone who is not registered in the class is refused, whatever else the
row says. Stage one (`scan`) checks every row with a few bulk queries per 2,000 rows; nothing is written before the
upload is confirmed, and then all rows or none (`apps.enrollment.uploads`).
"""
from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.fields import Field

from apps.core.identifiers import mask_id_number
from apps.core.importing import (DateWidget, ResidentIdWidget, TextWidget, TwoStageResource, chunked,
                                 normalise_cell)
from .models import ExamResult, Registration, SubmissionItem, TrainingClass

ID_NUMBER, NAME, COURSE_CODE, CLASS_CODE = "身份证号", "姓名", "课程代码", "班次"
SCORE, PASSED, COMPLETED_ON = "成绩", "是否合格", "完成日期"
COLUMNS = (ID_NUMBER, NAME, COURSE_CODE, CLASS_CODE, SCORE, PASSED, COMPLETED_ON)
PASSED_LABELS = {"是": True, "合格": True, "否": False, "不合格": False}


def read_by_class(seats: int, rows: int) -> bool:
    """Whether to read the registrations of the file's classes in one query by class (`seats` of them) rather than
    by the file's `rows` ID numbers in chunks: when the file covers most of its classes, or they are small."""
    return seats <= max(5000, 2 * rows)


class ScoreWidget(TextWidget):
    """0–100 with at most one decimal (the column is DECIMAL(5,1)); an empty cell is "no score recorded"."""

    def __init__(self):
        super().__init__(required=False)

    def clean(self, value, row=None, **kwargs) -> Decimal | None:
        value = normalise_cell(value)
        text = str(value)
        if text == "":
            return None
        try:
            score = Decimal(text)
        except InvalidOperation:
            raise ValueError(_("“%(value)s”不是数字") % {"value": text}) from None
        if not score.is_finite() or not (0 <= score <= 100):
            raise ValueError(_("成绩须在 0–100 之间，实际为 %(value)s") % {"value": text})
        if score != score.quantize(Decimal("0.1")):
            raise ValueError(_("成绩最多保留 1 位小数，实际为 %(value)s") % {"value": text})
        return score.quantize(Decimal("0.1"))


class PassedWidget(TextWidget):
    def clean(self, value, row=None, **kwargs) -> bool:
        text = super().clean(value, row)
        if text not in PASSED_LABELS:
            raise ValueError(_("“%(value)s”无效，应为：%(allowed)s") % {"value": text, "allowed": "是、否、合格、不合格"})
        return PASSED_LABELS[text]


class ExamResultResource(TwoStageResource):
    id_number = Field(attribute="registration__person__id_number", column_name=ID_NUMBER, widget=ResidentIdWidget(),
                      readonly=True)
    name = Field(attribute="registration__person__name", column_name=NAME, widget=TextWidget(max_length=50),
                 readonly=True)
    course_code = Field(attribute="registration__training_class__course__code", column_name=COURSE_CODE,
                        widget=TextWidget(max_length=40), readonly=True)
    class_code = Field(attribute="registration__training_class__code", column_name=CLASS_CODE,
                       widget=TextWidget(max_length=40), readonly=True)
    score = Field(attribute="score", column_name=SCORE, widget=ScoreWidget(), readonly=True)
    passed = Field(attribute="passed", column_name=PASSED, widget=PassedWidget(), readonly=True)
    completed_on = Field(attribute="completed_on", column_name=COMPLETED_ON, widget=DateWidget(required=False),
                         readonly=True)

    required_headers = COLUMNS
    tracked_attributes = ("score", "passed", "completed_on")

    class Meta:
        model = ExamResult
        name = gettext_lazy("考试成绩")
        fields = ("id_number", "name", "course_code", "class_code", "score", "passed", "completed_on")
        import_order = fields
        import_id_fields = ()
        # Rows are written in batches of 1,000 (see `flush`); without it import-export wraps each row in a savepoint.
        use_bulk = True
        batch_size = 1000
        report_skipped = False  # 100,000 unchanged rows need a count, not 100,000 row results in memory

    def __init__(self, *, base, user=None, upload=None, lock: bool = False, progress=None,
                 outcome_limit: int = 200, **kwargs):
        super().__init__(user=user, **kwargs)
        self.base = base
        self.upload = upload
        self.lock = lock  # the real run locks the results it may change, so a submission cannot slip in between
        self.progress = progress  # callable(processed_rows), called every PROGRESS_EVERY rows
        self.outcome_limit = outcome_limit
        self.outcomes: list[dict[str, Any]] = []  # the first rows' outcomes, for the check page
        self._existing: dict[int, ExamResult] = {}
        self._seen = 0
        self._now = timezone.now()

    # stage one ---------------------------------------------------------------------------------------------

    def scan(self, rows: list[dict[str, Any]], **kwargs) -> None:
        cleaned = [self.clean_cells(i, row, self.fields) for i, row in enumerate(rows)]
        today = timezone.localdate()

        codes = {v["class_code"] for v in cleaned if v.get("class_code")}
        classes: dict[str, TrainingClass] = {}
        elsewhere: set[str] = set()
        for batch in chunked(sorted(codes)):
            classes.update((c.code, c) for c in TrainingClass.objects.filter(base=self.base, code__in=batch)
                           .select_related("course"))
            elsewhere.update(TrainingClass.objects.filter(code__in=batch).exclude(base=self.base)
                             .values_list("code", flat=True))

        # Registrations of the file's people in this base's classes: only those, so a base learns nothing about
        # people it does not train (an unknown ID number and an unregistered one read the same).
        numbers = sorted({v["id_number"] for v in cleaned if v.get("id_number")})
        class_ids = [c.pk for c in classes.values()]
        # (ID number, class) -> (registration id, registered name); plain tuples, 100,000 model instances cost
        # more than the queries.
        registrations: dict[tuple[str, int], tuple[int, str]] = {}
        fields = ("pk", "training_class_id", "person__id_number", "person__name")
        seats = sum(c.registered for c in classes.values())
        if class_ids and read_by_class(seats, len(numbers)):
            # The file covers most of its classes' registrations (the usual case: one file per class or term):
            # one query by class beats fifty by ID number.
            batches = [Registration.objects.filter(training_class_id__in=class_ids).values_list(*fields)]
        else:
            batches = [Registration.objects.filter(training_class_id__in=class_ids, person__id_number__in=batch)
                       .values_list(*fields) for batch in chunked(numbers)] if class_ids else []
        wanted = set(numbers)
        for qs in batches:
            for reg_id, class_id, number, name in qs.iterator(chunk_size=5000):
                if number in wanted:
                    registrations[(number, class_id)] = (reg_id, name)

        seen: dict[tuple[str, str], int] = {}
        for index, v in enumerate(cleaned):
            self.values.append(v)
            number, code = v.get("id_number"), v.get("class_code")
            cls = classes.get(code) if code else None
            if code and cls is None:
                if code in elsewhere:
                    self.add_error(index, CLASS_CODE, _("班次 %(code)s 不是本基地的班次，不能录入其成绩") % {"code": code})
                else:
                    self.add_error(index, CLASS_CODE, _("本基地没有编号为 %(code)s 的班次") % {"code": code})
            if cls is not None and v.get("course_code") and cls.course.code != v["course_code"]:
                self.add_error(index, COURSE_CODE, _("班次 %(cls)s 的课程代码是 %(code)s，与本行的 %(value)s 不符")
                               % {"cls": cls.code, "code": cls.course.code, "value": v["course_code"]})
            reg = registrations.get((number, cls.pk)) if number and cls is not None else None
            if number and cls is not None and reg is None:
                self.add_error(index, ID_NUMBER, _("身份证号为 %(id)s 的人员未报名班次 %(cls)s，不能录入成绩")
                               % {"id": mask_id_number(number), "cls": cls.code})
            if reg is not None and v.get("name") and reg[1] != v["name"]:
                self.add_error(index, NAME, _("姓名“%(value)s”与该身份证号报名时登记的姓名“%(name)s”不符")
                               % {"value": v["name"], "name": reg[1]})
            day = v.get("completed_on")
            if v.get("passed") and "completed_on" in v and day is None:
                self.add_error(index, COMPLETED_ON, _("合格的成绩须填写完成日期"))
            if day is not None:
                if day > today:
                    self.add_error(index, COMPLETED_ON, _("完成日期 %(date)s 晚于今天") % {"date": day})
                elif cls is not None and day.year != cls.year:
                    self.add_error(index, COMPLETED_ON, _("完成日期 %(date)s 不在班次 %(cls)s 所属的 %(year)d 年度内")
                                   % {"date": day, "cls": cls.code, "year": cls.year})
            if number and code:
                key = (number, code)
                if key in seen:
                    self.add_error(index, "—", _("与第 %(row)d 行重复（同一人员、课程和班次）")
                                   % {"row": self.row_label(seen[key])})
                else:
                    seen[key] = index
            v["registration"] = reg[0] if reg is not None else None

        self._load_existing({v["registration"] for v in self.values if v.get("registration") is not None})
        for index, v in enumerate(self.values):
            stored = self._existing.get(v["registration"]) if v.get("registration") is not None else None
            differs = stored is not None and self._differs(stored, v)
            if differs and stored.submitted:
                self.add_error(index, "—", _("该成绩已上报市人社局，不能再通过上传修改"))
            v["unchanged"] = stored is not None and not differs

    def _load_existing(self, registration_ids: set[int]) -> None:
        submitted = Exists(SubmissionItem.objects.filter(result=OuterRef("pk")))
        for batch in chunked(sorted(registration_ids)):
            qs = ExamResult.objects.filter(registration_id__in=batch)
            if self.lock:
                qs = qs.select_for_update()
            self._existing.update((r.registration_id, r) for r in qs.annotate(submitted=submitted))

    @staticmethod
    def _differs(stored: ExamResult, v: dict[str, Any]) -> bool:
        return (stored.score, stored.passed, stored.completed_on) != (v.get("score"), v.get("passed"),
                                                                      v.get("completed_on"))

    def before_import_row(self, row, row_number=None, **kwargs):
        self._seen += 1
        if self.progress is not None and self._seen % 1000 == 0:
            self.progress(self._seen)
        try:
            super().before_import_row(row, row_number=row_number, **kwargs)
        except Exception:
            self._outcome(row_number, "error")
            raise

    # stage two ---------------------------------------------------------------------------------------------

    def existing_instance(self, row) -> ExamResult | None:
        return self._existing.get(self.current["registration"])

    def import_instance(self, instance: ExamResult, row, **kwargs) -> None:
        v = self.current
        if instance.pk is None:
            instance.registration_id = v["registration"]
        instance.score, instance.passed, instance.completed_on = v["score"], v["passed"], v["completed_on"]

    def skip_row(self, instance, original, row, import_validation_errors=None):
        # Decided in the scan, where the stored result was compared with the row anyway.
        return not import_validation_errors and self.current["unchanged"]

    def write(self, instance: ExamResult, is_create: bool, row, *, dry_run: bool) -> None:
        # Where the stored values came from: this upload and row, who uploaded it and when.
        instance.upload = self.upload
        instance.upload_row = self.row_label(self._seen - 1)
        instance.recorded_by = self.user
        instance.recorded_at = self._now
        (self.create_instances if is_create else self.update_instances).append(instance)

    def after_import_row(self, row, row_result, row_number=None, **kwargs):
        self._outcome(row_number, {"new": "new", "update": "updated", "skip": "unchanged"}.get(
            row_result.import_type, row_result.import_type))

    def _outcome(self, row_number: int | None, outcome: str) -> None:
        if len(self.outcomes) >= self.outcome_limit or row_number is None:
            return
        v = self.values[row_number - 1] if row_number - 1 < len(self.values) else {}
        self.outcomes.append({
            "row": self.sheet_row(row_number), "outcome": outcome,
            "id_number": mask_id_number(v.get("id_number", "")), "name": v.get("name", ""),
            "class_code": v.get("class_code", ""), "course_code": v.get("course_code", ""),
            "score": "" if v.get("score") is None else str(v["score"]),
            "passed": {True: "合格", False: "不合格"}.get(v.get("passed"), ""),
            "completed_on": v["completed_on"].isoformat() if isinstance(v.get("completed_on"), datetime.date) else "",
        })

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        try:
            self.flush(dry_run=dry_run)
        except Exception as exc:
            self.handle_import_error(result, exc, raise_errors)

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        self.bulk_create(using_transactions, dry_run, raise_errors, batch_size=batch_size, result=result)

    def flush(self, *, dry_run: bool) -> None:
        created, updated = self.create_instances, self.update_instances
        self.create_instances, self.update_instances = [], []
        self.stats["results_created"] += len(created)
        self.stats["results_updated"] += len(updated)
        if dry_run:
            return
        ExamResult.objects.bulk_create(created)
        ExamResult.objects.bulk_update(updated, ["score", "passed", "completed_on", "upload", "upload_row",
                                                 "recorded_by", "recorded_at"])
