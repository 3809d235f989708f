"""manage.py import_units FILE — load employer units from an .xlsx or .csv file (all rows or none)."""
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from apps.core.importing import run_import_command
from apps.orgs.resources import UnitResource


class Command(BaseCommand):
    # argparse needs plain strings, so the help is translated when the command is loaded, not lazily.
    help = _("从 .xlsx 或 .csv（UTF-8）文件导入单位。列：单位名称、统一社会信用代码、所属区县（代码或名称，留空为市属）、"
             "行业。先检查全部行，有任何错误则逐行报告且不导入；再次导入同一文件不会产生变化。")

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("要导入的 .xlsx 或 .csv 文件"))

    def handle(self, *args, file: str, **options) -> None:
        run_import_command(self, UnitResource, file, stat_labels={
            "units_created": _("新建单位"),
            "units_updated": _("更新单位"),
        })
