"""The access matrix: every URL of the URL conf × every role (and anonymous) × own / other organisation.

The table `RULES` says, per URL name, who may use it. The URL conf is walked at collection time, so a new
endpoint without a rule fails (`test_every_url_has_an_access_rule`), and so does a rule whose URL is gone.

Outcomes (what a role gets):
  OK    allowed, whatever the object (no object in the URL, or one every such role may see)
  OWN   allowed for an object of the user's own organisation; another organisation's is a 404 (no existence leak)
  ALL   allowed for both (the system administrator)
  DENY  the role may not use the page: 403 (anonymous: to the login page; the API: 401/403)
  HIDE  404 for this role whatever the object ("my" pages of a trainee, records a role never sees)

"Other organisation" is the next county / unit / base / department of the same city for every role below the
city, and another city (郑州) for the city bureau. POST-only endpoints are POSTed by every role: a refused POST
must change nothing (`_fingerprint`), and a GET to them is refused.

The world is built once per module inside one transaction that is rolled back at the end; each test runs in a
savepoint of it, so a POST that is allowed changes nothing the next test sees.
"""
import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, TestCase, override_settings
from django.shortcuts import resolve_url
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from apps.accounts.models import Role
from apps.assessment import services as audit_services
from apps.assessment.models import AuditSnapshot, AuditWeights, Commendation
from apps.bases.models import CountyDelegation, TrainingBase
from apps.catalog.models import Course, IndustryPlan, YearPolicy
from apps.certificates import batches
from apps.certificates.models import CertificateBatch
from apps.enrollment import activities, review, submissions, uploads
from apps.enrollment.models import (
    ActivityReport, ExamResult, OnlineCompletion, Registration, ResultUpload, ReviewDecision, Submission,
    SubmissionItem, TrainingClass,
)
from apps.ledger.models import HourEntry
from apps.orgs.models import Industry, IndustryDepartment, Region
from apps.reminders.models import Reminder

from . import factories as f

ANON = "anonymous"
ROLES = [*Role.values, ANON]

OK, OWN, ALL, DENY, HIDE = "ok", "own", "all", "deny", "hide"

ADMIN, CITY, COUNTY, UNIT, BASE, DEPT, TRAINEE = (
    Role.SYSTEM_ADMIN, Role.CITY_BUREAU, Role.COUNTY_BUREAU, Role.UNIT_ADMIN, Role.BASE_STAFF, Role.INDUSTRY_DEPT,
    Role.TRAINEE)

YEAR = 2016
DAY = datetime.date(2016, 7, 22)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# --- the rules ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Who may use one URL. `access` gives each role's outcome (roles left out: `default`)."""

    access: dict
    default: str = DENY
    obj: str | None = None  # the kind of object the URL names (a key of the world), None for none
    kwargs: object = None  # obj -> URL kwargs (default: {"pk": obj.pk})
    query: object = None  # obj -> query string parameters
    post: bool = False  # POST-only: every role POSTs; GET must be refused
    data: object = None  # obj -> POST data
    ok: tuple = (200,)  # what "allowed" answers
    anon: str = "login"  # login: to the login page; api: 401/403; public: allowed like OK; admin: admin login
    api: bool = False

    def outcome(self, role: str) -> str:
        if role == ANON:
            return OK if self.anon == "public" else DENY
        return self.access.get(role, self.default)


def allow(*roles, own=(), all_=(), hide=()) -> dict:
    out = {r: OK for r in roles}
    out.update({r: OWN for r in own})
    out.update({r: ALL for r in all_})
    out.update({r: HIDE for r in hide})
    return out


EVERYONE = (ADMIN, CITY, COUNTY, UNIT, BASE, DEPT, TRAINEE)
STAFF_OF_PERSON = dict(all_=(ADMIN,), own=(CITY, COUNTY, UNIT, BASE, TRAINEE), hide=(DEPT,))
POSTED = (200, 302, 400, 409)  # an allowed POST: done, redirected, or refused by a business rule with a message


def person_year(p):
    return {"person_id": p.pk, "year": YEAR}


def api_rule(access: dict | None = None, **kw) -> Rule:
    return Rule(access if access is not None else allow(*EVERYONE), anon="api", api=True, **kw)


def _api_pk(o):
    return {"pk": o.pk}


RULES: dict[str, Rule] = {
    # --- public -------------------------------------------------------------------------------------------------
    "healthz": Rule(allow(*EVERYONE), anon="public"),
    "set_language": Rule(allow(*EVERYONE), anon="public", post=True, data=lambda o: {"language": "en", "next": "/"},
                         ok=(302,)),
    "api-schema": Rule(allow(*EVERYONE), anon="public"),
    "api-docs": Rule(allow(*EVERYONE), anon="public"),
    "verify": Rule(allow(*EVERYONE), anon="public", obj="item", kwargs=lambda o: {"serial": o.certificate_no}),
    "portal:login": Rule(allow(*EVERYONE), anon="public", ok=(200, 302)),  # a logged-in user is sent home
    "portal:logout": Rule(allow(*EVERYONE), anon="public", post=True, ok=(200, 302)),
    "portal:home": Rule(allow(*EVERYONE)),
    "portal:password_change": Rule(allow(*EVERYONE)),  # one's own password: any login, nobody else's
    # --- the API (session or token; anonymous 401/403) ------------------------------------------------------------
    "api-root": api_rule(),
    "api-me": api_rule(),
    "region-list": api_rule(), "industry-list": api_rule(), "industrydepartment-list": api_rule(),
    "unit-list": api_rule(), "person-list": api_rule(), "trainingbase-list": api_rule(),
    "countydelegation-list": api_rule(), "yearpolicy-list": api_rule(), "course-list": api_rule(),
    "region-detail": api_rule(obj="region", kwargs=_api_pk),
    "industry-detail": api_rule(obj="industry", kwargs=_api_pk),
    "industrydepartment-detail": api_rule(obj="department", kwargs=_api_pk),
    "yearpolicy-detail": api_rule(obj="policy", kwargs=_api_pk),
    "course-detail": api_rule(obj="course", kwargs=_api_pk),
    # Units: a department sees the units of its industry; a base sees no unit.
    "unit-detail": api_rule(allow(all_=(ADMIN,), own=(CITY, COUNTY, UNIT, DEPT, TRAINEE), hide=(BASE,)),
                            obj="unit", kwargs=_api_pk),
    "person-detail": api_rule(allow(**STAFF_OF_PERSON), obj="person", kwargs=_api_pk),
    # Bases: bureaus and staff by jurisdiction; everyone else the directory of active bases.
    "trainingbase-detail": api_rule(allow(UNIT, DEPT, TRAINEE, all_=(ADMIN,), own=(CITY, COUNTY, BASE)),
                                    obj="base", kwargs=lambda o: {"code": o.code}),
    "countydelegation-detail": api_rule(allow(all_=(ADMIN,), own=(CITY, COUNTY, BASE), hide=(UNIT, DEPT, TRAINEE)),
                                        obj="delegation", kwargs=_api_pk),
    "api-person-compliance": api_rule(allow(**STAFF_OF_PERSON), obj="person",
                                      kwargs=lambda o: {"person_id": o.pk}, query=lambda o: {"year": YEAR}),
    "api-person-hours": api_rule(allow(**STAFF_OF_PERSON), obj="person",
                                 kwargs=lambda o: {"person_id": o.pk}, query=lambda o: {"year": YEAR}),
    "api-eligibility": api_rule(allow(all_=(ADMIN,), own=(CITY, COUNTY, UNIT)), obj="person", kwargs=lambda o: {},
                                query=lambda o: {"id_number": o.id_number, "years": str(YEAR)}),
    # kf-kfdx is a classroom base: its own staff pass the access check and are then refused the rows (400).
    "api-base-completions": api_rule(allow(all_=(ADMIN,), own=(BASE,)), obj="base", post=True,
                                     kwargs=lambda o: {"code": o.code}, ok=(200, 400),
                                     data=lambda o: {"request_id": "matrix", "rows": []}),
    # --- hours (ledger) -----------------------------------------------------------------------------------------
    "ledger:my_hours": Rule(allow(TRAINEE), default=HIDE),
    "ledger:my_hours_year": Rule(allow(TRAINEE), default=HIDE, kwargs=lambda o: {"year": YEAR}),
    "ledger:person_hours": Rule(allow(**STAFF_OF_PERSON), obj="person", kwargs=person_year),
    # --- classes and registrations ------------------------------------------------------------------------------
    "enrollment:trainee_classes": Rule(allow(TRAINEE)),
    "enrollment:base_classes": Rule(allow(BASE)),
    "enrollment:class_new": Rule(allow(BASE)),
    "enrollment:class_roster": Rule(allow(all_=(ADMIN,), own=(CITY, COUNTY, BASE)), obj="class"),
    "enrollment:open_classes": Rule(allow(UNIT)),
    # Classes are a public timetable: a unit registers its people in any open class.
    "enrollment:class_register": Rule(allow(UNIT), obj="class"),
    "enrollment:unit_registrations": Rule(allow(UNIT)),
    "enrollment:county_classes": Rule(allow(COUNTY)),
    "enrollment:county_class_new": Rule(allow(COUNTY)),
    # --- exam result uploads (base staff only) --------------------------------------------------------------------
    "enrollment:result_uploads": Rule(allow(BASE)),
    "enrollment:result_upload_new": Rule(allow(BASE)),
    "enrollment:result_upload": Rule(allow(own=(BASE,)), obj="upload", kwargs=lambda o: {"upload_id": o.pk}),
    "enrollment:result_upload_progress": Rule(allow(own=(BASE,)), obj="upload",
                                              kwargs=lambda o: {"upload_id": o.pk}),
    "enrollment:result_upload_errors": Rule(allow(own=(BASE,)), obj="upload", kwargs=lambda o: {"upload_id": o.pk}),
    "enrollment:result_upload_confirm": Rule(allow(own=(BASE,)), obj="upload", kwargs=lambda o: {"upload_id": o.pk},
                                             post=True, ok=(302,)),
    # --- submissions (base staff only) ----------------------------------------------------------------------------
    "enrollment:submission_list": Rule(allow(BASE)),
    "enrollment:submission_create": Rule(allow(BASE), post=True, ok=(302,)),
    "enrollment:submission_detail": Rule(allow(own=(BASE,)), obj="submission"),
    "enrollment:submission_add_ready": Rule(allow(own=(BASE,)), obj="submission", post=True, ok=(302,)),
    "enrollment:submission_remove_item": Rule(allow(own=(BASE,)), obj="item", post=True, ok=(302,),
                                              kwargs=lambda o: {"pk": o.submission_id, "item_id": o.pk}),
    "enrollment:submission_submit": Rule(allow(own=(BASE,)), obj="submission"),
    # --- industry plans -----------------------------------------------------------------------------------------
    "enrollment:plan_list": Rule(allow(ADMIN, CITY, DEPT)),
    "enrollment:plan_create": Rule(allow(DEPT)),
    "enrollment:plan_detail": Rule(allow(all_=(ADMIN,), own=(CITY, DEPT)), obj="plan"),
    "enrollment:plan_file": Rule(allow(own=(DEPT,)), obj="plan", post=True, ok=(302,)),
    "enrollment:plan_acknowledge": Rule(allow(all_=(ADMIN,), own=(CITY,)), obj="plan", post=True, ok=(302,)),
    "enrollment:plan_return": Rule(allow(all_=(ADMIN,), own=(CITY,)), obj="plan", post=True, ok=(302,),
                                   data=lambda o: {"reason": "材料不全"}),
    # --- review (the city bureau) -------------------------------------------------------------------------------
    "enrollment:review_queue": Rule(allow(ADMIN, CITY)),
    "enrollment:review_batch": Rule(allow(all_=(ADMIN,), own=(CITY,)), obj="submission"),
    "enrollment:review_endorse_all": Rule(allow(all_=(ADMIN,), own=(CITY,)), obj="submission", post=True,
                                          ok=(302,)),
    "enrollment:review_item": Rule(allow(all_=(ADMIN,), own=(CITY,)), obj="item", post=True, ok=(302,),
                                   kwargs=lambda o: {"pk": o.submission_id, "item_id": o.pk},
                                   data=lambda o: {"action": "return", "reason": "重复上报"}),
    # --- self-reported activities -------------------------------------------------------------------------------
    "enrollment:activity_mine": Rule(allow(TRAINEE)),
    "enrollment:activity_unit_queue": Rule(allow(UNIT)),
    "enrollment:activity_bureau_queue": Rule(allow(ADMIN, CITY)),
    # The evidence follows the report's visibility (the person's scope), with no role check of its own.
    "enrollment:activity_evidence": Rule(allow(**STAFF_OF_PERSON), obj="activity"),
    "enrollment:activity_check": Rule(allow(own=(UNIT,)), obj="activity", post=True, ok=(302,)),
    "enrollment:activity_recognise": Rule(allow(all_=(ADMIN,), own=(CITY,)), obj="activity", post=True, ok=(302,)),
    "enrollment:activity_return": Rule(allow(all_=(ADMIN,), own=(CITY, UNIT)), obj="activity", post=True,
                                       ok=(302,), data=lambda o: {"reason": "证明材料不清晰"}),
    # --- certificates -------------------------------------------------------------------------------------------
    "certificates:my_booklet": Rule(allow(TRAINEE), default=HIDE, kwargs=lambda o: {"year": YEAR}),
    "certificates:my_learning_record": Rule(allow(TRAINEE), default=HIDE, kwargs=lambda o: {"year": YEAR}),
    "certificates:person_booklet": Rule(allow(**STAFF_OF_PERSON), obj="person", kwargs=person_year),
    "certificates:person_learning_record": Rule(allow(**STAFF_OF_PERSON), obj="person", kwargs=person_year),
    "certificates:item_certificate": Rule(allow(**STAFF_OF_PERSON), obj="item", kwargs=lambda o: {"item_id": o.pk}),
    "certificates:batch_endorsement_list": Rule(allow(all_=(ADMIN,), own=(CITY,)), obj="submission",
                                                kwargs=lambda o: {"submission_id": o.pk}),
    "certificates:batches": Rule(allow(ADMIN, CITY, COUNTY, BASE)),
    "certificates:batch_start": Rule(allow(ADMIN, CITY, COUNTY, BASE), post=True, ok=(302, 400),
                                     data=lambda o: {"region": "", "year": ""}),
    "certificates:batch_detail": Rule(allow(all_=(ADMIN,), own=(CITY, COUNTY, BASE)), obj="batch",
                                      kwargs=lambda o: {"batch_id": o.pk}),
    "certificates:batch_progress": Rule(allow(all_=(ADMIN,), own=(CITY, COUNTY, BASE)), obj="batch",
                                        kwargs=lambda o: {"batch_id": o.pk}),
    # An allowed download of a batch still rendering is a 409 with the reason.
    "certificates:batch_download": Rule(allow(all_=(ADMIN,), own=(CITY, COUNTY, BASE)), obj="batch",
                                        kwargs=lambda o: {"batch_id": o.pk}, ok=(200, 409)),
    "certificates:batch_resume": Rule(allow(all_=(ADMIN,), own=(CITY, COUNTY, BASE)), obj="batch", post=True,
                                      kwargs=lambda o: {"batch_id": o.pk}, ok=(302,)),
    # --- the yearly audit ---------------------------------------------------------------------------------------
    "assessment:index": Rule(allow(ADMIN, CITY, COUNTY)),
    "assessment:start": Rule(allow(ADMIN, CITY), post=True, ok=(302, 400), data=lambda o: {"year": "1800"}),
    "assessment:weights": Rule(allow(ADMIN, CITY)),
    "assessment:detail": Rule(allow(all_=(ADMIN,), own=(CITY, COUNTY)), obj="snapshot",
                              kwargs=lambda o: {"snapshot_id": o.pk}),
    "assessment:progress": Rule(allow(all_=(ADMIN,), own=(CITY, COUNTY)), obj="snapshot",
                                kwargs=lambda o: {"snapshot_id": o.pk}),
    "assessment:decide": Rule(allow(all_=(ADMIN,), own=(CITY,)), obj="commendation", post=True, ok=(302, 409),
                              kwargs=lambda o: {"commendation_id": o.pk, "decision": "drop"}),
    # --- reports ------------------------------------------------------------------------------------------------
    "reports:county": Rule(allow(ADMIN, CITY, COUNTY)),
    "reports:county_export": Rule(allow(all_=(ADMIN,), own=(CITY, COUNTY)), obj="region",
                                  kwargs=lambda o: {"region_id": o.pk, "year": YEAR, "table": "units", "fmt": "xlsx"}),
    "reports:city_dashboard": Rule(allow(ADMIN, CITY)),
    "reports:city_export": Rule(allow(ADMIN, CITY), kwargs=lambda o: {"year": YEAR, "table": "counties",
                                                                     "fmt": "xlsx"}),
    # --- eligibility and reminders ------------------------------------------------------------------------------
    "eligibility:check": Rule(allow(ADMIN, CITY, COUNTY, UNIT)),
    "eligibility:log": Rule(allow(ADMIN, CITY, COUNTY, UNIT)),
    # Only the recipient marks a reminder read; for anyone else it does not exist.
    "reminders:read": Rule(allow(own=(TRAINEE, UNIT)), default=HIDE, obj="reminder", post=True, ok=(302,),
                           kwargs=lambda o: {"reminder_id": o.pk}),
    # --- the audit log (操作日志): the city bureau's supervision page; superusers too ----------------------------
    "auditlog:index": Rule(allow(ADMIN, CITY)),
    "auditlog:export": Rule(allow(ADMIN, CITY), kwargs=lambda o: {"fmt": "csv"}),
    # --- the admin: one rule for all of it (staff only; scoped per role by scoped_admin) ------------------------
    "admin:*": Rule(allow(ADMIN, CITY, COUNTY, UNIT, BASE, DEPT), anon="admin"),
}


# --- the URL conf -------------------------------------------------------------------------------------------------


def _walk(resolver, prefix="", namespace=None):
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
            yield from _walk(p, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = p.name or prefix + str(p.pattern)  # an unnamed pattern is named by its route
            name = f"{namespace}:{name}" if namespace else name
            yield name, prefix + str(p.pattern)


PATTERNS = list(_walk(get_resolver()))
URL_NAMES = {name for name, _route in PATTERNS}


def rule_key(name: str) -> str:
    return "admin:*" if name.startswith("admin:") else name


def test_every_url_has_an_access_rule():
    missing = sorted({f"{name} ({route})" for name, route in PATTERNS if rule_key(name) not in RULES})
    assert not missing, "new endpoint without an access rule: " + ", ".join(missing)


def test_every_access_rule_names_an_existing_url():
    keys = {rule_key(name) for name in URL_NAMES}
    gone = sorted(set(RULES) - keys)
    assert not gone, "access rule for a URL that no longer exists: " + ", ".join(gone)


def test_every_role_is_in_the_matrix():
    assert set(ROLES) == {*Role.values, ANON}


# --- the world ----------------------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict
    objects: dict = field(default_factory=dict)  # kind -> {"own": obj, "near": obj, "far": obj, "own:<role>": …}
    sessions: dict = field(default_factory=dict)  # role -> session key, logged in once for the module

    def obj(self, kind: str, side: str, role: str):
        """The object a role calls its own (side "own") or another organisation's (side "other")."""
        choices = self.objects[kind]
        if side == "other":
            side = "far" if role == CITY else "near"
        return choices.get(f"{side}:{role}", choices[side])


def _person(unit, level="intermediate", **kw):
    p = f.PersonFactory(unit=unit, **kw)
    f.TitleHoldingFactory(person=p, level=level, obtained_on=datetime.date(2010, 1, 1))
    return p


def _class(base, course, code, people, organised_by=None):
    cls = TrainingClass.objects.create(
        base=base, course=course, code=code, year=YEAR, starts_on=datetime.date(2016, 7, 20), ends_on=DAY,
        capacity=50, organiser="county" if organised_by else "city", organised_by=organised_by or base.region,
        registration_deadline=timezone.localdate() + datetime.timedelta(days=365), registered=len(people))
    for p in people:
        reg = Registration.objects.create(training_class=cls, person=p, unit=p.unit)
        ExamResult.objects.create(registration=reg, passed=True, score=85, completed_on=DAY)
    return cls


def _submitted(base, by):
    sub = submissions.submission_create(base=base, by=by)
    submissions.submission_add_ready(submission_id=sub.pk, by=by)
    submissions.submission_submit(submission_id=sub.pk, by=by)
    sub.refresh_from_db()
    return sub


def _csv(person, cls):
    rows = ["身份证号,姓名,课程代码,班次,成绩,是否合格,完成日期",
            f"{person.id_number},{person.name},{cls.course.code},{cls.code},90,合格,2016-07-22"]
    return SimpleUploadedFile("results.csv", ("\n".join(rows) + "\n").encode(), content_type="text/csv")


def _report(person, by):
    return activities.activity_report(person=person, kind="conference", title="河南省医学年会",
                                      activity_date=datetime.date(2016, 5, 12),
                                      evidence=SimpleUploadedFile("证明.pdf", PDF, content_type="application/pdf"),
                                      by=by)


def _build() -> World:
    from django.core.management import call_command

    call_command("loaddata", "kaifeng_2016", verbosity=0)
    province, city = Region.objects.get(code="410000"), Region.objects.get(code="410200")
    county, other_county = Region.objects.get(code="410202"), Region.objects.get(code="410221")
    # Another city with a county: the city bureau's "other organisation".
    far_city = Region.objects.create(code="410100", name="郑州市", kind="city", parent=province)
    far_county = Region.objects.create(code="410102", name="中原区", kind="county", parent=far_city)
    health = Industry.objects.get(pk=2)
    education = Industry.objects.get(pk=1)

    unit = f.UnitFactory(region=county, industry=health, name="龙亭区人民医院")
    near_unit = f.UnitFactory(region=other_county, industry=education, name="杞县第一中学")
    far_unit = f.UnitFactory(region=far_county, industry=education, name="中原区实验中学")
    # A unit of the department's own industry in the other city: not the Kaifeng department's business.
    far_health_unit = f.UnitFactory(region=far_county, industry=health, name="中原区人民医院")
    person, near_person, far_person = _person(unit, name="王小明"), _person(near_unit, name="李小红"), \
        _person(far_unit, name="赵大勇")

    kfdx, jsxx = TrainingBase.objects.get(code="kf-kfdx"), TrainingBase.objects.get(code="kf-jsxx")
    far_base = f.TrainingBaseFactory(region=far_city, approved_by=far_city, code="zz-base", name="郑州大学")
    delegation = CountyDelegation.objects.create(county=county, base=kfdx, since=datetime.date(2016, 1, 1))
    near_delegation = CountyDelegation.objects.create(county=other_county, base=jsxx, since=datetime.date(2016, 1, 1))
    far_delegation = CountyDelegation.objects.create(county=far_county, base=far_base,
                                                     since=datetime.date(2016, 1, 1))
    department = IndustryDepartment.objects.get(pk=2)  # 开封市卫生和计划生育委员会
    near_department = IndustryDepartment.objects.get(pk=1)
    far_department = IndustryDepartment.objects.create(name="郑州市卫生局", industry=health, region=far_city)

    users = {
        ADMIN: f.UserFactory(username="m-admin", role=ADMIN, is_superuser=True),
        CITY: f.UserFactory(username="m-city", role=CITY, region=city),
        COUNTY: f.UserFactory(username="m-county", role=COUNTY, region=county),
        UNIT: f.UserFactory(username="m-unit", role=UNIT, unit=unit),
        BASE: f.UserFactory(username="m-base", role=BASE, base=kfdx),
        DEPT: f.UserFactory(username="m-dept", role=DEPT, department=department),
        TRAINEE: f.UserFactory(username="m-trainee", role=TRAINEE, person=person, is_staff=False),
    }
    near_base_user = f.UserFactory(username="m-base-2", role=BASE, base=jsxx)
    near_trainee = f.UserFactory(username="m-trainee-2", role=TRAINEE, person=near_person, is_staff=False)
    far_trainee = f.UserFactory(username="m-trainee-3", role=TRAINEE, person=far_person, is_staff=False)

    # Classes: the own one at kf-kfdx organised by the county (delegated, B4); the next county's at kf-jsxx; a
    # class of the other city's base.
    f01 = Course.objects.get(year=YEAR, code="GX16-F01")
    own_class = _class(kfdx, f01, "KD-M1", [person], organised_by=county)
    near_class = _class(jsxx, f01, "JS-M1", [near_person], organised_by=other_county)
    far_class = _class(far_base, f01, "ZZ-M1", [far_person])

    # Submissions: submitted by each base; the own one endorsed (hours in the ledger, certificates valid).
    own_sub = _submitted(kfdx, users[BASE])
    near_sub = _submitted(jsxx, near_base_user)
    far_sub = _submitted(far_base, None)
    review.submission_endorse_all(submission_id=own_sub.pk, by=users[CITY])
    for sub in (near_sub, far_sub):
        review.submission_endorse_all(submission_id=sub.pk, by=users[ADMIN])
    own_item, near_item, far_item = (s.items.get() for s in (own_sub, near_sub, far_sub))

    own_upload = uploads.upload_check(base=kfdx, file=_csv(person, own_class), user=users[BASE])
    near_upload = uploads.upload_check(base=jsxx, file=_csv(near_person, near_class), user=near_base_user)

    now = timezone.now()
    plan_fields = dict(title="2016 年卫生专业科目计划", year=YEAR, starts_on=datetime.date(2016, 3, 1),
                       ends_on=datetime.date(2016, 11, 30), status=IndustryPlan.Status.FILED, filed_at=now)
    own_plan = IndustryPlan.objects.create(department=department, **plan_fields)
    near_plan = IndustryPlan.objects.create(department=near_department, **plan_fields)
    far_plan = IndustryPlan.objects.create(department=far_department, **plan_fields)

    own_report, near_report = _report(person, users[TRAINEE]), _report(near_person, near_trainee)
    far_report = _report(far_person, far_trainee)

    # Certificate batches: of the own submission (rendered now) and of the own county's year.
    with TestCase.captureOnCommitCallbacks(execute=True):
        own_batch = batches.batch_for_submission(user=users[CITY], submission_id=own_sub.pk)
    batch_fields = dict(total=0, chunk_size=50, chunks=0, requested_by=users[ADMIN])
    county_batch = CertificateBatch.objects.create(title="龙亭区 2016", region=county, year=YEAR, **batch_fields)
    near_batch = CertificateBatch.objects.create(title="JS", submission=near_sub, **batch_fields)
    near_county_batch = CertificateBatch.objects.create(title="杞县 2016", region=other_county, year=YEAR,
                                                        **batch_fields)
    far_batch = CertificateBatch.objects.create(title="ZZ", submission=far_sub, **batch_fields)

    own_snapshot = audit_services.audit_run_now(year=YEAR, region=city, by=users[CITY])
    far_snapshot = AuditSnapshot.objects.create(region=far_city, year=YEAR, status=AuditSnapshot.Status.DONE,
                                                is_current=True, finished_at=now)
    own_commendation = Commendation.objects.create(snapshot=own_snapshot, kind="county", county=county, rank=1,
                                                   score=Decimal("0.9"))
    far_commendation = Commendation.objects.create(snapshot=far_snapshot, kind="county", county=far_county, rank=1,
                                                   score=Decimal("0.9"))

    def reminder(**kw):
        kind = Reminder.Kind.UNIT if kw.get("unit") else Reminder.Kind.PACE
        return Reminder.objects.create(year=YEAR, kind=kind, message="学时进度落后", **kw)

    policy = YearPolicy.objects.get(year=YEAR, region=city)
    objects = {
        "person": {"own": person, "near": near_person, "far": far_person},
        "unit": {"own": unit, "near": near_unit, "far": far_unit, "near:" + DEPT: far_health_unit},
        "region": {"own": county, "near": other_county, "far": far_county},
        "industry": {"own": health, "near": education, "far": education},
        "department": {"own": department, "near": near_department, "far": far_department},
        "policy": {"own": policy, "near": policy, "far": policy},
        "course": {"own": f01, "near": f01, "far": f01},
        "base": {"own": kfdx, "near": jsxx, "far": far_base},
        "delegation": {"own": delegation, "near": near_delegation, "far": far_delegation},
        "class": {"own": own_class, "near": near_class, "far": far_class},
        "submission": {"own": own_sub, "near": near_sub, "far": far_sub},
        "item": {"own": own_item, "near": near_item, "far": far_item},
        "upload": {"own": own_upload, "near": near_upload, "far": near_upload},
        "plan": {"own": own_plan, "near": near_plan, "far": far_plan},
        "activity": {"own": own_report, "near": near_report, "far": far_report},
        "batch": {"own": own_batch, "own:" + COUNTY: county_batch, "near": near_batch,
                  "near:" + COUNTY: near_county_batch, "far": far_batch},
        # The audit is the city's: a county bureau's "other" is the other city's snapshot too.
        "snapshot": {"own": own_snapshot, "near": far_snapshot, "far": far_snapshot},
        "commendation": {"own": own_commendation, "near": far_commendation, "far": far_commendation},
        "reminder": {"own": reminder(person=person), "own:" + UNIT: reminder(unit=unit),
                     "near": reminder(person=near_person), "near:" + UNIT: reminder(unit=near_unit),
                     "far": reminder(person=far_person)},
    }
    world = World(users=users, objects=objects)
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        world.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media, CERT_BATCH_CHUNK=50):
        with transaction.atomic():
            built = _build()
            yield built
            transaction.set_rollback(True)


# The rows a request could change: a refused POST must leave every one of them as it was.
WATCHED = (Submission, SubmissionItem, ReviewDecision, IndustryPlan, ActivityReport, ResultUpload, ExamResult,
           Registration, TrainingClass, OnlineCompletion, CertificateBatch, AuditSnapshot, AuditWeights,
           Commendation, Reminder, HourEntry)


def _fingerprint() -> dict:
    return {m._meta.label: list(m.objects.order_by("pk").values_list()) for m in WATCHED}


# --- the matrix ---------------------------------------------------------------------------------------------------


def _cases():
    for name in sorted(RULES):
        rule = RULES[name]
        if name == "admin:*" or name not in URL_NAMES:  # a rule whose URL is gone fails in the test above
            continue
        for role in ROLES:
            sides = ("own", "other") if rule.obj else ("-",)
            for side in sides:
                yield pytest.param(name, role, side, id=f"{name}|{role}|{side}")


def _client(world, role, **kw) -> Client:
    """A client logged in as the role's user: the module's session (each test's changes to it roll back)."""
    client = Client(**kw)
    if role != ANON:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


def _url(world, rule: Rule, name: str, role: str, side: str) -> tuple[str, object]:
    obj = world.obj(rule.obj, side, role) if rule.obj else None
    kwargs = rule.kwargs(obj) if rule.kwargs else ({"pk": obj.pk} if obj is not None else {})
    url = reverse(name, kwargs=kwargs)
    if rule.query:
        from urllib.parse import urlencode

        url += "?" + urlencode(rule.query(obj))
    return url, obj


def _expected(rule: Rule, role: str, side: str) -> str:
    outcome = rule.outcome(role)
    if outcome == OWN:
        return "ok" if side == "own" else "hidden"
    if outcome in (OK, ALL):
        return "ok"
    return {DENY: "denied", HIDE: "hidden"}[outcome]


def _check(response, rule: Rule, role: str, expected: str, label: str) -> None:
    status = response.status_code
    assert status < 500, f"{label}: server error {status}"
    if expected == "ok":
        assert status in rule.ok, f"{label}: expected {rule.ok}, got {status}"
        return
    if expected == "hidden":
        assert status == 404, f"{label}: expected 404 (not visible), got {status}"
        return
    if role == ANON:
        if rule.api:
            assert status in (401, 403), f"{label}: anonymous API call got {status}"
        else:
            login = reverse("admin:login") if rule.anon == "admin" else resolve_url(settings.LOGIN_URL)
            assert status == 302 and response["Location"].startswith(login), \
                f"{label}: anonymous should go to {login}, got {status} {response.get('Location')}"
        return
    assert status == 403, f"{label}: expected 403 (role may not), got {status}"


@pytest.mark.parametrize("name, role, side", list(_cases()))
def test_access(world, db, name, role, side):
    rule = RULES[name]
    url, obj = _url(world, rule, name, role, side)
    expected = _expected(rule, role, side)
    client = _client(world, role)
    label = f"{name} × {role} × {side} ({url})"
    if not rule.post:
        _check(client.get(url), rule, role, expected, label)
        return
    data = rule.data(obj) if rule.data else {}
    before = _fingerprint() if expected != "ok" else None
    if rule.api:
        response = client.post(url, data, content_type="application/json")
    else:
        response = client.post(url, data)
    _check(response, rule, role, expected, label)
    if before is not None:
        assert _fingerprint() == before, f"{label}: a refused POST changed data"


def _post_only_cases():
    for name in sorted(RULES):
        if RULES[name].post and name in URL_NAMES and name not in ("set_language", "portal:logout"):
            for role in ROLES:
                yield pytest.param(name, role, id=f"{name}|{role}|GET")


@pytest.mark.parametrize("name, role", list(_post_only_cases()))
def test_post_only_endpoints_refuse_get(world, db, name, role):
    rule = RULES[name]
    url, _obj = _url(world, rule, name, role, "own")
    before = _fingerprint()
    response = _client(world, role).get(url)
    label = f"GET {name} × {role} ({url})"
    if role == ANON and not rule.api:
        assert response.status_code == 302 and response["Location"].startswith(resolve_url(settings.LOGIN_URL)), label
    else:
        assert response.status_code in (401, 403, 404, 405), f"{label}: got {response.status_code}"
    assert _fingerprint() == before, f"{label}: a GET changed data"


# --- the API's lists hold what the detail URL shows, and nothing of another organisation --------------------------


LISTS = {"unit-list": "unit-detail", "person-list": "person-detail", "trainingbase-list": "trainingbase-detail",
         "countydelegation-list": "countydelegation-detail"}


@pytest.mark.parametrize("name, role", [pytest.param(n, r, id=f"{n}|{r}") for n in LISTS for r in Role.values])
def test_api_lists_are_scoped_like_their_detail(world, db, name, role):
    detail = RULES[LISTS[name]]
    response = _client(world, role).get(reverse(name), {"page_size": 1000})
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    own, other = world.obj(detail.obj, "own", role), world.obj(detail.obj, "other", role)
    outcome = detail.outcome(role)
    assert (own.pk in ids) == (outcome in (OK, OWN, ALL)), f"{name} × {role}: own {own} listed: {own.pk in ids}"
    assert (other.pk in ids) == (outcome in (OK, ALL)), f"{name} × {role}: other {other} listed: {other.pk in ids}"


# --- the API's format-suffix twins answer as the plain URLs do -----------------------------------------------------


FORMAT_NAMES = sorted({name for name, route in PATTERNS if "(?P<format>" in route or "<drf_format_suffix" in route})


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_api_format_variants_refuse_anonymous_and_scope_like_the_plain_url(world, db, name):
    rule = RULES[name]
    obj = world.obj(rule.obj, "other", COUNTY) if rule.obj else None
    kwargs = rule.kwargs(obj) if rule.kwargs else {}
    url = reverse(name, kwargs={**kwargs, "format": "json"})
    assert Client().get(url).status_code in (401, 403), url
    response = _client(world, COUNTY).get(url)
    expected = _expected(rule, COUNTY, "other" if rule.obj else "-")
    _check(response, rule, COUNTY, expected, f"{name}.json × county_bureau")


# --- the admin: staff only ----------------------------------------------------------------------------------------


ADMIN_CHANGELISTS = sorted(name for name in URL_NAMES if name.startswith("admin:") and name.endswith("_changelist"))


@pytest.mark.parametrize("role", ROLES)
def test_admin_index_is_for_staff_only(world, db, role):
    rule = RULES["admin:*"]
    response = _client(world, role).get(reverse("admin:index"))
    if role in (ANON, TRAINEE):  # trainees are not staff
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    else:
        _check(response, rule, role, "ok", f"admin:index × {role}")


@pytest.mark.parametrize("name", ADMIN_CHANGELISTS)
def test_admin_pages_refuse_anonymous_and_non_staff(world, db, name):
    url = reverse(name)
    for role in (ANON, TRAINEE):
        response = _client(world, role).get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login")), \
            f"{name} × {role}: {response.status_code}"
    superuser = _client(world, ADMIN).get(url)
    assert superuser.status_code == 200, f"{name} × system_admin: {superuser.status_code}"
    # Other staff are scoped per model by scoped_admin (tests/test_scoping.py): allowed or refused, never an error.
    status = _client(world, COUNTY).get(url).status_code
    assert status in (200, 403), f"{name} × county_bureau: {status}"


# --- CSRF ---------------------------------------------------------------------------------------------------------


FORM_RE = re.compile(r"<form\b[^>]*\bmethod=[\"']?post[\"']?[^>]*>(.*?)</form>", re.IGNORECASE | re.DOTALL)


def test_every_post_form_in_the_templates_carries_a_csrf_token():
    root = Path(settings.BASE_DIR) / "templates"
    missing = []
    forms = 0
    for path in sorted(root.rglob("*.html")):
        for match in FORM_RE.finditer(path.read_text(encoding="utf-8")):
            forms += 1
            if "{% csrf_token %}" not in match.group(1):
                line = path.read_text(encoding="utf-8")[:match.start()].count("\n") + 1
                missing.append(f"{path.relative_to(root)}:{line}")
    assert forms > 10
    assert not missing, "POST forms without {% csrf_token %}: " + ", ".join(missing)


def _csrf_client(world, role) -> Client:
    return _client(world, role, enforce_csrf_checks=True)


def test_login_without_a_csrf_token_is_refused(world, db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("portal:login"), {"username": "m-city", "password": "Kaifeng-2016"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_an_endorsement_without_a_csrf_token_is_refused(world, db):
    item = world.obj("item", "own", CITY)
    SubmissionItem.objects.filter(pk=item.pk).update(status="pending")  # as if not yet endorsed
    before = _fingerprint()
    client = _csrf_client(world, CITY)
    for url, data in ((reverse("enrollment:review_endorse_all", args=[item.submission_id]), {}),
                      (reverse("enrollment:review_item", args=[item.submission_id, item.pk]),
                       {"action": "return", "reason": "x"}),
                      (reverse("enrollment:plan_acknowledge", args=[world.obj("plan", "own", CITY).pk]), {})):
        assert client.post(url, data).status_code == 403, url
    assert _fingerprint() == before


def test_an_upload_without_a_csrf_token_is_refused(world, db):
    before = _fingerprint()
    base_client = _csrf_client(world, BASE)
    cls = world.obj("class", "own", BASE)
    person = world.obj("person", "own", BASE)
    response = base_client.post(reverse("enrollment:result_upload_new"), {"file": _csv(person, cls)})
    assert response.status_code == 403
    unit_client = _csrf_client(world, UNIT)
    ids = SimpleUploadedFile("ids.csv", f"身份证号\n{person.id_number}\n".encode(), content_type="text/csv")
    response = unit_client.post(reverse("enrollment:class_register", args=[cls.pk]), {"action": "upload", "file": ids})
    assert response.status_code == 403
    trainee = _csrf_client(world, TRAINEE)
    response = trainee.post(reverse("enrollment:activity_mine"), {
        "kind": "conference", "title": "年会", "activity_date": "2016-05-12",
        "evidence": SimpleUploadedFile("e.pdf", PDF, content_type="application/pdf")})
    assert response.status_code == 403
    assert _fingerprint() == before


def test_the_csrf_checked_forms_work_with_the_token(world, db):
    """The refusals above are the token's doing: the same client with the token gets through."""
    client = _csrf_client(world, CITY)
    page = client.get(reverse("enrollment:plan_detail", args=[world.obj("plan", "own", CITY).pk]))
    assert page.status_code == 200
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(reverse("enrollment:plan_acknowledge", args=[world.obj("plan", "own", CITY).pk]),
                           {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
