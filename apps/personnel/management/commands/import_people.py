"""manage.py import_people FILE — load professionals with their title history and promotion applications."""
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from apps.core.importing import run_import_command
from apps.personnel.resources import PersonTitleResource


class Command(BaseCommand):
    # argparse needs plain strings, so the help is translated when the command is loaded, not lazily.
    help = _("从 .xlsx 或 .csv（UTF-8）文件导入专业技术人员及其职称记录。每行为某人取得的一个职称，列：身份证号、姓名、"
             "单位统一社会信用代码、职称系列、职称级别、取得日期，可选拟晋升级别、申报年度。先检查全部行，有任何错误则"
             "逐行报告且不导入；再次导入同一文件不会产生变化。")

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("要导入的 .xlsx 或 .csv 文件"))

    def handle(self, *args, file: str, **options) -> None:
        run_import_command(self, PersonTitleResource, file, stat_labels={
            "people_created": _("新建人员"),
            "people_updated": _("更新人员"),
            "titles_created": _("新增职称记录"),
            "titles_updated": _("更正职称记录"),
            "promotions_created": _("新增晋升申报"),
            "promotions_updated": _("更正晋升申报"),
        })
