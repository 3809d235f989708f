"""Who may see and change what: the one module every page, API view, admin and export asks.

`visible(user, Model)` is "the objects of this kind this user may see", as a queryset; `get_visible_or_404`
fetches one of them or raises NotVisible (outside the scope is indistinguishable from absent); `can_change`
and `can_add` answer for writes. A model without a rule here is visible to nobody: a new model stays closed
until someone decides who may see it (the permission matrix test lists every registered model).
"""
from collections.abc import Callable

from django.apps import apps
from django.db.models import Model, Q, QuerySet

from apps.core.errors import NotVisible

from .models import Role, User

ALL = Q()
NONE = Q(pk__in=[])


def _region_tree(user: User, path: str) -> Q:
    """A bureau's jurisdiction: its own region and, for a city or province, the regions below it."""
    region_id = user.region_id
    return Q(**{path: region_id}) | Q(**{f"{path}__parent": region_id}) | Q(**{f"{path}__parent__parent": region_id})


def _people(user: User, prefix: str = "") -> Q:
    p = prefix
    match user.role:
        case Role.SYSTEM_ADMIN:
            return ALL
        case Role.CITY_BUREAU:
            return _region_tree(user, f"{p}unit__region")
        case Role.COUNTY_BUREAU:
            return Q(**{f"{p}unit__region": user.region_id})
        case Role.UNIT_ADMIN:
            return Q(**{f"{p}unit": user.unit_id})
        case Role.TRAINEE:
            return Q(**{f"{p}pk": user.person_id})
        case Role.BASE_STAFF:
            # A base sees its own trainees: those registered in its classes or reported by its platform.
            from apps.enrollment.models import OnlineCompletion, Registration

            return (Q(**{f"{p}pk__in": Registration.objects.filter(training_class__base=user.base_id)
                         .values("person_id")})
                    | Q(**{f"{p}pk__in": OnlineCompletion.objects.filter(base=user.base_id).values("person_id")}))
        case _:
            return NONE  # industry departments plan for an industry; they see no personal records


def _units(user: User) -> Q:
    match user.role:
        case Role.SYSTEM_ADMIN:
            return ALL
        case Role.CITY_BUREAU:
            return _region_tree(user, "region")
        case Role.COUNTY_BUREAU:
            return Q(region=user.region_id)
        case Role.UNIT_ADMIN:
            return Q(pk=user.unit_id)
        case Role.INDUSTRY_DEPT:
            # Its industry's units in its own region (a city department: the city and its counties), not the same
            # industry's units of another city.
            region = user.department.region_id
            return Q(industry__departments=user.department_id) & (Q(region=region) | Q(region__parent=region))
        case Role.TRAINEE:
            return Q(people=user.person_id)
        case _:
            return NONE


def _bases(user: User) -> Q:
    match user.role:
        case Role.SYSTEM_ADMIN:
            return ALL
        case Role.CITY_BUREAU:
            return _region_tree(user, "region")
        case Role.COUNTY_BUREAU:
            return Q(region=user.region_id) | Q(delegations__county=user.region_id)
        case Role.BASE_STAFF:
            return Q(pk=user.base_id)
        case _:
            # Trainees, units and departments choose among the active bases: a public directory.
            return Q(is_active=True)


def _delegations(user: User) -> Q:
    match user.role:
        case Role.SYSTEM_ADMIN:
            return ALL
        case Role.CITY_BUREAU:
            return _region_tree(user, "county")
        case Role.COUNTY_BUREAU:
            return Q(county=user.region_id)
        case Role.BASE_STAFF:
            return Q(base=user.base_id)
        case _:
            return NONE


def _of_base(path: str, *, people: str | None = None) -> Callable[[User], Q]:
    """Records that belong to a base: its staff see them; bureaus see them in their jurisdiction; a unit, a county
    and a trainee see those of their people (when `people` names the path to the person)."""
    def rule(user: User) -> Q:
        if user.role == Role.BASE_STAFF:
            return Q(**{path: user.base_id})
        if user.role in (Role.SYSTEM_ADMIN, Role.CITY_BUREAU):
            return ALL if user.role == Role.SYSTEM_ADMIN else _region_tree(user, f"{path}__region")
        if people is not None and user.role in (Role.COUNTY_BUREAU, Role.UNIT_ADMIN, Role.TRAINEE):
            return _people(user, f"{people}__")
        return NONE
    return rule


def _classes(user: User) -> Q:
    # Classes are a public timetable (units choose where to register); a base manages only its own.
    return Q(base=user.base_id) if user.role == Role.BASE_STAFF else ALL


def _plans(user: User) -> Q:
    match user.role:
        case Role.SYSTEM_ADMIN:
            return ALL
        case Role.CITY_BUREAU:
            # A city bureau reviews the plans its own city's departments file, not another city's.
            return _region_tree(user, "department__region")
        case Role.INDUSTRY_DEPT:
            return Q(department=user.department_id)
        case Role.BASE_STAFF | Role.COUNTY_BUREAU:
            return Q(status="acknowledged")  # bases run professional courses only under acknowledged plans
        case _:
            return NONE


def _certificate_batches(user: User, prefix: str = "") -> Q:
    """A batch of certificates: the city bureau sees those of its bases and counties, a county bureau its county's,
    a base its own submissions' — and everyone the batches they started."""
    p = prefix
    match user.role:
        case Role.SYSTEM_ADMIN:
            return ALL
        case Role.CITY_BUREAU:
            scope = _region_tree(user, f"{p}submission__base__region") | _region_tree(user, f"{p}region")
        case Role.COUNTY_BUREAU:
            scope = Q(**{f"{p}region": user.region_id})
        case Role.BASE_STAFF:
            scope = Q(**{f"{p}submission__base": user.base_id})
        case _:
            scope = NONE
    return scope | Q(**{f"{p}requested_by": user.pk})


def _audit_snapshots(user: User) -> Q:
    """Yearly audit snapshots of a city: its bureau, and its counties' bureaus (who see their own rows in them)."""
    match user.role:
        case Role.SYSTEM_ADMIN:
            return ALL
        case Role.CITY_BUREAU:
            return Q(region=user.region_id)
        case Role.COUNTY_BUREAU:
            return Q(region__children=user.region_id)
        case _:
            return NONE


def _audit_rows(user: User, *, unit: str | None = "unit") -> Q:
    """Rows of a snapshot about a county (and a unit): the city bureau all of its city's, a county bureau its own
    county's, a unit admin its unit's."""
    match user.role:
        case Role.SYSTEM_ADMIN:
            return ALL
        case Role.CITY_BUREAU:
            return Q(snapshot__region=user.region_id)
        case Role.COUNTY_BUREAU:
            return Q(county=user.region_id)
        case Role.UNIT_ADMIN if unit:
            return Q(**{unit: user.unit_id})
        case _:
            return NONE


def _city_bureau_only(user: User) -> Q:
    match user.role:
        case Role.SYSTEM_ADMIN:
            return ALL
        case Role.CITY_BUREAU:
            return Q(region=user.region_id)
        case _:
            return NONE


def _lookups(user: User) -> Q:
    """Eligibility lookups: the system admin sees them all; the city bureau supervises the lookups of its city's
    people (and its own); everyone else sees their own."""
    if user.role == Role.SYSTEM_ADMIN:
        return ALL
    if user.role == Role.CITY_BUREAU:
        return _people(user, "person__") | Q(user=user.pk)
    return Q(user=user.pk)


def _audit_events(user: User) -> Q:
    """The audit log: the city bureau supervises the whole portal; superusers own it. Nobody else, not even the
    people the events are about (it would tell them who looked at their records)."""
    return ALL if user.role == Role.CITY_BUREAU or user.is_superuser else NONE


def _reminders(user: User) -> Q:
    if user.role == Role.UNIT_ADMIN:
        return Q(unit=user.unit_id) | Q(person__unit=user.unit_id)
    return _people(user, "person__")


def _users(user: User) -> Q:
    if user.role == Role.SYSTEM_ADMIN:
        return ALL
    return Q(pk=user.pk)


def _everyone(user: User) -> Q:
    return ALL


def _by_prefix(rule: Callable[[User, str], Q], prefix: str) -> Callable[[User], Q]:
    return lambda user: rule(user, prefix)


# model label -> rule giving the filter of what this user may see
SEE: dict[str, Callable[[User], Q]] = {
    "orgs.Region": _everyone,
    "orgs.Industry": _everyone,
    "orgs.IndustryDepartment": _everyone,
    "orgs.Unit": _units,
    "personnel.Person": lambda user: _people(user),
    "personnel.TitleHolding": _by_prefix(_people, "person__"),
    "personnel.PromotionApplication": _by_prefix(_people, "person__"),
    "catalog.YearPolicy": _everyone,
    "catalog.PolicyRequirement": _everyone,
    "catalog.Course": _everyone,
    "bases.TrainingBase": _bases,
    "bases.CountyDelegation": _delegations,
    "ledger.HourEntry": _by_prefix(_people, "person__"),
    "ledger.PersonYearTotal": _by_prefix(_people, "person__"),
    "ledger.HourImport": lambda user: ALL if user.role in (Role.SYSTEM_ADMIN, Role.CITY_BUREAU) else NONE,
    "catalog.IndustryPlan": _plans,
    "enrollment.TrainingClass": _classes,
    "enrollment.Registration": _of_base("training_class__base", people="person"),
    "enrollment.ExamResult": _of_base("registration__training_class__base", people="registration__person"),
    "enrollment.ResultUpload": _of_base("base"),
    "enrollment.OnlineCompletion": _of_base("base", people="person"),
    "enrollment.Submission": _of_base("base"),
    "enrollment.SubmissionItem": _of_base("submission__base", people="person"),
    "enrollment.ReviewDecision": _of_base("item__submission__base", people="item__person"),
    "enrollment.ActivityReport": _by_prefix(_people, "person__"),
    "catalog.ActivityHours": _everyone,
    "accounts.User": _users,
    "certificates.CertificateBatch": _certificate_batches,
    "certificates.CertificateBatchItem": _by_prefix(_certificate_batches, "batch__"),
    "certificates.CertificateChunk": _by_prefix(_certificate_batches, "batch__"),
    "assessment.AuditWeights": _city_bureau_only,
    "assessment.AuditSnapshot": _audit_snapshots,
    "assessment.AuditPersonResult": _audit_rows,
    "assessment.AuditGroupResult": _audit_rows,
    "assessment.Commendation": lambda user: _audit_rows(user, unit=None),
    "eligibility.EligibilityLookup": _lookups,
    "reminders.Reminder": _reminders,
    "auditlog.AuditEvent": _audit_events,
}

TO_MANY_RULES = {"orgs.Unit", "bases.TrainingBase"}

# model label -> roles that may add or change objects they can see
_BUREAUS = {Role.SYSTEM_ADMIN, Role.CITY_BUREAU}
CHANGE: dict[str, set[str]] = {
    "orgs.Region": {Role.SYSTEM_ADMIN},
    "orgs.Industry": _BUREAUS,
    "orgs.IndustryDepartment": _BUREAUS,
    "orgs.Unit": _BUREAUS | {Role.COUNTY_BUREAU},
    "personnel.Person": _BUREAUS | {Role.COUNTY_BUREAU, Role.UNIT_ADMIN},
    "personnel.TitleHolding": _BUREAUS | {Role.COUNTY_BUREAU, Role.UNIT_ADMIN},
    "personnel.PromotionApplication": _BUREAUS | {Role.COUNTY_BUREAU, Role.UNIT_ADMIN},
    "catalog.YearPolicy": _BUREAUS,
    "catalog.PolicyRequirement": _BUREAUS,
    "catalog.Course": _BUREAUS,
    "bases.TrainingBase": _BUREAUS | {Role.COUNTY_BUREAU},
    "bases.CountyDelegation": _BUREAUS | {Role.COUNTY_BUREAU},
    # The ledger is written by its services only (endorsement, import, reversal), never through a form.
    "ledger.HourEntry": set(),
    "ledger.PersonYearTotal": set(),
    "ledger.HourImport": set(),
    # Plans are filed by departments and classes scheduled by bases through their pages (services check the
    # rules); the admin shows these records without forms that would go around those checks.
    "catalog.IndustryPlan": set(),
    "enrollment.TrainingClass": set(),
    "enrollment.Registration": set(),
    "enrollment.ExamResult": set(),
    "enrollment.ResultUpload": set(),
    "enrollment.OnlineCompletion": set(),
    "enrollment.Submission": set(),
    "enrollment.SubmissionItem": set(),
    "enrollment.ReviewDecision": set(),
    # Self-reported activities change only through their services (evidence checks, ledger on recognition).
    "enrollment.ActivityReport": set(),
    "catalog.ActivityHours": _BUREAUS,
    "accounts.User": {Role.SYSTEM_ADMIN},
    # Batches are started and rendered through their service (scope checks, chunking, the worker).
    "certificates.CertificateBatch": set(),
    "certificates.CertificateBatchItem": set(),
    "certificates.CertificateChunk": set(),
    # The audit, lookups and reminders are written by their services only.
    "assessment.AuditWeights": set(),
    "assessment.AuditSnapshot": set(),
    "assessment.AuditPersonResult": set(),
    "assessment.AuditGroupResult": set(),
    "assessment.Commendation": set(),
    "eligibility.EligibilityLookup": set(),
    "reminders.Reminder": set(),
    # Written by apps.auditlog.services.record only; never changed by anyone (the database refuses too).
    "auditlog.AuditEvent": set(),
}

# Roles whose work needs the full ID number (matching uploads, answering enquiries); everyone else sees it masked.
FULL_ID_ROLES = {Role.SYSTEM_ADMIN, Role.CITY_BUREAU, Role.COUNTY_BUREAU, Role.UNIT_ADMIN}


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def _label(model: type[Model] | Model | QuerySet) -> str:
    if isinstance(model, QuerySet):
        model = model.model
    return model._meta.label


def visible(user, model: type[Model] | QuerySet) -> QuerySet:
    """The objects of this kind (or of this queryset) the user may see."""
    qs = model if isinstance(model, QuerySet) else model._default_manager.all()
    if not _active(user):
        return qs.none()
    rule = SEE.get(_label(qs))
    if rule is None:
        return qs.none()
    condition = rule(user)
    if condition == ALL:
        return qs
    qs = qs.filter(condition)
    # Rules that cross a to-many relation (a base's delegations, an industry's departments, a unit's people) could
    # repeat rows; the others must not pay for DISTINCT on every lookup.
    return qs.distinct() if _label(qs) in TO_MANY_RULES else qs


def get_visible_or_404(user, model: type[Model] | QuerySet, **lookup) -> Model:
    try:
        return visible(user, model).get(**lookup)
    except (model.model if isinstance(model, QuerySet) else model).DoesNotExist:
        raise NotVisible() from None


def is_visible(user, obj: Model) -> bool:
    return visible(user, type(obj)).filter(pk=obj.pk).exists()


def can_add(user, model: type[Model]) -> bool:
    return _active(user) and user.role in CHANGE.get(_label(model), set())


def can_change(user, obj: Model) -> bool:
    return can_add(user, type(obj)) and is_visible(user, obj)


def _jurisdiction(user: User) -> Q:
    match user.role:
        case Role.SYSTEM_ADMIN:
            return ALL
        case Role.CITY_BUREAU:
            return Q(pk=user.region_id) | Q(parent=user.region_id) | Q(parent__parent=user.region_id)
        case Role.COUNTY_BUREAU:
            return Q(pk=user.region_id)
        case _:
            return NONE


# Where seeing is not enough to attach: everyone sees every region, but a bureau registers units, bases and
# delegations only in its own jurisdiction.
ASSIGN: dict[str, Callable[[User], Q]] = {
    "orgs.Region": _jurisdiction,
}


def assignable(user, model: type[Model]) -> QuerySet:
    """The objects of this kind a new or changed record of this user may point to (admin choices, imports)."""
    rule = ASSIGN.get(_label(model))
    if rule is None:
        return visible(user, model)
    qs = model._default_manager.all()
    if not _active(user):
        return qs.none()
    condition = rule(user)
    return qs if condition == ALL else qs.filter(condition)


def sees_full_id(user) -> bool:
    return _active(user) and user.role in FULL_ID_ROLES


def registered_models() -> list[type[Model]]:
    return [apps.get_model(label) for label in SEE]
