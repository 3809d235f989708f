from django.conf import settings
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

PORTAL_NAME = _("开封市专业技术人员继续教育管理平台")


def _organisation_label(user) -> str:
    """What the header shows after the role: the unit for a trainee (their 'organisation' is their own Person,
    whose str() carries the ID number), the organisation's name for everyone else, nothing for the system admin."""
    if not getattr(user, "is_authenticated", False) or not hasattr(user, "role"):
        return ""
    if user.role == "trainee":
        return user.person.unit.name if user.person_id else ""
    org = user.organisation
    return str(org) if org is not None else ""


def _display_name(user) -> str:
    """A trainee by their registered name; Chinese names family name first with no space (张建国), others as
    Django joins them; the username when no name is set."""
    if not getattr(user, "is_authenticated", False):
        return ""
    if getattr(user, "role", None) == "trainee" and user.person_id:
        return user.person.name
    first, last = user.first_name.strip(), user.last_name.strip()
    if not (first or last):
        return user.username
    if all("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        return f"{last}{first}"
    return user.get_full_name()


def portal(request) -> dict:
    # Lazy: the admin and API pages run this processor too and should not pay for a query they never show.
    user = getattr(request, "user", None)
    return {
        "PORTAL_NAME": PORTAL_NAME,
        "PORTAL_CITY_CODE": settings.PORTAL_CITY_CODE,
        "portal_org_label": SimpleLazyObject(lambda: _organisation_label(user)),
        "portal_user_name": SimpleLazyObject(lambda: _display_name(user)),
    }
