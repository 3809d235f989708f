"""Every table of the county report and of the city dashboard as .xlsx (django-import-export, with the formats
that write formula-like text as text) and as an A4 PDF (WeasyPrint). Each export returns
(filename, content_type, bytes).

The tables are built from the same selectors as the pages, with the same filters and sort, but unpaginated; a PDF
stops after PDF_MAX_ROWS rows and says so (a county's full list of people belongs in the spreadsheet).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import tablib
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export.formats import base_formats

from apps.core.errors import DomainError
from apps.core.importing import NeutralisedExport
from apps.ledger import selectors as ledger
from apps.ledger.compliance import fmt
from apps.orgs.models import Region

from . import selectors
from .selectors import Filters

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_TYPE = "application/pdf"
PDF_MAX_ROWS = 500  # WeasyPrint lays out ~50–100 table rows a second here: 500 rows is ~15 pages, a few seconds
COUNTY_TABLES = ("units", "levels", "people", "histogram", "trend")
CITY_TABLES = ("counties", "bases", "plans", "snapshots")


class ReportXLSX(NeutralisedExport, base_formats.XLSX):
    """Cells starting with = + - @ are written as text: a unit or person name is never run as a formula."""


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    numeric: set[int] = field(default_factory=set)  # column indexes aligned right in the PDF
    subtitle: str = ""


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def hours(value) -> str:
    return "—" if value is None else fmt(selectors._dec(value).quantize(Decimal("0.1")))


# --- county tables --------------------------------------------------------------------------------------------


def county_table(*, key: str, county: Region, year: int, filters: Filters, full_id: bool) -> Table:
    subtitle = f"{county.name} · {year}"
    if filters.level:
        subtitle += f" · {selectors.TitleLevel(filters.level).label}"
    try:
        policy = ledger.policy_for(year=year, region=county)
    except DomainError as exc:  # the file says why it is empty, as the page does
        return Table(key, _("提示"), [_("说明")], [[str(exc.message)]], subtitle=subtitle)
    if key == "units":
        units, _totals = selectors.county_units(county=county, year=year, policy=policy, filters=filters,
                                                limit=None)
        return Table(key, _("各单位达标情况"),
                     [_("单位"), _("人数"), _("达标"), _("未达标"), _("达标率"), _("人均学时")],
                     [[u["name"], u["people"], u["compliant"], u["noncompliant"], percent(u["rate"]),
                       hours(u["avg_hours"])] for u in units],
                     numeric={1, 2, 3, 4, 5}, subtitle=subtitle)
    if key in ("levels", "histogram", "trend"):
        report = selectors.county_report(county=county, year=year, filters=filters, people_page=False)
    if key == "levels":
        return Table(key, _("各职称级别达标情况"), [_("职称级别"), _("人数"), _("达标"), _("未达标"), _("达标率")],
                     [[lv["label"], lv["people"], lv["compliant"], lv["noncompliant"], percent(lv["rate"])]
                      for lv in report.levels], numeric={1, 2, 3, 4}, subtitle=subtitle)
    if key == "histogram":
        return Table(key, _("全年学时分布"), [_("学时区间"), _("人数")],
                     [[b["label"], b["people"]] for b in report.histogram], numeric={1}, subtitle=subtitle)
    if key == "trend":
        return Table(key, _("历年达标率"), [_("年度"), _("人数"), _("达标"), _("达标率"), _("来源")],
                     [[t["year"], t["people"], t["compliant"], percent(t["rate"]),
                       _("年度考核") if t["source"] == "audit" else _("实时计算")] for t in report.trend],
                     numeric={1, 2, 3}, subtitle=subtitle)
    if key == "people":
        people, _n = selectors.noncompliant_people(county=county, year=year, policy=policy, filters=filters,
                                                   limit=None)
        return Table(key, _("未达标人员及缺口"),
                     [_("姓名"), _("身份证号"), _("单位"), _("职称级别"), _("总学时"), _("公需科目"), _("其中必修"),
                      _("专业科目"), _("缺口")],
                     [[p["name"], p["id_number"] if full_id else p["masked_id"], p["unit_name"], p["level_label"],
                       hours(p["total"]), hours(p["public"]), hours(p["public_required"]), hours(p["professional"]),
                       p["shortfall"]] for p in people],
                     numeric={4, 5, 6, 7}, subtitle=subtitle)
    raise KeyError(key)


# --- city tables ----------------------------------------------------------------------------------------------


def city_table(*, key: str, city: Region, year: int) -> Table:
    subtitle = f"{city.name} · {year}"
    if key == "counties":
        rows, _problem = selectors.counties_side_by_side(city=city, year=year)
        return Table(key, _("各县（区）达标情况"),
                     [_("县（区）"), _("人数"), _("达标"), _("达标率"), _("公需达标率"), _("人均学时"), _("考核排名")],
                     [[r["name"], r["people"], r["compliant"], percent(r["rate"]), percent(r["met_public"]),
                       hours(r["avg_hours"]), r["rank"] or "—"] for r in rows], numeric={1, 2, 3, 4, 5, 6},
                     subtitle=subtitle)
    if key == "bases":
        rows = selectors.bases_throughput(city=city, year=year)
        return Table(key, _("培训基地工作量"),
                     [_("基地"), _("类型"), _("面授报名"), _("网络学习完成"), _("考核人数"), _("合格"), _("合格率"),
                      _("待审核明细"), _("待审核批次"), _("最久等待（天）")],
                     [[r["name"], r["kind"], r["registrations"], r["online"], r["examined"], r["passed"],
                       percent(r["pass_rate"]), r["pending_items"], r["pending_batches"],
                       "—" if r["age_days"] is None else r["age_days"]] for r in rows],
                     numeric=set(range(2, 10)), subtitle=subtitle)
    if key == "plans":
        plans = selectors.plans_summary(city=city, year=year)
        rows = [[s["label"], s["count"], "", ""] for s in plans["statuses"]]
        rows += [[_("待确认：%(title)s") % {"title": p["title"]}, "", p["department"],
                  "—" if p["age_days"] is None else p["age_days"]] for p in plans["pending"]]
        return Table(key, _("行业专业科目计划报备"), [_("状态 / 计划"), _("数量"), _("行业主管部门"), _("已等待（天）")],
                     rows, numeric={1, 3}, subtitle=subtitle)
    if key == "snapshots":
        rows, _matrix, _years = selectors.audit_snapshots(city=city)
        return Table(key, _("年度考核快照"), [_("年度"), _("状态"), _("人数"), _("达标"), _("达标率"), _("数据截至")],
                     [[r["year"], r["status"], r["people"], r["compliant"], percent(r["rate"]),
                       timezone.localtime(r["as_of"]).strftime("%Y-%m-%d %H:%M") if r["as_of"] else "—"]
                      for r in rows], numeric={2, 3, 4}, subtitle=city.name)
    raise KeyError(key)


# --- formats --------------------------------------------------------------------------------------------------


def to_xlsx(table: Table, stem: str) -> tuple[str, str, bytes]:
    dataset = tablib.Dataset(headers=table.headers, title=table.title[:31])
    for row in table.rows:
        dataset.append(row)
    return f"{stem}.xlsx", XLSX_TYPE, ReportXLSX().export_data(dataset)


def to_pdf(table: Table, stem: str) -> tuple[str, str, bytes]:
    from weasyprint import HTML  # loaded on use: WeasyPrint (Pango, fonts) is heavy for every other request

    rows = table.rows[:PDF_MAX_ROWS]
    html = render_to_string("reports/table_pdf.html", {
        "table": table, "rows": rows, "truncated": len(table.rows) > PDF_MAX_ROWS, "total_rows": len(table.rows),
        "limit": PDF_MAX_ROWS, "generated": timezone.localtime(), "numeric": table.numeric})
    return f"{stem}.pdf", PDF_TYPE, HTML(string=html).write_pdf()


def export(table: Table, stem: str, fmt_: str) -> tuple[str, str, bytes]:
    return to_xlsx(table, stem) if fmt_ == "xlsx" else to_pdf(table, stem)
