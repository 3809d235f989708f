from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.identifiers import validate_credit_code


class Region(models.Model):
    """An administrative division (GB/T 2260) whose HR bureau runs CE: a province, a city or a county/district.

    A bureau is identified with its region: the city bureau holds the city, a county bureau its county.
    """

    class Kind(models.TextChoices):
        PROVINCE = "province", _("省")
        CITY = "city", _("市")
        COUNTY = "county", _("县（区）")

    code = models.CharField(_("区划代码"), max_length=6, unique=True,
                            validators=[RegexValidator(r"^[0-9]{6}$", _("区划代码须为 6 位数字"))])
    name = models.CharField(_("名称"), max_length=50)
    kind = models.CharField(_("级别"), max_length=10, choices=Kind.choices)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name=_("上级区划"))

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def bureau_name(self) -> str:
        return f"{self.name}人力资源和社会保障局"


class Industry(models.Model):
    code = models.SlugField(_("代码"), max_length=30, unique=True)
    name = models.CharField(_("行业"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("行业")
        verbose_name_plural = _("行业")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class IndustryDepartment(models.Model):
    """行业主管部门: plans professional subjects for its industry and files them with the bureau (W3, R12)."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    industry = models.ForeignKey(Industry, models.PROTECT, related_name="departments", verbose_name=_("行业"))
    region = models.ForeignKey(Region, models.PROTECT, related_name="departments", verbose_name=_("所属区划"))

    class Meta:
        verbose_name = _("行业主管部门")
        verbose_name_plural = _("行业主管部门")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    """An employer (企事业单位). `region` is its county, or the city itself for a city-affiliated (市属) unit."""

    name = models.CharField(_("单位名称"), max_length=200)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True,
                                   validators=[validate_credit_code])
    region = models.ForeignKey(Region, models.PROTECT, related_name="units", verbose_name=_("所属区县"))
    industry = models.ForeignKey(Industry, models.PROTECT, related_name="units", verbose_name=_("行业"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["name"]
        indexes = [models.Index(fields=["region", "name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_city_affiliated(self) -> bool:
        return self.region.kind == Region.Kind.CITY
