"""Weekly reminders to trainees and units behind pace (run by celery beat: task "reminders.send_reminders").

From 1 July a trainee is behind pace when their official hours are below the year's requirement times the
elapsed share of the year; from 1 October, missing public (or required public) hours is named instead, since
public subjects are organised courses with fixed sessions that cannot be crammed into December. A person or a
unit reminded in the last 7 days is skipped: that is the throttle, checked in the same SQL statement that finds
them, so the job can run as often as wanted.

Set-based: the city's compliance is one statement (apps.ledger.selectors.scope_compliance) wrapped in the
behind-pace filter; its rows are streamed in batches into bulk inserts and one mail connection per batch, never
one query per person.
"""
import datetime
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.accounts.models import Role, User
from apps.core.errors import DomainError, NotVisible
from apps.ledger import compliance
from apps.ledger.compliance import fmt
from apps.ledger.selectors import policy_for, scope_compliance
from apps.orgs.models import Region, Unit
from apps.personnel.models import Person

from .models import Reminder

BATCH = 2000
THROTTLE = datetime.timedelta(days=7)
PACE_FROM = (7, 1)  # month, day: the second half of the year
PUBLIC_FROM = (10, 1)


def _run_moment(today: datetime.date | None) -> tuple[datetime.date, datetime.datetime]:
    """The run's date and clock. A given `today` (tests, re-runs of a missed week) also sets the clock, so the
    throttle and the reminders' times agree with the day the run stands for."""
    if today is None:
        now = timezone.now()
        return timezone.localdate(now), now
    return today, datetime.datetime.combine(today, datetime.time(9, 0), timezone.get_current_timezone())


def elapsed_fraction(day: datetime.date) -> Decimal:
    """Share of the natural year gone by at the start of `day` (1 July of 2016: 182/366)."""
    start = datetime.date(day.year, 1, 1)
    days = (datetime.date(day.year + 1, 1, 1) - start).days
    return (Decimal((day - start).days) / Decimal(days)).quantize(Decimal("0.000001"))


def _city_people(city: Region):
    return Person.objects.filter(Q(unit__region=city) | Q(unit__region__parent=city)
                                 | Q(unit__region__parent__parent=city))


def _behind_sql(evaluation_sql: str, *, fraction: Decimal, public_due: bool) -> str:
    """Behind-pace people of the evaluation, with their kind. The figures are inlined as literals (computed here,
    never user input), like the evaluation's own, so one string serves both databases."""
    public_short = "(ev.public < ev.req_public OR ev.public_required < ev.req_public_required)"
    behind = f"ev.total < ev.req_total * {fraction}"
    if public_due:
        behind = f"({behind} OR {public_short})"
        kind = f"CASE WHEN {public_short} THEN '{Reminder.Kind.PUBLIC}' ELSE '{Reminder.Kind.PACE}' END"
    else:
        kind = f"'{Reminder.Kind.PACE}'"
    # The evaluation carries each person's unit (the ledger keeps it on the person-year row).
    return (f"SELECT ev.*, {kind} AS kind FROM ({evaluation_sql}) ev "
            f"WHERE ev.req_total IS NOT NULL AND {behind}")


def reminders_send(*, today: datetime.date | None = None) -> dict:
    """Remind trainees and units behind pace for the current year; returns counts. Idempotent within a week."""
    today, now = _run_moment(today)
    counts = {"people": 0, "units": 0, "emails": 0}
    if today < datetime.date(today.year, *PACE_FROM):
        return {**counts, "skipped": "before_july"}
    city = Region.objects.filter(code=settings.PORTAL_CITY_CODE).first()
    if city is None:
        return {**counts, "skipped": "no_city"}
    try:
        # Multiple cities would each run with their own policy; this installation serves one (PORTAL_CITY_CODE).
        policy = policy_for(year=today.year, region=city)
    except DomainError:
        return {**counts, "skipped": "no_policy"}

    evaluation = scope_compliance(year=today.year, policy=policy, people=_city_people(city))
    behind = _behind_sql(evaluation.sql, fraction=elapsed_fraction(today),
                         public_due=today >= datetime.date(today.year, *PUBLIC_FROM))
    since = now - THROTTLE
    reminders, users = Reminder._meta.db_table, User._meta.db_table
    with translation.override(settings.LANGUAGE_CODE):
        people_sql = (
            f"SELECT b.person_id, b.kind, b.level, b.public_required, b.public_elective, b.professional, "
            f"b.req_total, b.req_public, b.req_public_required, b.req_professional, u.email "
            f"FROM ({behind}) b LEFT JOIN {users} u ON u.person_id = b.person_id AND u.is_active "
            f"AND u.email <> '' "
            f"WHERE NOT EXISTS (SELECT 1 FROM {reminders} r WHERE r.person_id = b.person_id AND r.created_at > %s) "
            f"ORDER BY b.person_id")
        params = (*evaluation.params, connection.ops.adapt_datetimefield_value(since))
        for rows in _batches(people_sql, params):
            sent = _remind_people(rows, year=today.year, day=today, now=now)
            counts["people"] += len(rows)
            counts["emails"] += sent

        units_sql = (
            f"SELECT b.unit_id, COUNT(*) AS n FROM ({behind}) b "
            f"WHERE NOT EXISTS (SELECT 1 FROM {reminders} r WHERE r.unit_id = b.unit_id AND r.person_id IS NULL "
            f"AND r.created_at > %s) GROUP BY b.unit_id ORDER BY b.unit_id")
        for rows in _batches(units_sql, params):
            sent = _remind_units(rows, year=today.year, day=today, now=now)
            counts["units"] += len(rows)
            counts["emails"] += sent
    return counts


def _batches(sql: str, params: tuple):
    """Rows of one statement in batches. On PostgreSQL a server-side cursor keeps a million rows out of memory."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        names = None
        while rows := cursor.fetchmany(BATCH):
            # A server-side cursor describes its columns only once the first rows are fetched.
            names = names or [c[0] for c in cursor.description]
            yield [dict(zip(names, row)) for row in rows]


def _d(value) -> Decimal:
    return Decimal(str(value if value is not None else 0))


def _person_message(row: dict, *, year: int, day: datetime.date) -> str:
    requirement = compliance.Requirement(_d(row["req_total"]), _d(row["req_public"]), _d(row["req_public_required"]),
                                         _d(row["req_professional"]) if row["req_professional"] is not None else None)
    totals = compliance.Totals(_d(row["public_required"]), _d(row["public_elective"]), _d(row["professional"]))
    # The ledger's own sentence for the year's gap ("还差 8 学时；还差 8 学时公需科目，其中必修 4 学时").
    gap = compliance.evaluate(year=year, level=row["level"], requirement=requirement, totals=totals).summary
    if row["kind"] == Reminder.Kind.PUBLIC:
        lead = _("截至 %(day)s，您 %(year)s 年度的公需科目学时尚未达到要求（公需 %(public)s / %(req_public)s 学时，"
                 "其中必修 %(pr)s / %(req_pr)s 学时）。") % {
            "day": day.isoformat(), "year": year, "public": fmt(totals.public), "req_public": fmt(requirement.public),
            "pr": fmt(totals.public_required), "req_pr": fmt(requirement.public_required)}
    else:
        # Rounded to half hours, the ledger's unit.
        expected = (requirement.total * elapsed_fraction(day) * 2).quantize(Decimal(1)) / 2
        lead = _("截至 %(day)s，按 %(year)s 年度的进度应完成约 %(expected)s 学时，您已完成 %(done)s 学时"
                 "（全年要求 %(req)s 学时）。") % {
            "day": day.isoformat(), "year": year, "expected": fmt(expected), "done": fmt(totals.total),
            "req": fmt(requirement.total)}
    return lead + _("全年%(gap)s。请尽快安排学习，年度学时未达标将影响聘用、职称评聘和执业注册。") % {"gap": gap}


def _send(messages: list[EmailMessage]) -> int:
    if not messages:
        return 0
    return mailers.default.send_messages(messages) or 0


def _remind_people(rows: list[dict], *, year: int, day: datetime.date, now: datetime.datetime) -> int:
    subject = _("【继续教育】%(year)s 年度学时进度提醒") % {"year": year}
    objs = []
    for row in rows:
        objs.append(Reminder(person_id=row["person_id"], year=year, kind=row["kind"],
                             message=_person_message(row, year=year, day=day),
                             emailed_to=row["email"] or "", created_at=now))
    with transaction.atomic():
        Reminder.objects.bulk_create(objs, batch_size=500)
    # Mail goes out after the rows are committed: a reminder is never mailed without being recorded (which would
    # defeat the weekly limit). A mail server failure leaves the notice on the home page; next week's run mails again.
    return _send([EmailMessage(subject, r.message, settings.DEFAULT_FROM_EMAIL, [r.emailed_to])
                  for r in objs if r.emailed_to])


def _remind_units(rows: list[dict], *, year: int, day: datetime.date, now: datetime.datetime) -> int:
    unit_ids = [r["unit_id"] for r in rows]
    names = dict(Unit.objects.filter(pk__in=unit_ids).values_list("pk", "name"))
    admins: dict[int, list[str]] = {}
    for unit_id, email in (User.objects.filter(role=Role.UNIT_ADMIN, unit_id__in=unit_ids, is_active=True)
                           .exclude(email="").order_by("pk").values_list("unit_id", "email")):
        admins.setdefault(unit_id, []).append(email)
    subject = _("【继续教育】本单位 %(year)s 年度学时进度提醒") % {"year": year}
    objs = []
    for row in rows:
        message = _("截至 %(day)s，%(unit)s 有 %(n)s 名专业技术人员 %(year)s 年度继续教育学时进度落后或公需科目"
                    "尚未完成，请督促其尽快完成学习。") % {
            "day": day.isoformat(), "unit": names.get(row["unit_id"], ""), "n": row["n"], "year": year}
        objs.append(Reminder(unit_id=row["unit_id"], year=year, kind=Reminder.Kind.UNIT, message=message,
                             emailed_to=", ".join(admins.get(row["unit_id"], []))[:254], created_at=now))
    with transaction.atomic():
        Reminder.objects.bulk_create(objs, batch_size=500)
    return _send([EmailMessage(subject, r.message, settings.DEFAULT_FROM_EMAIL, admins[r.unit_id])
                  for r in objs if admins.get(r.unit_id)])


@transaction.atomic
def reminder_mark_read(*, user, reminder_id: int) -> Reminder:
    """Only the recipient marks a reminder read: the trainee it names, or an admin of the unit it is for. Anyone
    else gets NotVisible (the same as an unknown id)."""
    if user.role == Role.TRAINEE and user.person_id:
        mine = Q(person=user.person_id)
    elif user.role == Role.UNIT_ADMIN and user.unit_id:
        mine = Q(unit=user.unit_id, person__isnull=True)
    else:
        raise NotVisible()
    reminder = Reminder.objects.select_for_update().filter(mine, pk=reminder_id).first()
    if reminder is None:
        raise NotVisible()
    if reminder.read_at is None:
        reminder.read_at = timezone.now()
        reminder.save(update_fields=["read_at"])
    return reminder
