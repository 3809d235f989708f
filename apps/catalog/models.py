"""The year's policy and the course catalogue. Every figure of the 2016 document is data here (R8)."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.personnel.models import TitleLevel



class Category(models.TextChoices):
    PUBLIC_REQUIRED = "public_required", _("公需科目（必修）")
    PUBLIC_ELECTIVE = "public_elective", _("公需科目（选修）")
    PROFESSIONAL = "professional", _("专业科目")

    @classmethod
    def public(cls) -> tuple[str, str]:
        return (cls.PUBLIC_REQUIRED, cls.PUBLIC_ELECTIVE)


class Mode(models.TextChoices):
    ONLINE = "online", _("网络培训")
    FACE_TO_FACE = "face_to_face", _("面授培训")


class YearPolicy(models.Model):
    """One jurisdiction's CE policy for one natural year (R1–R8)."""

    year = models.PositiveSmallIntegerField(_("年度"))
    region = models.ForeignKey("orgs.Region", models.PROTECT, related_name="policies", verbose_name=_("适用区划"))
    title = models.CharField(_("文件名称"), max_length=200, blank=True)
    minutes_per_hour = models.PositiveSmallIntegerField(_("每学时分钟数"), default=45)
    hours_per_credit = models.DecimalField(_("每学分折合学时"), max_digits=5, decimal_places=2, default=Decimal("1"),
                                           validators=[MinValueValidator(Decimal("0.01"))])
    registration_deadline = models.DateField(_("面授报名截止日期"), null=True, blank=True)
    # B6: training is paid at one uniform standard; empty when the year's policy sets none.
    fee_standard = models.DecimalField(_("统一收费标准（元/人）"), max_digits=8, decimal_places=2, null=True,
                                       blank=True)
    # R5: which organising levels count for a promotion into a senior title.
    promotion_min_level = models.CharField(_("晋升副高及以上须参加的培训层级"), max_length=10, default="city",
                                           choices=[("province", _("省级")), ("city", _("市级及以上"))])

    class Meta:
        verbose_name = _("年度政策")
        verbose_name_plural = _("年度政策")
        ordering = ["-year", "region"]
        constraints = [models.UniqueConstraint(fields=["year", "region"], name="policy_one_per_year_region")]

    def __str__(self) -> str:
        return f"{self.region} {self.year} 年度继续教育政策"


class PolicyRequirement(models.Model):
    """Minimum hours for one title level in a year (R1–R4). `professional_hours` is off (null) unless a year sets it."""

    policy = models.ForeignKey(YearPolicy, models.CASCADE, related_name="requirements", verbose_name=_("年度政策"))
    level = models.CharField(_("职称级别"), max_length=20, choices=TitleLevel.choices)
    total_hours = models.DecimalField(_("总学时"), max_digits=5, decimal_places=1)
    public_hours = models.DecimalField(_("公需科目学时"), max_digits=5, decimal_places=1)
    public_required_hours = models.DecimalField(_("其中必修学时"), max_digits=5, decimal_places=1)
    professional_hours = models.DecimalField(_("专业科目学时"), max_digits=5, decimal_places=1, null=True, blank=True)

    class Meta:
        verbose_name = _("学时要求")
        verbose_name_plural = _("学时要求")
        ordering = ["policy", "level"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "level"], name="requirement_one_per_level"),
            models.CheckConstraint(
                condition=models.Q(public_required_hours__lte=models.F("public_hours"))
                & models.Q(public_hours__lte=models.F("total_hours"))
                & models.Q(public_required_hours__gte=0),
                name="requirement_parts_within_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()}：{self.total_hours}/{self.public_hours}/{self.public_required_hours}"


class Course(models.Model):
    code = models.CharField(_("课程代码"), max_length=30)
    title = models.CharField(_("课程名称"), max_length=200)
    category = models.CharField(_("类别"), max_length=20, choices=Category.choices)
    hours = models.DecimalField(_("学时"), max_digits=5, decimal_places=1)
    credits = models.DecimalField(_("学分"), max_digits=5, decimal_places=1, default=Decimal("0"))
    mode = models.CharField(_("培训方式"), max_length=20, choices=Mode.choices)
    year = models.PositiveSmallIntegerField(_("年度"))
    industry = models.ForeignKey("orgs.Industry", models.PROTECT, null=True, blank=True, related_name="courses",
                                 verbose_name=_("行业（专业科目）"))
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("课程")
        verbose_name_plural = _("课程")
        ordering = ["year", "category", "code"]
        constraints = [
            models.UniqueConstraint(fields=["year", "code"], name="course_code_unique_per_year"),
            models.CheckConstraint(condition=models.Q(hours__gt=0), name="course_hours_positive"),
            models.CheckConstraint(
                condition=models.Q(category="professional") | models.Q(industry__isnull=True),
                name="course_industry_only_for_professional",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class IndustryPlan(models.Model):
    """A professional-subject plan an industry department files with the bureau before it runs (W3, R12)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        FILED = "filed", _("已报备，待确认")
        ACKNOWLEDGED = "acknowledged", _("已备案")
        RETURNED = "returned", _("已退回")

    department = models.ForeignKey("orgs.IndustryDepartment", models.PROTECT, related_name="plans",
                                   verbose_name=_("行业主管部门"))
    title = models.CharField(_("计划名称"), max_length=200)
    year = models.PositiveSmallIntegerField(_("年度"))
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    courses = models.ManyToManyField(Course, related_name="plans", verbose_name=_("专业科目课程"), blank=True)
    status = models.CharField(_("状态"), max_length=15, choices=Status.choices, default=Status.DRAFT)
    return_reason = models.CharField(_("退回原因"), max_length=500, blank=True)
    filed_at = models.DateTimeField(_("报备时间"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("处理人"))

    class Meta:
        verbose_name = _("行业专业科目计划")
        verbose_name_plural = _("行业专业科目计划")
        ordering = ["-year", "department"]
        constraints = [models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")),
                                              name="plan_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.year} {self.title}"


class ActivityKind(models.TextChoices):
    """Self-reported activities (学时申报) a year's policy may credit with a set number of hours."""

    CONFERENCE = "conference", _("学术会议")
    DEGREE = "degree", _("学历（学位）教育")
    RESEARCH = "research", _("科研项目")
    PUBLICATION = "publication", _("论文著作")
    TRAINING = "training", _("其他培训")


class ActivityHours(models.Model):
    """Hours one self-reported activity of a kind is worth in a year: policy data, set by the bureau."""

    policy = models.ForeignKey(YearPolicy, models.CASCADE, related_name="activity_hours", verbose_name=_("年度政策"))
    kind = models.CharField(_("申报类型"), max_length=20, choices=ActivityKind.choices)
    hours = models.DecimalField(_("认定学时"), max_digits=5, decimal_places=1,
                                validators=[MinValueValidator(Decimal("0.5"))])

    class Meta:
        verbose_name = _("申报学时标准")
        verbose_name_plural = _("申报学时标准")
        ordering = ["policy", "kind"]
        constraints = [models.UniqueConstraint(fields=["policy", "kind"], name="activity_hours_one_per_kind"),
                       models.CheckConstraint(condition=models.Q(hours__gt=0), name="activity_hours_positive")]

    def __str__(self) -> str:
        return f"{self.policy} · {self.get_kind_display()} {self.hours}"
