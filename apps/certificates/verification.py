"""Public verification of qualification certificates (合格证书) by serial: what a stranger may read, and the signed
token and QR code that lead there.

A certificate is valid only while the bureau's endorsement stands: an item never endorsed (pending or returned)
is no certificate, and an endorsement whose ledger entry was reversed is revoked. Only masked personal data
leaves here; the full ID number and the unit never do.
"""
import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

import qrcode
import qrcode.image.svg
from django.urls import reverse

from apps.core.identifiers import mask_id_number
from apps.enrollment.models import ReviewDecision, SubmissionItem
from apps.ledger.compliance import fmt

from . import signing
from .pdf import ISSUER

VALID, REVOKED, NOT_ENDORSED = "valid", "revoked", "not_endorsed"


def mask_name(name: str) -> str:
    """周证书 → 周**: the first character, one star per remaining character."""
    name = (name or "").strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""


@dataclass(frozen=True)
class PublicCertificate:
    serial: str
    masked_name: str
    masked_id: str
    course: str
    hours: Decimal
    completed_on: datetime.date
    issuer: str
    status: str  # VALID, REVOKED or NOT_ENDORSED

    def payload(self) -> dict:
        """What the signed token carries (compact keys: the token ends up in a QR code)."""
        return {"s": self.serial, "n": self.masked_name, "id": self.masked_id, "c": self.course,
                "h": fmt(self.hours), "d": self.completed_on.isoformat(), "i": self.issuer}


def _public(item: SubmissionItem, status: str) -> PublicCertificate:
    return PublicCertificate(
        serial=item.certificate_no, masked_name=mask_name(item.person.name),
        masked_id=mask_id_number(item.person.id_number), course=item.course.title, hours=item.hours,
        completed_on=item.completed_on, issuer=ISSUER, status=status,
    )


def _status(item: SubmissionItem, decision: ReviewDecision | None) -> str:
    if item.status != "endorsed" or decision is None:
        return NOT_ENDORSED
    return REVOKED if getattr(decision.entry, "reversed_by", None) is not None else VALID


def certificate_by_serial(serial: str) -> PublicCertificate | None:
    item = SubmissionItem.objects.select_related("person", "course").filter(certificate_no=serial).first()
    if item is None:
        return None
    decision = (ReviewDecision.objects.filter(item=item, outcome=ReviewDecision.Outcome.ENDORSED, entry__isnull=False)
                .select_related("entry__reversed_by").order_by("-decided_at").first())
    return _public(item, _status(item, decision))


def valid_certificates(serials: Iterable[str]) -> dict[str, PublicCertificate]:
    """serial → certificate for those of `serials` that are valid now (one query: the booklet's QR codes)."""
    decisions = (ReviewDecision.objects
                 .filter(item__certificate_no__in=list(serials), item__status="endorsed",
                         outcome=ReviewDecision.Outcome.ENDORSED, entry__isnull=False, entry__reversed_by__isnull=True)
                 .select_related("item__person", "item__course"))
    return {d.item.certificate_no: _public(d.item, VALID) for d in decisions}


def verify_path(certificate: PublicCertificate) -> str:
    """The verification page with the signed token, relative to the site (the caller makes it absolute)."""
    return f"{reverse('verify', args=[certificate.serial])}?t={signing.sign(certificate.payload())}"


def qr_svg(url: str) -> str:
    """An inline SVG QR code of `url` (a path, no raster image library needed)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return image.to_string(encoding="unicode")
