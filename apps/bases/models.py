from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class TrainingBase(models.Model):
    """继续教育基地 (B1–B5). `region` is where it sits: the city for a city-level base, its county otherwise.

    The approved scope says which subjects and which title levels it may train; a base works only inside it (B5).
    """

    class Kind(models.TextChoices):
        FACE_TO_FACE = "face_to_face", _("面授基地")
        ONLINE = "online", _("网络基地")

    class Level(models.TextChoices):
        CITY = "city", _("市级")
        COUNTY = "county", _("县级")

    code = models.SlugField(_("基地代码"), max_length=30, unique=True)
    name = models.CharField(_("基地名称"), max_length=100, unique=True)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices)
    region = models.ForeignKey("orgs.Region", models.PROTECT, related_name="bases", verbose_name=_("所在区划"))
    approved_by = models.ForeignKey("orgs.Region", models.PROTECT, related_name="approved_bases",
                                    verbose_name=_("批准机关"))
    approved_on = models.DateField(_("批准日期"), null=True, blank=True)
    serves_public = models.BooleanField(_("承担公需科目"), default=True)
    serves_professional = models.BooleanField(_("承担专业科目"), default=False)
    serves_senior = models.BooleanField(_("培训高级职称人员"), default=False)
    serves_intermediate = models.BooleanField(_("培训中级职称人员"), default=True)
    serves_junior = models.BooleanField(_("培训初级职称人员"), default=True)
    is_active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("继续教育基地")
        verbose_name_plural = _("继续教育基地")
        ordering = ["level", "code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.region_id:
            return
        expected = "city" if self.level == self.Level.CITY else "county"
        if self.region.kind != expected:
            raise ValidationError({"region": _("%(level)s基地的所在区划须为%(kind)s") % {
                "level": self.get_level_display(), "kind": _("市") if expected == "city" else _("县（区）")}})

    def serves_level(self, level: str) -> bool:
        from apps.personnel.models import TitleLevel

        return {
            TitleLevel.SENIOR_FULL: self.serves_senior,
            TitleLevel.SENIOR_DEPUTY: self.serves_senior,
            TitleLevel.INTERMEDIATE: self.serves_intermediate,
            TitleLevel.JUNIOR: self.serves_junior,
        }[level]


class CountyDelegation(models.Model):
    """B4: a county without a base of its own delegates its trainees to a city-level base."""

    county = models.ForeignKey("orgs.Region", models.PROTECT, related_name="delegations", verbose_name=_("县（区）"))
    base = models.ForeignKey(TrainingBase, models.PROTECT, related_name="delegations", verbose_name=_("受托基地"))
    since = models.DateField(_("起始日期"))
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("县区委托")
        verbose_name_plural = _("县区委托")
        ordering = ["county", "base"]
        constraints = [models.UniqueConstraint(fields=["county", "base"], name="delegation_once_per_pair",
                                               violation_error_message=_("该县（区）已委托此基地"))]

    def __str__(self) -> str:
        return f"{self.county} → {self.base}"

    def clean(self) -> None:
        errors = {}
        if self.base_id and self.base.level != TrainingBase.Level.CITY:
            errors["base"] = _("只能委托给市级基地（B4）：%(base)s 是县级基地") % {"base": self.base.name}
        if self.county_id and self.county.kind != "county":
            errors["county"] = _("委托方须为县（区）：%(region)s 不是县（区）") % {"region": self.county.name}
        if errors:
            raise ValidationError(errors)
