"""Bulk loading of existing HR records through django-import-export, in two stages.

Stage one reads the whole file and checks every row — each cell, rows against each other (one person on several
rows) and rows against the database — before anything is written, so a clerk gets the complete list of problems
in one go: spreadsheet row (header = row 1), column (the Chinese header) and reason. Stage two writes every row in
one transaction, or none: one bad row leaves the database as it was.

The resources (`apps.orgs.resources`, `apps.personnel.resources`) hold the rules; the admin and the management
commands only drive them. `TwoStageResource` below is the common base: it runs the stage-one scan in
`before_import`, turns the rows it refused into import-export validation errors in `before_import_row`, decides
"unchanged" in `skip_row`, and numbers results by spreadsheet row. `run_import` is the command-line driver:
read the file by extension, check headers, dry run, report, real run.
"""
from __future__ import annotations

import csv
import datetime
import io
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from copy import copy
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import TextChoices
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import resources, widgets
from import_export.formats import base_formats
from import_export.instance_loaders import BaseInstanceLoader
from import_export.results import Error, Result, RowResult

from .errors import DomainError
from .identifiers import ResidentId, parse_credit_code, parse_resident_id

T = TypeVar("T")

# Lookups by a list of keys are split so one query never carries more parameters than SQLite accepts (32766)
# and PostgreSQL plans stay small; 100,000 ID numbers become 50 queries, not 100,000.
LOOKUP_CHUNK = 2000


def chunked(items: Iterable[T], size: int = LOOKUP_CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class ImportFileError(DomainError):
    """The file as a whole cannot be imported (unreadable, wrong format, missing headers). No row was looked at."""

    default_message = gettext_lazy("无法读取导入文件")


# --- reading files -------------------------------------------------------------------------------------------

_SPACES = "\u3000\ufeff\u200b"  # ideographic space, BOM and zero-width space survive copy-paste from Word/WPS


def normalise_header(value: Any) -> str:
    # Templates often mark required columns with an asterisk ("身份证号*"); the column is the same.
    return str(value if value is not None else "").strip().strip(_SPACES).strip().rstrip("*＊").strip()


def normalise_cell(value: Any) -> Any:
    """Strings are stripped, empty cells become "", whole numbers become text.

    Floats that are not small whole numbers are kept as floats on purpose: an 18-digit ID number typed into a
    number-formatted Excel cell has already lost its last digits, and the widget says so instead of guessing.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip().strip(_SPACES).strip()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date() if value.time() == datetime.time() else value
    return value


def _sheet_dataset(headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> tablib.Dataset:
    """A dataset whose row i is spreadsheet row i + 2, blank rows included, each as wide as the header.

    Blank rows are kept here (the resource drops them and remembers the numbering), and cells past the last
    header are cut off: they belong to no column.
    """
    headers = list(headers)
    while headers and (headers[-1] is None or str(headers[-1]).strip() == ""):
        headers.pop()
    width = len(headers)
    dataset = tablib.Dataset()
    dataset.headers = headers or None
    for row in rows:
        row = list(row)[:width]
        dataset.append(row + [""] * (width - len(row)))
    return dataset


_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (CSV/formula injection) is written as text."""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


class NeutralisedExport:
    """Every export we offer (admin exports, reports) writes text cells that start like a formula as text.
    django-import-export's own option only strips a leading "="; "+", "-", "@" run as formulas too."""

    def export_data(self, dataset, **kwargs):
        clean = tablib.Dataset(headers=dataset.headers, title=dataset.title)
        for row in dataset:
            clean.append([neutralise(v) for v in row])
        return super().export_data(clean, **kwargs)


class SheetCSV(NeutralisedExport, base_formats.CSV):
    """CSV (UTF-8, with or without BOM) that keeps blank lines, so row numbers match what the clerk sees."""

    def create_dataset(self, in_stream, **kwargs) -> tablib.Dataset:
        if isinstance(in_stream, bytes):
            in_stream = in_stream.decode(self.encoding or "utf-8-sig")
        reader = csv.reader(io.StringIO(in_stream.removeprefix("\ufeff"), newline=""))
        headers = next(reader, [])
        return _sheet_dataset(headers, reader)


class SheetXLSX(NeutralisedExport, base_formats.XLSX):
    """The first (active) sheet of an .xlsx workbook, cell values as Excel stores them (dates as dates)."""

    def create_dataset(self, in_stream) -> tablib.Dataset:
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(in_stream), read_only=True, data_only=True)
        try:
            rows = book.active.iter_rows(values_only=True)
            headers = next(rows, ())
            return _sheet_dataset(headers, rows)
        finally:
            book.close()


IMPORT_FORMATS = [SheetCSV, SheetXLSX]
_BY_EXTENSION = {".csv": SheetCSV, ".xlsx": SheetXLSX}


def read_dataset(path: str | Path) -> tablib.Dataset:
    """Read a .csv or .xlsx file into a dataset; anything else is refused with a message naming the formats."""
    path = Path(path)
    fmt = _BY_EXTENSION.get(path.suffix.lower())
    if fmt is None:
        raise ImportFileError(_("不支持的文件类型“%(ext)s”：请使用 .xlsx 或 .csv（UTF-8 编码）文件")
                              % {"ext": path.suffix or path.name})
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(_("无法打开文件 %(path)s：%(error)s") % {"path": path, "error": exc.strerror}) from None
    if fmt is SheetCSV:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFileError(
                _("CSV 文件不是 UTF-8 编码：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”后重试")
            ) from None
        return SheetCSV(encoding="utf-8-sig").create_dataset(text)
    try:
        return SheetXLSX().create_dataset(data)
    except Exception as exc:  # openpyxl raises a zoo of exceptions for a damaged or mislabelled file
        raise ImportFileError(_("无法读取 Excel 文件 %(path)s（%(error)s）：请确认是 .xlsx 格式")
                              % {"path": path.name, "error": type(exc).__name__}) from None


# --- widgets: one cell in, one value out (or a Chinese reason) -------------------------------------------------


class TextWidget(widgets.CharWidget):
    def __init__(self, *, required: bool = True, max_length: int | None = None, **kwargs):
        self.required = required
        self.max_length = max_length
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs) -> str:
        text = str(normalise_cell(value))
        if not text and self.required:
            raise ValueError(_("不能为空"))
        if self.max_length and len(text) > self.max_length:
            raise ValueError(_("不能超过 %(n)d 个字符") % {"n": self.max_length})
        return text


class ResidentIdWidget(widgets.CharWidget):
    def parse(self, value) -> ResidentId:
        if isinstance(value, float):
            raise ValueError(_("身份证号单元格是数字格式，末几位已被 Excel 改为 0：请把该列设为文本后重新填写"))
        if normalise_cell(value) == "":
            raise ValueError(_("不能为空"))
        return parse_resident_id(str(normalise_cell(value)))

    def clean(self, value, row=None, **kwargs) -> str:
        return self.parse(value).number


class CreditCodeWidget(widgets.CharWidget):
    def clean(self, value, row=None, **kwargs) -> str:
        if isinstance(value, float):
            raise ValueError(_("统一社会信用代码单元格是数字格式，末几位已被 Excel 改为 0：请把该列设为文本后重新填写"))
        if normalise_cell(value) == "":
            raise ValueError(_("不能为空"))
        return parse_credit_code(str(normalise_cell(value)))


class DateWidget(widgets.Widget):
    FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")

    def __init__(self, *, required: bool = True, **kwargs):
        self.required = required
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs) -> datetime.date | None:
        value = normalise_cell(value)
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        if value == "":
            if self.required:
                raise ValueError(_("不能为空"))
            return None
        for fmt in self.FORMATS:
            try:
                return datetime.datetime.strptime(str(value), fmt).date()
            except ValueError:
                continue
        raise ValueError(_("“%(value)s”不是有效日期，请写成 2016-07-01 的形式") % {"value": value})

    def render(self, value, obj=None, **kwargs):
        if not value:
            return ""
        if kwargs.get("force_native_type"):  # xlsx: a real date cell
            return value
        return value.strftime("%Y-%m-%d")


class YearWidget(widgets.Widget):
    def __init__(self, *, required: bool = True, **kwargs):
        self.required = required
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs) -> int | None:
        text = str(normalise_cell(value))
        if text == "":
            if self.required:
                raise ValueError(_("不能为空"))
            return None
        last = datetime.date.today().year + 1
        if not (text.isdigit() and len(text) == 4 and 1980 <= int(text) <= last):
            raise ValueError(_("“%(value)s”不是有效年度，应为 1980–%(last)d 之间的 4 位年份")
                             % {"value": text, "last": last})
        return int(text)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else (value if kwargs.get("force_native_type") else str(value))


class ChoiceLabelWidget(widgets.Widget):
    """A choice written as its Chinese label (正高级), or as the stored code.

    The labels are the file format, so they are read and written in Chinese whatever the user's language.
    """

    def __init__(self, choices: type[TextChoices], *, required: bool = True, **kwargs):
        with translation.override("zh-hans"):
            self.labels = {choice.value: str(choice.label) for choice in choices}
        self.values = {label: value for value, label in self.labels.items()} | {v: v for v in self.labels}
        self.required = required
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs) -> str:
        text = str(normalise_cell(value))
        if text == "" and not self.required:
            return ""
        if text not in self.values:
            raise ValueError(_("“%(value)s”无效，应为：%(allowed)s")
                             % {"value": text, "allowed": "、".join(self.labels.values())})
        return self.values[text]

    def render(self, value, obj=None, **kwargs):
        return self.labels.get(value, "") if value else ""


# --- results numbered by spreadsheet row -----------------------------------------------------------------------


class SheetResult(Result):
    """A result whose row numbers are spreadsheet rows (header = row 1), blank rows counted, as the clerk sees them."""

    def __init__(self, *args, resource: TwoStageResource | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.resource = resource
        self.stats: dict[str, int] = {}

    def sheet_row(self, number: int | None) -> int | None:
        if number is None:
            return None
        return self.resource.sheet_row(number) if self.resource else number + 1

    def append_invalid_row(self, number, row, validation_error):
        super().append_invalid_row(self.sheet_row(number), row, validation_error)

    def append_error_row(self, number, row, errors):
        super().append_error_row(self.sheet_row(number), row, errors)

    def row_errors(self):
        return [(self.sheet_row(row.errors[0].number) or i + 1, row.errors)
                for i, row in enumerate(self.rows) if row.errors]


class SheetError(Error):
    """An import error; a refusal we raised on purpose (a DomainError) carries no traceback to the admin page."""

    @property
    def traceback(self) -> str:
        return "" if isinstance(self.error, DomainError) else super().traceback


class SheetRowResult(RowResult):
    """A row result that names its record only when asked: str() of a model may translate labels or follow
    relations, and at 100,000 rows nobody reads the names of unchanged records."""

    def __init__(self):
        self._instance_for_repr = None
        self._object_repr = None
        super().__init__()

    def add_instance_info(self, instance):
        if instance is not None:
            self._instance_for_repr = instance

    @property
    def object_id(self):
        return getattr(self._instance_for_repr, "pk", None)

    @object_id.setter
    def object_id(self, value):
        pass  # always read from the instance, which gets its key only when a bulk insert ran

    @property
    def object_repr(self):
        if self._object_repr is None and self._instance_for_repr is not None:
            self._object_repr = str(self._instance_for_repr)
        return self._object_repr

    @object_repr.setter
    def object_repr(self, value):
        self._object_repr = value


class PreloadedInstanceLoader(BaseInstanceLoader):
    """Finds the existing record for a row in what the resource loaded during the scan: no query per row."""

    def get_instance(self, row):
        return self.resource.existing_instance(row)


# --- the two-stage resource ----------------------------------------------------------------------------------


@dataclass
class RowIssue:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("第 %(row)d 行「%(column)s」：%(message)s") % {
            "row": self.row, "column": self.column, "message": self.message}


class TwoStageResource(resources.ModelResource):
    """Base for our import resources. Subclasses declare fields whose column_name is the Chinese header and
    implement `scan(rows)` (stage one), `existing_instance(row)` and `write(...)`.

    `user` is whoever imports: the admin passes request.user and the resource keeps to what that user may see and
    change (`apps.accounts.visibility`); None is the operator at the command line, who may change everything.
    `preview=False` drops import-export's per-row before/after diff, which only the admin preview shows.
    """

    #: headers that must be present; the rest of the declared columns are optional
    required_headers: tuple[str, ...] = ()
    #: fields whose values `skip_row` compares to decide "unchanged" (model attribute names)
    tracked_attributes: tuple[str, ...] = ()

    class Meta:
        use_transactions = True
        instance_loader_class = PreloadedInstanceLoader

    def __init__(self, *, user=None, preview: bool = True, **kwargs):
        super().__init__()
        self.user = user
        if not preview:
            # A per-instance copy: import-export reads self._meta, and the class-level options stay untouched.
            self._meta = copy(type(self)._meta)
            self._meta.skip_diff = True
        self.errors: dict[int, dict[str, list[str]]] = {}
        self.values: list[dict[str, Any]] = []  # cleaned cells of each row, by field name (stage one)
        self.current: dict[str, Any] = {}  # ... of the row being imported (stage two)
        self.stats: dict[str, int] = defaultdict(int)
        self._sheet_rows: list[int] = []
        self._snapshot: dict[str, Any] = {}
        self._new = True

    # stage one ---------------------------------------------------------------------------------------------

    @property
    def columns(self) -> list[str]:
        return [f.column_name for f in self.get_import_fields()]

    def header_problems(self, headers: Sequence[Any] | None) -> list[str]:
        """What is wrong with the header row, as sentences; empty when it is fine."""
        names = [normalise_header(h) for h in headers or ()]
        problems = []
        missing = [h for h in self.required_headers if h not in names]
        if missing:
            problems.append(_("缺少必需的列：%(missing)s（第 1 行须为表头，应包含：%(all)s）")
                            % {"missing": "、".join(missing), "all": "、".join(self.columns)})
        duplicated = sorted({h for h in names if h and names.count(h) > 1 and h in self.columns})
        if duplicated:
            problems.append(_("表头中的列重复：%(cols)s") % {"cols": "、".join(duplicated)})
        return problems

    def unknown_headers(self, headers: Sequence[Any] | None) -> list[str]:
        return [n for n in (normalise_header(h) for h in headers or ()) if n and n not in self.columns]

    def before_import(self, dataset, **kwargs):
        """Stage one: tidy the rows, then check every one of them before the first is written."""
        headers = [normalise_header(h) for h in dataset.headers or ()]
        kept, self._sheet_rows = [], []
        for sheet_row, values in enumerate(dataset, start=2):
            cells = tuple(normalise_cell(v) for v in values)
            if any(c != "" for c in cells):
                kept.append(cells)
                self._sheet_rows.append(sheet_row)
        problems = self.header_problems(headers)
        del dataset[:]
        if problems:
            # No row is imported: without its columns every row would fail for the same reason.
            self._sheet_rows = []
            raise ImportFileError(" ".join(problems))
        dataset.headers = headers or None
        for cells in kept:
            dataset.append(cells)
        self.errors, self.values = {}, []
        self.stats = defaultdict(int)
        if self.user is None:
            # The admin passes its user to import_data too; scope by it even if the resource was built without one.
            self.user = kwargs.get("user")
        try:
            self.scan([dict(zip(headers, cells)) for cells in kept], **kwargs)
        except Exception:
            # The file as a whole was refused (no permission, reference data missing): report that once, not
            # once per row.
            del dataset[:]
            self._sheet_rows = []
            raise

    def scan(self, rows: list[dict[str, Any]], **kwargs) -> None:
        """Check all rows; record each problem with `add_error(index, column, message)` (index 0 = first data
        row) and each row's cleaned cells in `self.values`, which stage two reads as `self.current`."""
        raise NotImplementedError

    def add_error(self, index: int, column: str, message: str) -> None:
        messages = self.errors.setdefault(index, {}).setdefault(column, [])
        if message not in messages:
            messages.append(str(message))

    def clean_cells(self, index: int, row: dict[str, Any], field_names: Iterable[str]) -> dict[str, Any]:
        """Each named field's widget applied to its cell; a refused cell is recorded and left out of the result."""
        values = {}
        for name in field_names:
            fld = self.fields[name]
            try:
                values[name] = fld.widget.clean(row.get(fld.column_name, ""), row=row)
            except ValidationError as exc:
                for message in exc.messages:
                    self.add_error(index, fld.column_name, message)
            except ValueError as exc:
                self.add_error(index, fld.column_name, str(exc))
        return values

    @property
    def row_count(self) -> int:
        """Data rows in the file, blank rows not counted."""
        return len(self._sheet_rows)

    def row_label(self, index: int) -> int:
        """Spreadsheet row of the index-th data row, for messages that point at another row."""
        return self.sheet_row(index + 1)

    def sheet_row(self, number: int) -> int:
        """Spreadsheet row of import-export's row number (1 = first data row after blank rows were dropped)."""
        if 0 < number <= len(self._sheet_rows):
            return self._sheet_rows[number - 1]
        return number + 1

    def get_result_class(self):
        return partial(SheetResult, resource=self)

    @classmethod
    def get_row_result_class(cls):
        return SheetRowResult

    @classmethod
    def get_error_result_class(cls):
        return SheetError

    def before_import_row(self, row, row_number=None, **kwargs):
        # A row refused in stage one never reaches the database; its problems are its validation error, keyed by
        # the Chinese column so the admin and the command name the column the clerk knows.
        problems = self.errors.get(row_number - 1)
        if problems:
            raise ValidationError({column: list(messages) for column, messages in problems.items()})
        # The values stage one parsed for this row, so stage two does not parse them again.
        self.current = self.values[row_number - 1]

    # stage two ---------------------------------------------------------------------------------------------

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None,
                    collect_failed_rows=False, rollback_on_validation_errors=False, **kwargs):
        # All or nothing, whoever calls: the admin's confirm step does not ask for a rollback on validation errors,
        # and a file that is half in the database is worse than one that is not in it at all.
        result = super().import_data(dataset, dry_run=dry_run, raise_errors=raise_errors, use_transactions=True,
                                     collect_failed_rows=collect_failed_rows,
                                     rollback_on_validation_errors=True, **kwargs)
        result.stats = dict(self.stats)
        return result

    def import_instance(self, instance, row, **kwargs):
        # As import-export's, but a refused cell is reported under its column header, whatever the exception.
        errors = {}
        for fld in self.get_import_fields():
            if fld.readonly:
                continue
            try:
                self.import_field(fld, instance, row, **kwargs)
            except (ValueError, ValidationError) as exc:
                errors[fld.column_name] = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        if errors:
            raise ValidationError(errors)

    def after_init_instance(self, instance, new, row, **kwargs):
        # What the record looked like before this row touched it: "unchanged" is judged against it, without the
        # deep copy import-export's own diff makes.
        self._new = new
        self._snapshot = {} if new else {a: getattr(instance, a) for a in self.tracked_attributes}

    def changed(self, instance) -> bool:
        return self._new or any(getattr(instance, a) != v for a, v in self._snapshot.items())

    def skip_row(self, instance, original, row, import_validation_errors=None):
        # Loading the same file twice must change nothing and say so: an existing record the row leaves as it is
        # is "unchanged" (skipped), never rewritten.
        if import_validation_errors:
            return False
        return not self.changed(instance)

    def save_instance(self, instance, is_create, row, **kwargs):
        # Stage one already checked everything the database would refuse, so a dry run (the admin preview, the
        # command's first pass) writes nothing: it only classifies rows as new, updated or unchanged.
        self.write(instance, is_create, row, dry_run=self._is_dry_run(kwargs))

    def write(self, instance, is_create: bool, row, *, dry_run: bool) -> None:
        if not dry_run:
            self.do_instance_save(instance, is_create)

    def after_import(self, dataset, result, **kwargs):
        # import-export resets the primary-key sequence to max(id) after inserts, as loaddata does. Our rows never
        # carry their own keys, so the sequence is already right, and resetting it while another session holds
        # ids drawn from it but not yet committed would hand those ids out twice.
        pass


# --- the command-line driver ---------------------------------------------------------------------------------


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    issues: list[RowIssue] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.issues or self.file_errors)

    @property
    def new(self) -> int:
        return self.totals.get(RowResult.IMPORT_TYPE_NEW, 0)

    @property
    def updated(self) -> int:
        return self.totals.get(RowResult.IMPORT_TYPE_UPDATE, 0)

    @property
    def unchanged(self) -> int:
        return self.totals.get(RowResult.IMPORT_TYPE_SKIP, 0)

    def error_text(self) -> str:
        lines = [*self.file_errors, *(str(i) for i in self.issues)]
        if self.issues:
            bad_rows = len({i.row for i in self.issues})
            lines.append(_("共 %(rows)d 行有错误（%(n)d 处），未导入任何数据。请修改后重新导入。")
                         % {"rows": bad_rows, "n": len(self.issues)})
        else:
            lines.append(_("未导入任何数据。"))
        return "\n".join(lines)


class ImportRejected(Exception):
    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__(report.error_text())


def collect_issues(result: Result) -> tuple[list[RowIssue], list[str]]:
    """Row problems (row, column, reason) and whole-file problems of an import-export result."""
    issues = []
    for invalid in result.invalid_rows:
        for column, messages in invalid.error_dict.items():
            column = "—" if column == NON_FIELD_ERRORS else column
            issues.extend(RowIssue(invalid.number, column, str(m)) for m in messages)
    for number, errors in result.row_errors():
        issues.extend(RowIssue(number, "—", _("无法写入：%(error)s") % {"error": e.error}) for e in errors)
    file_errors = [str(e.error.message) if isinstance(e.error, DomainError)
                   else _("写入数据库失败，已全部撤销：%(error)s") % {"error": e.error} for e in result.base_errors]
    issues.sort(key=lambda i: i.row)
    return issues, file_errors


def run_import(resource_class: type[TwoStageResource], path: str | Path, **resource_kwargs) -> ImportReport:
    """Read the file, check its headers, dry-run every row, and only if all are good import them for real.

    Raises ImportRejected (with the whole report) when the file or any row is bad; nothing is written then.
    """
    started = time.monotonic()
    report = ImportReport(file=str(path))
    try:
        dataset = read_dataset(path)
    except ImportFileError as exc:
        report.file_errors.append(str(exc.message))
        raise ImportRejected(report) from None

    probe = resource_class(**resource_kwargs)
    report.file_errors = probe.header_problems(dataset.headers)
    if report.file_errors:
        raise ImportRejected(report)
    report.ignored_columns = probe.unknown_headers(dataset.headers)
    if not any(normalise_cell(v) != "" for row in dataset for v in row):
        report.file_errors.append(_("文件中没有数据行（第 1 行为表头，数据从第 2 行开始）"))
        raise ImportRejected(report)

    for dry_run in (True, False):
        resource = resource_class(preview=False, **resource_kwargs)
        # The real run gets its own copy: before_import tidies the dataset it is given.
        result = resource.import_data(copy_dataset(dataset), dry_run=dry_run)
        report.issues, report.file_errors = collect_issues(result)
        report.totals = dict(result.totals)
        report.stats = dict(result.stats)
        report.rows = resource.row_count
        if not report.ok:
            raise ImportRejected(report)
    report.seconds = time.monotonic() - started
    return report


def copy_dataset(dataset: tablib.Dataset) -> tablib.Dataset:
    clone = tablib.Dataset()
    clone.headers = list(dataset.headers) if dataset.headers else None
    for row in dataset:
        clone.append(row)
    return clone


def run_import_command(command, resource_class: type[TwoStageResource], path: str, *,
                       stat_labels: dict[str, str] | None = None, **resource_kwargs) -> ImportReport:
    """What the import commands do: run the import, print the summary, or fail with the report (exit 1)."""
    from django.core.management.base import CommandError

    try:
        report = run_import(resource_class, path, **resource_kwargs)
    except ImportRejected as exc:
        raise CommandError(exc.report.error_text(), returncode=1) from None
    out = command.stdout
    if report.ignored_columns:
        out.write(_("已忽略无法识别的列：%(cols)s") % {"cols": "、".join(report.ignored_columns)})
    out.write(command.style.SUCCESS(
        _("导入完成：共 %(rows)d 行，新增 %(new)d 行，更新 %(updated)d 行，未变化 %(unchanged)d 行（用时 %(s).1f 秒）")
        % {"rows": report.rows, "new": report.new, "updated": report.updated, "unchanged": report.unchanged,
           "s": report.seconds}))
    details = [f"{label} {report.stats.get(key, 0)}" for key, label in (stat_labels or {}).items()]
    if details:
        out.write(_("其中：%(details)s") % {"details": "，".join(details)})
    return report
