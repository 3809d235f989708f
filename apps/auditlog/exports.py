"""The filtered audit log as .xlsx or .csv: (filename, content_type, bytes), like every export of the portal.

Cells that start like a formula are written as text (the core import formats): a typed username such as
"=HYPERLINK(...)" from a failed login must not run in the reader's spreadsheet.
"""
import json

import tablib
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.importing import SheetCSV, SheetXLSX

from .models import Action

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")
MAX_ROWS = 100_000  # one workbook; more means the filters are too wide to read anyway


def _headers() -> list[str]:
    return [_("时间"), _("用户名"), _("角色"), _("操作"), _("操作对象"), _("对象类型"), _("对象编号"),
            _("来源地址"), _("浏览器标识"), _("详情")]


def events_file(events: QuerySet, fmt: str) -> tuple[str, str, bytes]:
    labels = dict(Action.choices)
    dataset = tablib.Dataset(headers=_headers(), title=str(_("操作日志")))
    for e in events.iterator(chunk_size=2000):
        dataset.append([timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"), e.username, e.role_label,
                        str(labels.get(e.action, e.action)), e.target, e.target_type, e.target_id, e.ip or "",
                        e.user_agent, json.dumps(e.details, ensure_ascii=False, cls=DjangoJSONEncoder)])
    stem = f"auditlog-{timezone.localtime():%Y%m%d-%H%M%S}"
    if fmt == "csv":
        # With a BOM: Excel opens UTF-8 Chinese text correctly only when the file says so.
        return f"{stem}.csv", CSV_TYPE, ("\ufeff" + SheetCSV().export_data(dataset)).encode("utf-8")
    return f"{stem}.xlsx", XLSX_TYPE, SheetXLSX().export_data(dataset)
