import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.identifiers import mask_id_number, parse_resident_id, validate_resident_id


class TitleLevel(models.TextChoices):
    """Professional title levels, highest first. R2 groups senior and intermediate; R3 is junior."""

    SENIOR_FULL = "senior_full", _("正高级")
    SENIOR_DEPUTY = "senior_deputy", _("副高级")
    INTERMEDIATE = "intermediate", _("中级")
    JUNIOR = "junior", _("初级")

    @classmethod
    def rank(cls, level: str) -> int:
        """Higher is more senior: junior 1 … senior_full 4."""
        return {cls.JUNIOR: 1, cls.INTERMEDIATE: 2, cls.SENIOR_DEPUTY: 3, cls.SENIOR_FULL: 4}[level]

    @classmethod
    def is_senior(cls, level: str) -> bool:
        return level in (cls.SENIOR_FULL, cls.SENIOR_DEPUTY)


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Person(models.Model):
    """A professional (专业技术人员). Gender and birth date are derived from the ID number when it is set."""

    id_number = models.CharField(_("身份证号"), max_length=18, unique=True, validators=[validate_resident_id])
    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("出生日期"))
    # No index of its own: the (unit, name) index below serves lookups by unit.
    unit = models.ForeignKey("orgs.Unit", models.PROTECT, related_name="people", verbose_name=_("单位"),
                             db_index=False)
    title_series = models.CharField(_("职称系列"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("专业技术人员")
        verbose_name_plural = _("专业技术人员")
        ordering = ["id"]
        indexes = [models.Index(fields=["unit", "name"])]

    def __str__(self) -> str:
        return f"{self.name}（{self.masked_id}）"

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)

    def clean_fields(self, exclude=None) -> None:
        # Derive before the fields are validated, so gender and birth date always agree with the ID number;
        # an invalid number is left as it is for the field validator to report.
        self.derive_from_id_number()
        super().clean_fields(exclude)

    def clean(self) -> None:
        self.derive_from_id_number()

    def derive_from_id_number(self) -> None:
        try:
            rid = parse_resident_id(self.id_number)
        except ValidationError:
            return
        self.id_number, self.gender, self.birth_date = rid.number, rid.gender, rid.birth_date


class TitleHolding(models.Model):
    """One title a person obtained (取得). The history is the sequence of holdings by date: each is in force from
    its date until the next one starts. Two holdings on the same date would overlap, which the unique key refuses.
    The level for a year is the one in force on 31 December (DOMAIN.md)."""

    # No index of its own: the unique (person, obtained_on) key serves lookups by person.
    person = models.ForeignKey(Person, models.CASCADE, related_name="titles", verbose_name=_("人员"),
                               db_index=False)
    level = models.CharField(_("职称级别"), max_length=20, choices=TitleLevel.choices)
    series = models.CharField(_("职称系列"), max_length=50, blank=True)
    obtained_on = models.DateField(_("取得日期"))

    class Meta:
        verbose_name = _("职称记录")
        verbose_name_plural = _("职称记录")
        ordering = ["person", "obtained_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "obtained_on"], name="title_one_per_person_and_date",
                violation_error_message=_("职称记录重叠：该人员在同一日期已有一个职称"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()}（{self.obtained_on:%Y-%m-%d}）"


class PromotionApplication(models.Model):
    """An application to move up a title level in a year; R5 decides which CE counts for it."""

    person = models.ForeignKey(Person, models.CASCADE, related_name="promotions", verbose_name=_("人员"))
    from_level = models.CharField(_("现级别"), max_length=20, choices=TitleLevel.choices)
    to_level = models.CharField(_("拟晋升级别"), max_length=20, choices=TitleLevel.choices)
    year = models.PositiveSmallIntegerField(_("申报年度"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("晋升申报")
        verbose_name_plural = _("晋升申报")
        ordering = ["-year", "person"]
        constraints = [
            models.UniqueConstraint(fields=["person", "year"], name="promotion_one_per_person_year",
                                    violation_error_message=_("该人员本年度已有晋升申报")),
            models.CheckConstraint(condition=~models.Q(from_level=models.F("to_level")),
                                   name="promotion_changes_level"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.get_from_level_display()}→{self.get_to_level_display()}"

    def clean(self) -> None:
        if self.from_level and self.to_level and TitleLevel.rank(self.to_level) <= TitleLevel.rank(self.from_level):
            raise ValidationError({"to_level": _("拟晋升级别须高于现级别")})


def year_end(year: int) -> datetime.date:
    return datetime.date(year, 12, 31)
