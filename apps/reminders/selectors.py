"""Reads of reminders: the notices a home page shows."""
from django.db.models import QuerySet

from apps.accounts.models import Role
from apps.accounts.visibility import visible

from .models import Reminder

NOTICE_LIMIT = 3


def notices_for(user) -> QuerySet | list:
    """The latest unread reminders addressed to this user: a trainee's own, a unit admin's unit's (not the
    reminders of the unit's people, which are theirs to read)."""
    if not (user and user.is_authenticated):
        return []
    if user.role == Role.TRAINEE and user.person_id:
        mine = {"person": user.person_id}
    elif user.role == Role.UNIT_ADMIN and user.unit_id:
        mine = {"unit": user.unit_id, "person__isnull": True}
    else:
        return []
    return list(visible(user, Reminder).filter(read_at__isnull=True, **mine)
                .order_by("-created_at", "-pk")[:NOTICE_LIMIT])
