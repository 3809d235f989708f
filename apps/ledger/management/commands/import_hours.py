"""manage.py import_hours FILE — migrate historical hours from the existing platforms into the ledger."""
import hashlib
from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from apps.core.importing import run_import_command
from apps.ledger.resources import HourEntryResource


class Command(BaseCommand):
    help = _("从 .xlsx 或 .csv（UTF-8）文件导入历史学时。列：身份证号、姓名、年度、类别（公需必修/公需选修/专业科目）、"
             "学时、完成日期，可选课程代码、课程名称、基地、主办层级（省/市/县）。先检查全部行，有任何错误则逐行报告且不导入；"
             "再次导入同一文件不会重复计入学时。")

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("要导入的 .xlsx 或 .csv 文件"))

    def handle(self, *args, file: str, **options) -> None:
        path = Path(file)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        run_import_command(self, HourEntryResource, file, stat_labels={"entries_created": _("计入台账的学时记录")},
                           file_name=path.name, file_sha256=digest)
