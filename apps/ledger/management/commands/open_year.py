from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "为某年度建立每位持证人员的年度学时行（公布年度政策后运行；可重复运行）/ open a year for everyone"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)

    def handle(self, *args, year: int, **options):
        from apps.ledger.services import year_open

        rows = year_open(year=year)
        self.stdout.write(self.style.SUCCESS(f"{year} 年度已开启：新建或更正 {rows} 行 / year opened: {rows} rows"))
