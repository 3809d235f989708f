"""What bases and units do before the bureau reviews (W1–W4, B2–B6): classes, registrations, exam results,
online completions, and the submissions that carry them to the city bureau.

Nothing here is official: hours become official only when the bureau endorses a submission item (the review
app writes the ledger then). A result or completion enters at most one submission item (unique keys), so no
hours can be reported — or counted — twice.
"""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.catalog.models import ActivityKind


class TrainingClass(models.Model):
    """班次: a scheduled run of a catalogue course at a base."""

    class Status(models.TextChoices):
        OPEN = "open", _("报名中")
        CLOSED = "closed", _("已截止")
        CANCELLED = "cancelled", _("已取消")

    base = models.ForeignKey("bases.TrainingBase", models.PROTECT, related_name="classes", verbose_name=_("基地"))
    course = models.ForeignKey("catalog.Course", models.PROTECT, related_name="classes", verbose_name=_("课程"))
    code = models.CharField(_("班次编号"), max_length=40)
    year = models.PositiveSmallIntegerField(_("年度"))
    starts_on = models.DateField(_("开班日期"))
    ends_on = models.DateField(_("结业日期"))
    place = models.CharField(_("培训地点"), max_length=200, blank=True)
    capacity = models.PositiveIntegerField(_("名额"))
    fee = models.DecimalField(_("收费标准（元/人）"), max_digits=8, decimal_places=2, default=0)
    # R5 depends on who organised the training: the base's level, or the county bureau for W4 classes.
    organiser = models.CharField(_("主办层级"), max_length=10, choices=[("city", _("市级")), ("county", _("县级"))])
    organised_by = models.ForeignKey("orgs.Region", models.PROTECT, related_name="classes",
                                     verbose_name=_("主办机关"))
    registration_deadline = models.DateField(_("报名截止日期"))
    plan = models.ForeignKey("catalog.IndustryPlan", models.PROTECT, null=True, blank=True, related_name="classes",
                             verbose_name=_("行业专业科目计划"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    registered = models.PositiveIntegerField(_("已报名人数"), default=0,
                                             help_text=_("由报名服务在锁定班次后维护"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("班次")
        verbose_name_plural = _("班次")
        ordering = ["-starts_on", "code"]
        constraints = [
            models.UniqueConstraint(fields=["base", "code"], name="class_code_unique_per_base",
                                    violation_error_message=_("本基地已有相同编号的班次")),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="class_capacity_positive"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="class_ends_after_start"),
            # The database itself refuses an overbooked class, whatever a bug above it does.
            models.CheckConstraint(condition=Q(registered__lte=F("capacity")), name="class_not_overbooked"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.course.title}"

    @property
    def seats_left(self) -> int:
        return self.capacity - self.registered


class Registration(models.Model):
    class Channel(models.TextChoices):
        UNIT = "unit", _("单位统一报名")
        SELF = "self", _("个人报名")
        COUNTY = "county", _("县（区）人社局组织")

    training_class = models.ForeignKey(TrainingClass, models.PROTECT, related_name="registrations",
                                       verbose_name=_("班次"))
    person = models.ForeignKey("personnel.Person", models.PROTECT, related_name="registrations",
                               verbose_name=_("人员"))
    unit = models.ForeignKey("orgs.Unit", models.PROTECT, related_name="registrations", verbose_name=_("单位"))
    channel = models.CharField(_("报名方式"), max_length=10, choices=Channel.choices, default=Channel.UNIT)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+",
                                      verbose_name=_("报名人"))
    created_at = models.DateTimeField(_("报名时间"), default=timezone.now)

    class Meta:
        verbose_name = _("报名")
        verbose_name_plural = _("报名")
        ordering = ["training_class", "id"]
        constraints = [models.UniqueConstraint(fields=["training_class", "person"], name="registration_once",
                                               violation_error_message=_("该人员已报名此班次"))]

    def __str__(self) -> str:
        return f"{self.person} → {self.training_class.code}"


class ExamResult(models.Model):
    """成绩 of one registered person in one class (person + course + class is the key: the registration)."""

    registration = models.OneToOneField(Registration, models.PROTECT, related_name="result",
                                        verbose_name=_("报名"))
    score = models.DecimalField(_("成绩"), max_digits=5, decimal_places=1, null=True, blank=True)
    passed = models.BooleanField(_("是否合格"))
    completed_on = models.DateField(_("完成日期"), null=True, blank=True)
    upload = models.ForeignKey("ResultUpload", models.PROTECT, null=True, blank=True, related_name="results",
                               verbose_name=_("上传批次"))
    upload_row = models.PositiveIntegerField(_("上传行号"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    recorded_at = models.DateTimeField(_("录入时间"), default=timezone.now)

    class Meta:
        verbose_name = _("考试成绩")
        verbose_name_plural = _("考试成绩")
        constraints = [models.CheckConstraint(condition=Q(passed=False) | Q(completed_on__isnull=False),
                                              name="result_pass_has_date",
                                              violation_error_message=_("合格的成绩须有完成日期"))]

    def __str__(self) -> str:
        return f"{self.registration} {'合格' if self.passed else '不合格'}"


class ResultUpload(models.Model):
    """An uploaded results file, from dry run to confirmation; large files are processed by a worker."""

    class Status(models.TextChoices):
        CHECKING = "checking", _("检查中")
        CHECKED = "checked", _("已检查，待确认")
        IMPORTING = "importing", _("导入中")
        DONE = "done", _("已导入")
        REJECTED = "rejected", _("有错误，未导入")
        FAILED = "failed", _("处理失败")

    base = models.ForeignKey("bases.TrainingBase", models.PROTECT, related_name="uploads", verbose_name=_("基地"))
    file = models.FileField(_("文件"), upload_to="uploads/results/%Y/%m/")
    file_name = models.CharField(_("文件名"), max_length=255)
    sha256 = models.CharField(_("文件摘要"), max_length=64)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.CHECKING)
    total_rows = models.PositiveIntegerField(_("行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理"), default=0)
    new_rows = models.PositiveIntegerField(_("新增"), default=0)
    unchanged_rows = models.PositiveIntegerField(_("未变化"), default=0)
    error_rows = models.PositiveIntegerField(_("错误行"), default=0)
    report = models.JSONField(_("检查结果"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(_("上传时间"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("成绩上传")
        verbose_name_plural = _("成绩上传")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.file_name


class OnlineCompletion(models.Model):
    """A course completion reported by the online platform (W1), once per platform record."""

    base = models.ForeignKey("bases.TrainingBase", models.PROTECT, related_name="completions",
                             verbose_name=_("网络基地"))
    platform_record_id = models.CharField(_("平台记录号"), max_length=64)
    person = models.ForeignKey("personnel.Person", models.PROTECT, related_name="completions",
                               verbose_name=_("人员"))
    course = models.ForeignKey("catalog.Course", models.PROTECT, related_name="completions", verbose_name=_("课程"))
    hours = models.DecimalField(_("学时"), max_digits=5, decimal_places=1)
    completed_on = models.DateField(_("完成日期"))
    passed = models.BooleanField(_("是否合格"), default=True)
    request_id = models.CharField(_("请求号"), max_length=64, blank=True)
    received_at = models.DateTimeField(_("接收时间"), default=timezone.now)

    class Meta:
        verbose_name = _("网络学习完成记录")
        verbose_name_plural = _("网络学习完成记录")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["base", "platform_record_id"], name="completion_once_per_record"),
            models.CheckConstraint(condition=Q(hours__gt=0), name="completion_hours_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.platform_record_id} {self.person_id}"


class Submission(models.Model):
    """A batch of passed results and completions a base reports to the city bureau (W1, W2)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已上报")

    base = models.ForeignKey("bases.TrainingBase", models.PROTECT, related_name="submissions", verbose_name=_("基地"))
    number = models.CharField(_("批次号"), max_length=40, unique=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                     related_name="+")
    submitted_at = models.DateTimeField(_("上报时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("上报批次")
        verbose_name_plural = _("上报批次")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number


class SubmissionItem(models.Model):
    """One passed result or completion in a submission: the learning record (学习档案) and the qualification
    certificate (合格证书) the base issued for it. Exactly one source; a source appears in one item only."""

    submission = models.ForeignKey(Submission, models.PROTECT, related_name="items", verbose_name=_("上报批次"))
    person = models.ForeignKey("personnel.Person", models.PROTECT, related_name="submission_items",
                               verbose_name=_("人员"))
    course = models.ForeignKey("catalog.Course", models.PROTECT, related_name="+", verbose_name=_("课程"))
    result = models.OneToOneField(ExamResult, models.PROTECT, null=True, blank=True, related_name="item")
    completion = models.OneToOneField(OnlineCompletion, models.PROTECT, null=True, blank=True, related_name="item")
    hours = models.DecimalField(_("学时"), max_digits=5, decimal_places=1)
    completed_on = models.DateField(_("完成日期"))
    organiser = models.CharField(_("主办层级"), max_length=10)
    learning_record_no = models.CharField(_("学习档案编号"), max_length=40, unique=True)
    certificate_no = models.CharField(_("合格证书编号"), max_length=40, unique=True)
    status = models.CharField(_("审核状态"), max_length=10, default="pending",
                              choices=[("pending", _("待审核")), ("endorsed", _("已认证")), ("returned", _("已退回"))])

    class Meta:
        verbose_name = _("上报明细")
        verbose_name_plural = _("上报明细")
        ordering = ["submission", "id"]
        constraints = [models.CheckConstraint(
            condition=(Q(result__isnull=False) & Q(completion__isnull=True))
            | (Q(result__isnull=True) & Q(completion__isnull=False)), name="item_has_one_source")]

    def __str__(self) -> str:
        return f"{self.submission.number} · {self.certificate_no}"


class ReviewDecision(models.Model):
    """Every review decision on a submission item — who, when, what, why — kept as a row of its own, never edited.
    An endorsement points to the ledger entry it wrote."""

    class Outcome(models.TextChoices):
        ENDORSED = "endorsed", _("认证")
        RETURNED = "returned", _("退回")

    item = models.ForeignKey(SubmissionItem, models.PROTECT, related_name="decisions", verbose_name=_("上报明细"))
    outcome = models.CharField(_("结论"), max_length=10, choices=Outcome.choices)
    reason = models.CharField(_("原因"), max_length=500, blank=True)
    entry = models.OneToOneField("ledger.HourEntry", models.PROTECT, null=True, blank=True, related_name="decision",
                                 verbose_name=_("学时记录"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+",
                                   verbose_name=_("审核人"))
    decided_at = models.DateTimeField(_("审核时间"), default=timezone.now)

    class Meta:
        verbose_name = _("审核决定")
        verbose_name_plural = _("审核决定")
        ordering = ["-decided_at"]
        constraints = [models.CheckConstraint(condition=Q(outcome="endorsed") | ~Q(reason=""),
                                              name="decision_return_has_reason")]

    def __str__(self) -> str:
        return f"{self.item} {self.get_outcome_display()}"


class ActivityReport(models.Model):
    """A self-reported activity (学时申报) with its evidence: checked by the person's unit, then recognised by the
    city bureau with the hours the year's policy sets for its kind (one ledger entry), or returned with a reason."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("待单位审核")
        CHECKED = "checked", _("待主管部门认定")
        RECOGNISED = "recognised", _("已认定")
        RETURNED = "returned", _("已退回")

    person = models.ForeignKey("personnel.Person", models.PROTECT, related_name="activity_reports",
                               verbose_name=_("人员"))
    year = models.PositiveSmallIntegerField(_("年度"))
    kind = models.CharField(_("申报类型"), max_length=20, choices=ActivityKind.choices)
    title = models.CharField(_("活动名称"), max_length=200)
    activity_date = models.DateField(_("活动日期"))
    evidence = models.FileField(_("证明材料"), upload_to="evidence/%Y/", max_length=200)
    evidence_name = models.CharField(_("原文件名"), max_length=200)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(_("申报时间"), default=timezone.now)
    unit_checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name=_("单位审核人"))
    unit_checked_at = models.DateTimeField(_("单位审核时间"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("认定/退回人"))
    decided_at = models.DateTimeField(_("认定/退回时间"), null=True, blank=True)
    reason = models.CharField(_("退回原因"), max_length=500, blank=True)
    hours = models.DecimalField(_("认定学时"), max_digits=5, decimal_places=1, null=True, blank=True)

    class Meta:
        verbose_name = _("学时申报")
        verbose_name_plural = _("学时申报")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(status="returned") | ~Q(reason=""),
                                   name="activity_return_has_reason"),
            models.CheckConstraint(condition=Q(status="recognised", hours__gt=0)
                                   | (~Q(status="recognised") & Q(hours__isnull=True)),
                                   name="activity_hours_only_when_recognised"),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.title}"
