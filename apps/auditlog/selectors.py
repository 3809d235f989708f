"""Reads of the audit log: who may search it, and the filtered events, newest first."""
import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import Role
from apps.accounts.visibility import visible

from .models import Action, AuditEvent


def may_search(user) -> bool:
    """The city bureau supervises the portal; superusers (the system's owners) too. Nobody else."""
    return bool(user and user.is_authenticated and user.is_active
                and (user.role == Role.CITY_BUREAU or user.is_superuser))


def _day(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value.strip()) if value and value.strip() else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Filters:
    day_from: datetime.date | None = None
    day_to: datetime.date | None = None
    action: str = ""
    username: str = ""
    target: str = ""
    ip: str = ""

    @classmethod
    def from_query(cls, query) -> "Filters":
        action = query.get("action", "").strip()
        return cls(day_from=_day(query.get("from", "")), day_to=_day(query.get("to", "")),
                   action=action if action in Action.values else "",
                   username=query.get("user", "").strip()[:150], target=query.get("target", "").strip()[:255],
                   ip=query.get("ip", "").strip()[:45])

    def as_query(self) -> dict[str, str]:
        """The filters as query parameters (for the pager and the export links), empty ones left out."""
        pairs = {"from": self.day_from.isoformat() if self.day_from else "",
                 "to": self.day_to.isoformat() if self.day_to else "",
                 "action": self.action, "user": self.username, "target": self.target, "ip": self.ip}
        return {k: v for k, v in pairs.items() if v}


def events_for(user, filters: Filters) -> QuerySet:
    qs = visible(user, AuditEvent)
    tz = timezone.get_current_timezone()
    if filters.day_from:
        qs = qs.filter(at__gte=datetime.datetime.combine(filters.day_from, datetime.time.min, tz))
    if filters.day_to:
        qs = qs.filter(at__lt=datetime.datetime.combine(filters.day_to + datetime.timedelta(days=1),
                                                        datetime.time.min, tz))
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.username:
        qs = qs.filter(username__icontains=filters.username)
    if filters.target:
        qs = qs.filter(Q(target__icontains=filters.target) | Q(target_id=filters.target))
    if filters.ip:
        # A whole address matches exactly; a prefix ("10.2.") matches the addresses that start with it.
        qs = qs.filter(ip__startswith=filters.ip)
    return qs.order_by("-at", "-pk")
