"""Import and export of employer units (单位): one row per unit, identified by its unified social credit code.

Columns: 单位名称, 统一社会信用代码, 所属区县 (a county of this city by code or name; empty = 市属), 行业.
Used by the Unit admin and by `manage.py import_units`; the two-stage flow is in `apps.core.importing`.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import widgets
from import_export.fields import Field

from apps.core.importing import (
    CreditCodeWidget,
    ImportFileError,
    TextWidget,
    TwoStageResource,
    chunked,
    normalise_cell,
)

from .models import Industry, Region, Unit

# The headers are the file format agreed with the bureaus' HR records, so they are not translated.
NAME = "单位名称"
CREDIT_CODE = "统一社会信用代码"
REGION = "所属区县"
INDUSTRY = "行业"
CITY_AFFILIATED = "市属"


class RegionWidget(widgets.Widget):
    """所属区县: a county of this installation's city, by code (410202) or name (龙亭区); empty (or 市属, or the
    city itself) means a city-affiliated unit, whose region is the city. Regions are read once per import."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.city: Region | None = None
        self._by_key: dict[str, Region] | None = None

    def load(self) -> None:
        code = settings.PORTAL_CITY_CODE
        regions = list(Region.objects.filter(Q(code=code) | Q(parent__code=code, kind=Region.Kind.COUNTY)))
        self.city = next((r for r in regions if r.code == code), None)
        if self.city is None:
            raise ImportFileError(_("系统中没有本市（区划代码 %(code)s）的区划数据，请先加载区划后再导入单位")
                                  % {"code": code})
        self.counties = [r for r in regions if r is not self.city]
        self._by_key = {"": self.city, CITY_AFFILIATED: self.city}
        for region in regions:
            self._by_key[region.code] = region
            self._by_key[region.name] = region

    def clean(self, value, row=None, **kwargs) -> Region:
        if self._by_key is None:
            self.load()
        region = self._by_key.get(str(normalise_cell(value)))
        if region is None:
            raise ValueError(_("“%(value)s”不是%(city)s的区县：可填 %(choices)s（代码或名称），市属单位留空")
                             % {"value": normalise_cell(value), "city": self.city.name,
                                "choices": "、".join(f"{r.name}（{r.code}）" for r in self.counties)})
        return region

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return "" if value.kind == Region.Kind.CITY else value.name


class IndustryWidget(widgets.Widget):
    """行业 by its name (卫生) or code (health); an unknown one is refused with the list of allowed names."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._by_key: dict[str, Industry] | None = None
        self._names: list[str] = []

    def load(self) -> None:
        industries = list(Industry.objects.order_by("pk"))
        self._names = [i.name for i in industries]
        self._by_key = {i.code: i for i in industries} | {i.name: i for i in industries}

    def clean(self, value, row=None, **kwargs) -> Industry:
        if self._by_key is None:
            self.load()
        text = str(normalise_cell(value))
        if text == "":
            raise ValueError(_("不能为空"))
        industry = self._by_key.get(text)
        if industry is None:
            raise ValueError(_("行业“%(value)s”不存在，应为：%(allowed)s")
                             % {"value": text, "allowed": "、".join(self._names)})
        return industry

    def render(self, value, obj=None, **kwargs):
        return value.name if value is not None else ""


def assignable_region_ids(user) -> set[int] | None:
    """Regions in which this user may register units; None means anywhere (system administrator, command line)."""
    if user is None:
        return None
    from apps.accounts import visibility  # accounts sits above orgs: imported when used, not at load time

    if not visibility.can_add(user, Unit):
        return set()
    if user.role == "system_admin":
        return None
    return set(visibility.assignable(user, Region).values_list("pk", flat=True))


class UnitResource(TwoStageResource):
    name = Field(attribute="name", column_name=NAME, widget=TextWidget(max_length=200))
    credit_code = Field(attribute="credit_code", column_name=CREDIT_CODE, widget=CreditCodeWidget())
    region = Field(attribute="region", column_name=REGION, widget=RegionWidget())
    industry = Field(attribute="industry", column_name=INDUSTRY, widget=IndustryWidget())

    required_headers = (NAME, CREDIT_CODE, REGION, INDUSTRY)
    tracked_attributes = ("name", "region_id", "industry_id")

    class Meta:
        model = Unit
        name = gettext_lazy("单位")
        fields = ("name", "credit_code", "region", "industry")
        import_order = fields
        export_order = fields
        import_id_fields = ("credit_code",)

    def get_queryset(self):
        qs = Unit.objects.select_related("region", "industry")
        if self.user is None:
            return qs
        from apps.accounts import visibility

        return visibility.visible(self.user, qs)

    def scan(self, rows: list[dict[str, Any]], **kwargs) -> None:
        self.fields["region"].widget.load()
        self.fields["industry"].widget.load()
        allowed = assignable_region_ids(self.user)
        if allowed is not None and not allowed:
            raise ImportFileError(_("您没有导入单位的权限"))

        first_row_of: dict[str, int] = {}
        for index, row in enumerate(rows):
            values = self.clean_cells(index, row, ("name", "credit_code", "region", "industry"))
            self.values.append(values)
            code = values.get("credit_code")
            if code in first_row_of:
                self.add_error(index, CREDIT_CODE, _("与第 %(row)d 行的统一社会信用代码重复：每个单位只能占一行")
                               % {"row": self.row_label(first_row_of[code])})
            elif code:
                first_row_of[code] = index
            region = values.get("region")
            if region is not None and allowed is not None and region.pk not in allowed:
                self.add_error(index, REGION, _("“%(region)s”不在您的管辖范围内，不能在此登记单位")
                               % {"region": region.name})

        self._existing: dict[str, Unit] = {}
        for batch in chunked(first_row_of):
            self._existing.update((u.credit_code, u) for u in Unit.objects.filter(credit_code__in=batch))
        if self.user is not None and self._existing:
            from apps.accounts import visibility

            visible: set[int] = set()
            for batch in chunked([u.pk for u in self._existing.values()]):
                visible.update(visibility.visible(self.user, Unit).filter(pk__in=batch).values_list("pk", flat=True))
            for code, unit in self._existing.items():
                if unit.pk not in visible:
                    self.add_error(first_row_of[code], CREDIT_CODE,
                                   _("该统一社会信用代码已登记为您管辖范围以外的单位，不能由您修改"))

    def existing_instance(self, row) -> Unit | None:
        return self._existing.get(self.current["credit_code"])

    def write(self, instance: Unit, is_create: bool, row, *, dry_run: bool) -> None:
        super().write(instance, is_create, row, dry_run=dry_run)
        self._existing[instance.credit_code] = instance
        self.stats["units_created" if is_create else "units_updated"] += 1
