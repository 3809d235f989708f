import time

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "核对学时台账：由明细重新汇总每人每年的学时，与累计表逐项比对。Recompute totals from entries and report drift."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, help="只核对该年度 / only this year")
        parser.add_argument("--show", type=int, default=20, help="最多列出多少条差异")

    def handle(self, *args, year=None, show=20, **options):
        from apps.ledger.selectors import ledger_drift

        started = time.perf_counter()
        checked, drift = ledger_drift(year=year, limit=show)
        seconds = time.perf_counter() - started
        scope = f"{year} 年度" if year else "全部年度"
        if drift:
            for row in drift:
                self.stderr.write(f"  差异 drift: {row}")
            raise CommandError(f"台账核对发现差异（{scope}，核对 {checked} 个人员年度，用时 {seconds:.2f} 秒）"
                               f" / ledger drift found")
        self.stdout.write(self.style.SUCCESS(
            f"台账核对一致：{scope}共 {checked} 个人员年度，无差异（用时 {seconds:.2f} 秒）"
            f" / ledger consistent: {checked} person-years, no drift ({seconds:.2f} s)"))
