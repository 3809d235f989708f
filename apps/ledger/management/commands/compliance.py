import json

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "查询某人某年度的学时达标情况 / show a person's compliance for a year (JSON identical to the API's)"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--id-number", required=True, help="身份证号")
        parser.add_argument("--as-of", help="时点查询日期 YYYY-MM-DD")
        parser.add_argument("--json", action="store_true", help="输出 JSON（与 API 相同）")

    def handle(self, *args, year, id_number, as_of=None, json=False, **options):
        import datetime

        from django.core.exceptions import ValidationError

        from apps.core.errors import DomainError
        from apps.core.identifiers import parse_resident_id
        from apps.ledger.api import compliance_payload
        from apps.personnel.models import Person

        try:
            number = parse_resident_id(id_number).number
        except ValidationError as exc:
            raise CommandError(f"身份证号有误：{exc.messages[0]}") from None
        person = Person.objects.select_related("unit__region__parent__parent").filter(id_number=number).first()
        if person is None:
            raise CommandError(f"未找到身份证号为 {number} 的人员")
        try:
            day = datetime.date.fromisoformat(as_of) if as_of else None
            data = compliance_payload(person, year, day)
        except ValueError:
            raise CommandError("--as-of 日期格式应为 YYYY-MM-DD") from None
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        if json:
            self.stdout.write(_dumps(data))
            return
        self.stdout.write(f"{data['name']}（{data['id_number']}）{year} 年度 · 职称级别 {data['title_level']}")
        self.stdout.write(f"  学时：总 {data['totals']['total']} / 公需 {data['totals']['public']}"
                          f"（必修 {data['totals']['public_required']}）/ 专业 {data['totals']['professional']}")
        self.stdout.write(f"  结论：{'达标' if data['compliant'] else '未达标'} — {data['summary']}")
        for c in data["consequences"]:
            self.stdout.write(f"  限制：{c['message']}")


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
