"""Exam results upload by a base (W2): store the file, check it (a dry run), then confirm it (the real run).

`upload_check` refuses a file it cannot read at all (type, size, empty, not really a workbook, wrong headers)
before storing anything; otherwise it stores the file as a ResultUpload and runs the dry run of
`ExamResultResource`, whose counts (new / updated / unchanged / error), first row outcomes and every error
[row, column, reason] go into `report`. `upload_confirm` runs the import again for real in one transaction, all rows
or none, and only for an upload that was checked without errors; confirming twice changes nothing.

Files of more than ASYNC_ROWS rows are checked and imported by a Celery task (`apps.enrollment.tasks`), so the
request returns at once and the page polls `upload_progress`. Progress lives in the cache while a run is going: the
run itself is inside a transaction (rolled back for the dry run), so counters written to the upload row would only
become visible when it is over. The row gets total_rows at the start and processed_rows at the end.
"""
from __future__ import annotations

import csv
import datetime
import hashlib
import io
import logging
import re
import zipfile
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import jobs
from apps.core.errors import DomainError
from apps.core.identifiers import mask_id_number
from django.utils.translation import gettext_lazy
from import_export.results import RowResult

from apps.core.importing import SheetCSV, SheetXLSX, _sheet_dataset, collect_issues, neutralise, normalise_cell

from .models import ResultUpload
from .resources import COLUMNS, ID_NUMBER, ExamResultResource

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
ASYNC_ROWS = 2000  # above this many data rows, check and import run in a worker
PROGRESS_EVERY = 1000
SHOWN_ROWS = 200  # row outcomes kept in the report for the check page
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_MESSAGE = "单元格含公式，请粘贴为数值"
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")


class UploadRefused(DomainError):
    """The file cannot be checked at all; nothing was stored."""

    default_message = gettext_lazy("无法读取上传的文件")


# --- reading ----------------------------------------------------------------------------------------------------


def _probe(name: str, data: bytes) -> int | None:
    """Refuse what is not a readable results file, cheaply (header row only). Returns the data rows as far as
    they can be told without reading the file (None: unknown)."""
    ext = Path(name).suffix.lower()
    if ext not in (".xlsx", ".csv"):
        raise UploadRefused(_("不支持的文件类型“%(ext)s”：请上传 .xlsx 或 .csv（UTF-8 编码）文件")
                            % {"ext": ext or name}, field="file")
    if not data:
        raise UploadRefused(_("文件是空的（0 字节）：请选择填好的成绩表"), field="file")
    if len(data) > MAX_BYTES:
        raise UploadRefused(_("文件超过 20 MB：请分成几个文件上传"), field="file")
    if ext == ".xlsx":
        headers, rows = _probe_xlsx(data)
    else:
        headers, rows = _probe_csv(data)
    probe = ExamResultResource(base=None)
    problems = probe.header_problems(headers)
    if problems:
        raise UploadRefused(" ".join(problems), field="file")
    if rows == 0:
        raise UploadRefused(_("文件中没有数据行（第 1 行为表头，数据从第 2 行开始）"), field="file")
    return rows


def _probe_xlsx(data: bytes) -> tuple[list[Any], int | None]:
    not_xlsx = _("文件不是有效的 Excel 工作簿（.xlsx）：可能是其他格式的文件改了扩展名。请在 Excel 中“另存为”.xlsx 后重新上传")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if "xl/workbook.xml" not in zf.namelist():
                raise UploadRefused(not_xlsx, field="file")
    except zipfile.BadZipFile:
        raise UploadRefused(not_xlsx, field="file") from None
    try:
        info: dict[str, Any] = {}
        headers, rows = _fast_xlsx_rows(data, max_rows=2, info=info)
        # Whether there is a data row is read; how many, the sheet's dimension tag says (None: not written).
        return headers, info.get("rows") if rows else 0
    except Exception:
        pass
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises a zoo of exceptions for a damaged workbook
        raise UploadRefused(not_xlsx, field="file") from None
    try:
        sheet = book.active
        headers = list(next(sheet.iter_rows(max_row=1, values_only=True), ()))
        max_row = sheet.max_row  # from the sheet's dimension tag; None when the writer left it out
    finally:
        book.close()
    return headers, None if max_row is None else max(max_row - 1, 0)


def _probe_csv(data: bytes) -> tuple[list[Any], int]:
    if b"\x00" in data[:8192]:
        raise UploadRefused(_("文件不是文本格式的 CSV：可能是其他格式的文件改了扩展名"), field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRefused(_("CSV 文件不是 UTF-8 编码：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”后重试"),
                            field="file") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    headers = next(reader, [])
    rows = sum(1 for row in reader if any(c.strip() for c in row))
    return headers, rows


def _read(name: str, data: bytes):
    """The whole active sheet as a dataset, and the formula cells found in it as [row, column, reason]."""
    if Path(name).suffix.lower() == ".csv":
        return SheetCSV(encoding="utf-8-sig").create_dataset(data.decode("utf-8-sig")), []
    try:
        headers, rows = _fast_xlsx_rows(data)
        dataset = _sheet_dataset(headers, rows)
    except Exception:  # anything unusual (strict OOXML, a chart sheet…): the reader every import uses
        log.info("fast xlsx reader gave up, reading with openpyxl", exc_info=True)
        dataset = SheetXLSX().create_dataset(data)
    return dataset, _formula_cells(data, dataset.headers or [])


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_C, _V, _T, _R, _SI, _ROW, _IS, _DIMENSION = (_NS + t for t in ("c", "v", "t", "r", "si", "row", "is",
                                                                 "dimension"))


def _fast_xlsx_rows(data: bytes, *, max_rows: int | None = None,
                    info: dict[str, Any] | None = None) -> tuple[list[Any], list[list[Any]]]:
    """The active sheet's rows, values as openpyxl's read-only, data-only reader gives them (dates by the cell's
    number format, blank rows kept), about three times faster: openpyxl spends ~100 µs a row in Python per cell,
    which is 10 s of a 100,000-row upload. openpyxl still reads the workbook's structure and styles; only the
    shared strings and the sheet XML are walked here, with ElementTree's C parser."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.utils.cell import column_index_from_string
    from openpyxl.utils.datetime import from_excel
    from openpyxl.xml.constants import SHARED_STRINGS

    reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
    reader.read_manifest()
    reader.read_workbook()
    apply_stylesheet(reader.archive, reader.wb)
    wb = reader.wb
    sheets = [rel for _sheet, rel in reader.parser.find_sheets() if rel.target in reader.valid_files]
    target = sheets[wb._active_sheet_index]
    if "worksheet" not in target.Type:
        raise ValueError("the active sheet is not a worksheet")
    dates, timedeltas, epoch = wb._date_formats, wb._timedelta_formats, wb.epoch

    strings: list[str] = []
    ct = reader.package.find(SHARED_STRINGS)
    if ct is not None:
        with reader.archive.open(ct.PartName[1:]) as src:
            for _event, node in iterparse(src):
                if node.tag == _SI:
                    parts = []
                    for child in node:  # text and rich-text runs; phonetic runs (rPh) are not the cell's text
                        if child.tag == _T:
                            parts.append(child.text or "")
                        elif child.tag == _R:
                            t = child.find(_T)
                            parts.append(t.text or "" if t is not None else "")
                    strings.append("".join(parts).replace("x005F_", ""))
                    node.clear()

    rows: list[list[Any]] = []
    cells: dict[int, Any] = {}
    column = 0
    with reader.archive.open(target.target) as src:
        for _event, node in iterparse(src):
            tag = node.tag
            if tag == _C:
                ref = node.get("r")
                column = column_index_from_string(ref.rstrip("0123456789")) if ref else column + 1
                kind = node.get("t", "n")
                if kind == "inlineStr":
                    box = node.find(_IS)
                    value = "".join(t.text or "" for t in box.iter(_T)) if box is not None else None
                else:
                    v = node.find(_V)
                    text = v.text if v is not None else None
                    if text is None:
                        value = None
                    elif kind == "s":
                        value = strings[int(text)]
                    elif kind == "n":
                        value = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
                        style = int(node.get("s", 0))
                        if style in dates:
                            value = from_excel(value, epoch, timedelta=style in timedeltas)
                    elif kind == "b":
                        value = text == "1"
                    elif kind in ("str", "e"):
                        value = text
                    else:  # "d" (ISO dates) and anything newer: let openpyxl decide
                        raise ValueError(f"cell type {kind!r}")
                cells[column] = value
                node.clear()
            elif tag == _ROW:
                number = int(node.get("r") or len(rows) + 1)
                while len(rows) < number - 1:
                    rows.append([])  # rows the writer left out are blank rows in the sheet
                rows.append([cells.get(k) for k in range(1, max(cells) + 1)] if cells else [])
                cells, column = {}, 0
                node.clear()
                if max_rows is not None and len(rows) >= max_rows:
                    break
            elif tag == _DIMENSION and info is not None:
                last = (node.get("ref") or "").rpartition(":")[2].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                info["rows"] = max(int(last) - 1, 0) if last.isdigit() else None
    reader.archive.close()
    if not rows:
        return [], []
    width = max(len(r) for r in rows)  # as openpyxl: every row as wide as the widest, empty cells None
    for r in rows:
        if len(r) < width:
            r.extend([None] * (width - len(r)))
    return rows[0], rows[1:]


def _formula_cells(data: bytes, headers: list[Any]) -> list[list[Any]]:
    """Cells holding a formula. With data_only a formula without a cached value reads as empty, and one with a
    cached value may be stale, so the clerk is asked to paste values. The raw sheet XML is searched first: the
    second, formula-aware read happens only for the rare file that has any."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if not any(_FORMULA.search(zf.read(n)) for n in zf.namelist()
                   if n.startswith("xl/worksheets/") and n.endswith(".xml")):
            return []
    import openpyxl

    names = [str(normalise_cell(h)) for h in headers]
    found = []
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        for row in book.active.iter_rows():
            for cell in row:
                if getattr(cell, "data_type", None) == "f":
                    col = cell.column - 1
                    column = names[col] if col < len(names) and names[col] else cell.column_letter
                    found.append([cell.row, column, FORMULA_MESSAGE])
    finally:
        book.close()
    return found


# --- progress ---------------------------------------------------------------------------------------------------


def _progress_key(upload_id: int) -> str:
    return f"enrollment:result-upload:{upload_id}:processed"


def _progress_callback(upload_id: int):
    def report(processed: int) -> None:
        cache.set(_progress_key(upload_id), processed, 24 * 3600)
    return report


def upload_progress(upload: ResultUpload) -> dict[str, Any]:
    """What the progress page polls: status, rows done of rows in all."""
    processed = upload.processed_rows
    if upload.status in (ResultUpload.Status.CHECKING, ResultUpload.Status.IMPORTING):
        processed = cache.get(_progress_key(upload.pk), 0)
    total = upload.total_rows
    return {"status": upload.status, "status_label": str(upload.get_status_display()), "processed": processed,
            "total": total, "percent": min(100, round(100 * processed / total)) if total else 0,
            "finished": upload.status not in (ResultUpload.Status.CHECKING, ResultUpload.Status.IMPORTING)}


# --- check ------------------------------------------------------------------------------------------------------


def upload_check(*, base, file, user) -> ResultUpload:
    """Store the file and check it (dry run). A file of more than ASYNC_ROWS rows is checked by a worker."""
    name = Path(getattr(file, "name", "") or "upload").name
    size = getattr(file, "size", None)
    if size is not None and size > MAX_BYTES:  # refused before reading 20 MB+ into memory
        raise UploadRefused(_("文件超过 20 MB：请分成几个文件上传"), field="file")
    data = file.read()
    rows = _probe(name, data)
    upload = ResultUpload(base=base, file_name=name[:255], sha256=hashlib.sha256(data).hexdigest(),
                          status=ResultUpload.Status.CHECKING, total_rows=rows or 0, created_by=user)
    upload.file.save(name, ContentFile(data), save=False)
    upload.save()
    if rows is None or rows > ASYNC_ROWS:
        from . import tasks

        # After commit: a worker must find the upload row.
        # A broker that is down leaves it CHECKING; apps.portal.tasks sends it again (apps/core/jobs.py).
        transaction.on_commit(lambda: jobs.send(tasks.check_result_upload, (upload.pk,)))
        return upload
    return upload_run_check(upload_id=upload.pk)


def upload_run_check(*, upload_id: int) -> ResultUpload:
    """The dry run of a stored upload (inline or in the task). Runs once: a retried task finds it done."""
    upload = ResultUpload.objects.select_related("base", "created_by").get(pk=upload_id)
    if upload.status != ResultUpload.Status.CHECKING:
        return upload
    try:
        outcome = _run(upload, user=upload.created_by, dry_run=True)
    except Exception:
        log.exception("checking result upload %s failed", upload_id)
        ResultUpload.objects.filter(pk=upload_id).update(status=ResultUpload.Status.FAILED)
        upload.refresh_from_db()
        return upload
    _store(upload, outcome, ok_status=ResultUpload.Status.CHECKED)
    return upload


def _run(upload: ResultUpload, *, user, dry_run: bool) -> dict[str, Any]:
    """Read the stored file and run the resource; returns what the report keeps."""
    snapshot = (upload.report or {}).get("snapshot")
    try:
        if not dry_run and snapshot:
            with upload.file.storage.open(snapshot, "rb") as fh:
                dataset, formulas = _read("snapshot.csv", fh.read())
        else:
            with upload.file.open("rb") as fh:
                data = fh.read()
            dataset, formulas = _read(upload.file_name, data)
            snapshot = _save_snapshot(upload, dataset) if dry_run and not formulas and upload.file_name.lower(
            ).endswith(".xlsx") else None
    except Exception:
        log.exception("reading result upload %s failed", upload.pk)
        return {"file_errors": [_("无法读取文件：请确认是 .xlsx 或 UTF-8 编码的 .csv 文件")], "errors": [], "rows": [],
                "counts": {}, "total": 0, "error_values": {}}
    total = len(dataset)  # blank rows included; the resource's row_count replaces it when the run is over
    ResultUpload.objects.filter(pk=upload.pk).update(total_rows=total)
    upload.total_rows = total
    if formulas:
        return {"file_errors": [], "errors": formulas, "rows": [], "counts": {"error": len({f[0] for f in formulas})},
                "total": total, "error_values": {}}
    resource = ExamResultResource(base=upload.base, user=user, upload=upload, lock=not dry_run, preview=False,
                                  progress=_progress_callback(upload.pk), outcome_limit=SHOWN_ROWS)
    result = resource.import_data(dataset, dry_run=dry_run)
    issues, file_errors = collect_issues(result)
    bad_rows = {i.row for i in issues}
    error_values = {}
    if bad_rows:
        for index, sheet_row in enumerate(resource._sheet_rows):
            if sheet_row in bad_rows:
                error_values[str(sheet_row)] = _json_cells(dataset.headers or [], dataset[index])
    totals = result.totals
    return {
        "file_errors": file_errors,
        "errors": [[i.row, i.column, i.message] for i in issues],
        "rows": resource.outcomes,
        "counts": {"new": totals.get(RowResult.IMPORT_TYPE_NEW, 0),
                   "updated": totals.get(RowResult.IMPORT_TYPE_UPDATE, 0),
                   "unchanged": totals.get(RowResult.IMPORT_TYPE_SKIP, 0),
                   "error": len(bad_rows)},
        "total": resource.row_count or total,
        "error_values": error_values,
        "snapshot": snapshot,
    }


def _save_snapshot(upload: ResultUpload, dataset) -> str:
    """The checked workbook's cells as CSV beside it, so the confirmation re-runs the import on exactly what was
    checked without parsing the workbook again (openpyxl needs ~10 s for 100,000 rows; this file ~0.5 s). Blank rows
    are kept, so row numbers stay those of the workbook; dates are written as the widget would read them."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["" if h is None else str(h) for h in dataset.headers or []])
    for row in dataset:
        writer.writerow([_snapshot_cell(v) for v in row])
    return upload.file.storage.save(f"{upload.file.name}.checked.csv", ContentFile(out.getvalue().encode("utf-8")))


def _snapshot_cell(value: Any) -> str:
    value = normalise_cell(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()  # what DateWidget makes of it
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _json_cells(headers: list[str], cells) -> list[str]:
    """A refused row's cells in the order of COLUMNS (the file may order its columns otherwise), for the error
    workbook; the ID number masked — the row number finds it in the clerk's own file."""
    by_column = dict(zip(headers, cells))
    out = []
    for column in COLUMNS:
        value = by_column.get(column)
        if isinstance(value, (datetime.date, datetime.datetime)):
            value = value.isoformat()
        text = "" if value is None else str(value)
        if column == ID_NUMBER and len(text) > 10:
            text = mask_id_number(text)
        out.append(text)
    return out


def _store(upload: ResultUpload, outcome: dict[str, Any], *, ok_status: str) -> None:
    counts = {"new": 0, "updated": 0, "unchanged": 0, "error": 0} | outcome["counts"]
    failed = bool(outcome["errors"] or outcome["file_errors"])
    upload.status = ResultUpload.Status.REJECTED if failed else ok_status
    upload.total_rows = outcome["total"]
    upload.processed_rows = outcome["total"]
    upload.new_rows, upload.unchanged_rows, upload.error_rows = counts["new"], counts["unchanged"], counts["error"]
    upload.report = {"counts": counts, "rows": outcome["rows"], "errors": outcome["errors"],
                     "file_errors": outcome["file_errors"], "error_values": outcome["error_values"],
                     "snapshot": outcome.get("snapshot") or (upload.report or {}).get("snapshot")}
    upload.save(update_fields=["status", "total_rows", "processed_rows", "new_rows", "unchanged_rows",
                               "error_rows", "report", "confirmed_at"])
    cache.delete(_progress_key(upload.pk))


# --- confirm ----------------------------------------------------------------------------------------------------


def upload_confirm(*, upload_id: int, user) -> ResultUpload:
    """Write a checked upload's results: all rows in one transaction, or none. Confirming a confirmed (or
    importing) upload again changes nothing."""
    with transaction.atomic():
        upload = ResultUpload.objects.select_for_update().select_related("base").get(pk=upload_id)
        if upload.status in (ResultUpload.Status.DONE, ResultUpload.Status.IMPORTING):
            return upload
        if upload.status != ResultUpload.Status.CHECKED or upload.error_rows or upload.report.get("errors"):
            raise DomainError(_("只有检查通过、没有错误的上传才能确认导入（当前状态：%(status)s）")
                              % {"status": upload.get_status_display()}, code="not_checked")
        upload.status = ResultUpload.Status.IMPORTING
        upload.save(update_fields=["status"])
        if upload.total_rows > ASYNC_ROWS:
            from . import tasks

            user_id = user.pk if user else None
            transaction.on_commit(lambda: jobs.send(tasks.import_result_upload, (upload.pk, user_id)))
            return upload
        _import_locked(upload, user)
    return upload


def upload_run_import(*, upload_id: int, user_id: int | None) -> ResultUpload:
    """The real run of a confirmed upload, in the worker. Runs once: a retried task finds it done."""
    from apps.accounts.models import User

    user = User.objects.filter(pk=user_id).first() if user_id else None
    try:
        with transaction.atomic():
            upload = ResultUpload.objects.select_for_update().select_related("base").get(pk=upload_id)
            if upload.status != ResultUpload.Status.IMPORTING:
                return upload
            _import_locked(upload, user)
    except Exception:
        log.exception("importing result upload %s failed", upload_id)
        ResultUpload.objects.filter(pk=upload_id).update(status=ResultUpload.Status.FAILED)
        upload = ResultUpload.objects.get(pk=upload_id)
    return upload


def _import_locked(upload: ResultUpload, user) -> None:
    """The real run, inside the caller's transaction with the upload row locked. Should the database have changed
    since the check so that a row is now refused (a result submitted meanwhile), nothing is written and the upload
    shows the new errors."""
    outcome = None
    try:
        with transaction.atomic():
            outcome = _run(upload, user=user, dry_run=False)
            if outcome["errors"] or outcome["file_errors"]:
                raise _Rejected
    except _Rejected:
        pass
    upload.confirmed_at = None if outcome["errors"] or outcome["file_errors"] else timezone.now()
    _store(upload, outcome, ok_status=ResultUpload.Status.DONE)


class _Rejected(Exception):
    """Rolls back the import's savepoint."""


# --- error workbook ---------------------------------------------------------------------------------------------

def errors_xlsx(upload: ResultUpload) -> tuple[str, str, bytes]:
    """The upload's errors as a workbook: row, column, reason, then the row's cells as uploaded."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(_("错误清单"))
    sheet.append([_("行号"), _("列"), _("原因"), *COLUMNS])
    report = upload.report or {}
    for message in report.get("file_errors", []):
        sheet.append(["—", "—", neutralise(str(message))])
    values = report.get("error_values", {})
    written = set()
    for row, column, reason in report.get("errors", []):
        cells = values.get(str(row), []) if row not in written else []
        written.add(row)
        sheet.append([row, neutralise(column), neutralise(reason), *(neutralise(c) for c in cells)])
    out = io.BytesIO()
    book.save(out)
    stem = Path(upload.file_name).stem or "upload"
    return f"{stem}_错误清单.xlsx", XLSX_TYPE, out.getvalue()
