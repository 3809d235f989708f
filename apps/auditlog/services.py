"""The one writer of the audit log.

`record` joins the caller's transaction (it opens none): called inside an action's `transaction.atomic()`, the
event commits or rolls back with the action. Never pass a password, a full ID number or a token in `target` or
`details`: the log is read by people who must not learn them from it.
"""
import ipaddress
from typing import Any

from django.conf import settings
from django.db.models import Model

from .models import Action, AuditEvent

USER_AGENT_LENGTH = 255


def _proxy_meta_key() -> str | None:
    """The request header a trusted reverse proxy fills with the client address, when one is configured:
    AUDITLOG_IP_META_KEY, else the key the rate limiter already trusts (RATELIMIT_IP_META_KEY). Without one,
    headers are ignored — anyone can send an X-Forwarded-For."""
    for name in ("AUDITLOG_IP_META_KEY", "RATELIMIT_IP_META_KEY"):
        key = getattr(settings, name, None)
        if isinstance(key, str) and key.startswith("HTTP_"):
            return key
    return None


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    meta = getattr(request, "META", None) or {}
    key = _proxy_meta_key()
    if key and meta.get(key):
        # A list (X-Forwarded-For) ends with the address our proxy saw; earlier entries are the client's claims.
        ip = _valid_ip(meta[key].split(",")[-1])
        if ip:
            return ip
    return _valid_ip(meta.get("REMOTE_ADDR"))


def _acting_user(request, user):
    if user is None and request is not None:
        user = getattr(request, "user", None)
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def record(request, action: str, *, target: Model | str = "", target_type: str = "", target_id: Any = "",
           details: dict | None = None, user=None, username: str = "", ip: str | None = None) -> AuditEvent:
    """Write one event. `request` (or None outside a request) gives the user, the address and the browser;
    `user`/`ip` name them when there is no request (a service, a signal). `target` is a model instance (its text,
    label and pk are kept) or a short text. `username` is for a failed login: the name typed, with no user."""
    if action not in Action.values:
        raise ValueError(f"unknown audit action {action!r}")
    actor = _acting_user(request, user)
    if isinstance(target, Model):
        target_type = target_type or target._meta.label
        target_id = target_id if target_id != "" else target.pk
        target = str(target)
    meta = getattr(request, "META", None) or {}
    return AuditEvent.objects.create(
        user=actor,
        username=(actor.get_username() if actor is not None else username or "")[:150],
        role=getattr(actor, "role", "") or "",
        action=action,
        target=str(target or "")[:255],
        target_type=str(target_type or "")[:100],
        target_id=str(target_id if target_id is not None else "")[:64],
        ip=_valid_ip(ip) if ip is not None else client_ip(request),
        user_agent=str(meta.get("HTTP_USER_AGENT", ""))[:USER_AGENT_LENGTH],
        details=details or {},
    )


def record_full_ids(request, *, page: str, target: Model | str = "", person_ids) -> AuditEvent | None:
    """A list page showed full ID numbers: one event naming the page and the people whose numbers it showed
    (their ids, at most MAX_LISTED). Nothing when the list was empty."""
    ids = sorted({int(pk) for pk in person_ids})
    if not ids:
        return None
    return record(request, Action.VIEW_FULL_ID, target=target or page,
                  details={"page": page, "people": len(ids), "person_ids": ids[:MAX_LISTED]})


MAX_LISTED = 200  # a page shows 50 rows; a review batch may list a few hundred
