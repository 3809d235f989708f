from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    TRAINEE = "trainee", _("专业技术人员")
    UNIT_ADMIN = "unit_admin", _("单位管理员")
    BASE_STAFF = "base_staff", _("基地工作人员")
    INDUSTRY_DEPT = "industry_dept", _("行业主管部门")
    COUNTY_BUREAU = "county_bureau", _("县（区）人社局")
    CITY_BUREAU = "city_bureau", _("市人社局")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")


# The organisation each role is held for; the database refuses a user whose role lacks it.
ROLE_ORG_FIELD = {
    Role.TRAINEE: "person",
    Role.UNIT_ADMIN: "unit",
    Role.BASE_STAFF: "base",
    Role.INDUSTRY_DEPT: "department",
    Role.COUNTY_BUREAU: "region",
    Role.CITY_BUREAU: "region",
    Role.SYSTEM_ADMIN: None,
}
ORG_FIELDS = ("person", "unit", "base", "department", "region")


def _role_constraint() -> Q:
    q = Q()
    for role, field in ROLE_ORG_FIELD.items():
        wanted = Q(role=role)
        for f in ORG_FIELDS:
            wanted &= Q(**{f"{f}__isnull": f != field})
        q |= wanted
    return q


class PortalUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.SYSTEM_ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A login. Each user holds one role for one organisation (a trainee's organisation is their Person)."""

    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.TRAINEE)
    person = models.OneToOneField("personnel.Person", models.PROTECT, null=True, blank=True, related_name="user",
                                  verbose_name=_("对应人员"))
    unit = models.ForeignKey("orgs.Unit", models.PROTECT, null=True, blank=True, related_name="admins",
                             verbose_name=_("单位"))
    base = models.ForeignKey("bases.TrainingBase", models.PROTECT, null=True, blank=True, related_name="staff",
                             verbose_name=_("基地"))
    department = models.ForeignKey("orgs.IndustryDepartment", models.PROTECT, null=True, blank=True,
                                   related_name="staff", verbose_name=_("行业主管部门"))
    region = models.ForeignKey("orgs.Region", models.PROTECT, null=True, blank=True, related_name="bureau_staff",
                               verbose_name=_("人社局（区划）"))

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [models.CheckConstraint(condition=_role_constraint(), name="user_role_matches_organisation")]

    objects = PortalUserManager()

    def clean(self) -> None:
        super().clean()
        field = ROLE_ORG_FIELD.get(self.role)
        errors = {}
        for f in ORG_FIELDS:
            value_set = getattr(self, f"{f}_id") is not None
            if f == field and not value_set:
                errors[f] = _("角色“%(role)s”须指定此项") % {"role": self.get_role_display()}
            elif f != field and value_set:
                errors[f] = _("角色“%(role)s”不应指定此项") % {"role": self.get_role_display()}
        if not errors and field == "region":
            wanted = "county" if self.role == Role.COUNTY_BUREAU else "city"
            if self.region.kind != wanted:
                errors["region"] = _("%(role)s须对应%(kind)s级区划") % {
                    "role": self.get_role_display(), "kind": _("县（区）") if wanted == "county" else _("市")}
        if errors:
            raise ValidationError(errors)

    @property
    def organisation(self):
        field = ROLE_ORG_FIELD[self.role]
        return getattr(self, field) if field else None
