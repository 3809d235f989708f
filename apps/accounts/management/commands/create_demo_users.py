"""python manage.py create_demo_users [--password P]: one demo login per role (idempotent).

Run after `loaddata kaifeng_2016` and `seed_demo`: the unit admin and the trainee belong to seeded rows. Running
again updates the same users (role, organisation, password) and creates nothing new.
"""
import unicodedata

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.models import ORG_FIELDS, Role, User
from apps.bases.models import TrainingBase
from apps.orgs.models import IndustryDepartment, Region, Unit
from apps.personnel.models import Person

DEFAULT_PASSWORD = "Kaifeng-2016"  # demo only; the command prints it
DEMO_COUNTY = "410202"  # 龙亭区: the county bureau, the unit admin and the trainee all sit there
DEMO_BASE = "kf-kfdx"  # 开封大学
DEMO_DEPARTMENT = "开封市卫生和计划生育委员会"


def _missing(what: str) -> CommandError:
    return CommandError(f"{what}：请先运行 python manage.py loaddata kaifeng_2016 与 seed_demo "
                        f"/ run loaddata kaifeng_2016 and seed_demo first")


def _get(queryset, what: str):
    obj = queryset.first()
    if obj is None:
        raise _missing(what)
    return obj


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = "为每个角色创建一个演示账号（可重复运行）。 / Create one demo login per role (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD,
                            help=f"所有演示账号的密码 / password for every demo login (default {DEFAULT_PASSWORD})")

    @transaction.atomic
    def handle(self, *args, password, **options):
        try:
            validate_password(password)
        except ValidationError as exc:
            self.stderr.write(self.style.WARNING("注意 / warning: " + " ".join(exc.messages)))

        city = _get(Region.objects.filter(kind=Region.Kind.CITY, code="410200"), "缺少开封市（410200）")
        county = _get(Region.objects.filter(kind=Region.Kind.COUNTY, code=DEMO_COUNTY), "缺少龙亭区（410202）")
        # The county's first unit that has people, so the unit admin has someone to manage.
        units = Unit.objects.filter(region=county).order_by("id")
        unit = units.filter(people__isnull=False).first() or _get(units, "龙亭区还没有单位")
        base = _get(TrainingBase.objects.filter(code=DEMO_BASE), f"缺少基地 {DEMO_BASE}")
        department = _get(IndustryDepartment.objects.filter(name=DEMO_DEPARTMENT), f"缺少 {DEMO_DEPARTMENT}")
        # A trainee of that unit (seeded people come first by id), unless another login already holds them.
        trainee_user = User.objects.filter(username="trainee").first()
        people = Person.objects.filter(unit=unit).order_by("id")
        if trainee_user and trainee_user.person_id and people.filter(pk=trainee_user.person_id).exists():
            person = trainee_user.person
        else:
            person = (people.filter(user__isnull=True).first()
                      or _get(Person.objects.filter(user__isnull=True).order_by("id"), "还没有人员（seed_demo）"))

        wanted = [
            ("admin", Role.SYSTEM_ADMIN, {}),
            ("city_bureau", Role.CITY_BUREAU, {"region": city}),
            ("county_longting", Role.COUNTY_BUREAU, {"region": county}),
            ("unit_admin", Role.UNIT_ADMIN, {"unit": unit}),
            ("base_staff", Role.BASE_STAFF, {"base": base}),
            ("industry_dept", Role.INDUSTRY_DEPT, {"department": department}),
            ("trainee", Role.TRAINEE, {"person": person}),
        ]
        table = []
        for username, role, org in wanted:
            user = User.objects.filter(username=username).first() or User(username=username)
            user.role = role
            for f in ORG_FIELDS:
                setattr(user, f, org.get(f))
            user.is_active = True
            user.is_staff = role != Role.TRAINEE  # everyone but trainees works in the admin
            user.is_superuser = role == Role.SYSTEM_ADMIN
            if role == Role.TRAINEE:
                user.last_name = person.name
            user.set_password(password)
            try:
                user.full_clean()
            except ValidationError as exc:
                raise CommandError(f"{username}: {exc}") from exc
            user.save()
            organisation = user.organisation
            table.append((username, password, str(role.label), str(organisation) if organisation else "—"))

        headers = ("用户名 username", "密码 password", "角色 role", "所属机构 organisation")
        widths = [max(_width(row[k]) for row in [headers, *table]) for k in range(4)]
        line = "  ".join("-" * w for w in widths)
        self.stdout.write("  ".join(_pad(h, w) for h, w in zip(headers, widths)).rstrip())
        self.stdout.write(line)
        for row in table:
            self.stdout.write("  ".join(_pad(v, w) for v, w in zip(row, widths)).rstrip())
        self.stdout.write(self.style.SUCCESS(f"{len(table)} 个演示账号已就绪 / demo logins ready"))
