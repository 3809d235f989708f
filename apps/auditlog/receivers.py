"""Events that come from signals rather than from a view's explicit `record` call.

- Logins, logouts and failed logins: Django's auth signals (every login path, including the admin's), and the
  lockout django-axes announces. A failed login keeps the name typed, never the password.
- Ledger reversals and eligibility lookups happen in services of apps below this one (the ledger, eligibility),
  which must not import it. Their rows are saved inside the service's transaction, so an event written on their
  `post_save` commits or rolls back with them, whatever path (page, API, command) called the service.
"""
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from .models import Action
from .services import record


def on_login(sender, request, user, **kwargs) -> None:
    record(request, Action.LOGIN, user=user, target=user)


def on_logout(sender, request, user, **kwargs) -> None:
    # `user` is None when the session had already expired: still a logout from this browser.
    record(request, Action.LOGOUT, user=user, target=user or "")


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # `credentials` holds the password (masked by Django, but still): only the name is kept.
    attempted = str((credentials or {}).get("username") or "")
    record(request, Action.LOGIN_FAILED, username=attempted, target=attempted)


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    record(request, Action.LOCKOUT, username=str(username or ""), target=str(username or ""),
           ip=None if request is not None else ip_address)


def on_hour_entry_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if not created or raw or instance.reverses_id is None:
        return
    original = instance.reverses
    record(None, Action.REVERSAL, user=instance.created_by, target=original,
           details={"reversal_id": instance.pk, "person_id": instance.person_id, "year": instance.year,
                    "category": instance.category, "hours": instance.hours, "reason": instance.reason})


def on_eligibility_lookup_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if not created or raw:
        return
    record(None, Action.ELIGIBILITY_LOOKUP, user=instance.user, ip=instance.ip or "",
           target=instance.person if instance.person_id else instance.id_number_masked,
           details={"lookup_id": instance.pk, "id_number": instance.id_number_masked, "years": instance.years,
                    "outcome": instance.outcome, "channel": instance.channel})


def connect() -> None:
    from axes.signals import user_locked_out
    from django.db.models.signals import post_save

    from apps.eligibility.models import EligibilityLookup
    from apps.ledger.models import HourEntry

    user_logged_in.connect(on_login, dispatch_uid="auditlog_login")
    user_logged_out.connect(on_logout, dispatch_uid="auditlog_logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="auditlog_login_failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="auditlog_locked_out")
    post_save.connect(on_hour_entry_saved, sender=HourEntry, dispatch_uid="auditlog_reversal")
    post_save.connect(on_eligibility_lookup_saved, sender=EligibilityLookup, dispatch_uid="auditlog_eligibility")
