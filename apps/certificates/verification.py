"""Public verification of qualification certificates (合格证书) by serial: what a stranger may read, and the signed
token and QR code that lead there.

A certificate is valid only while the bureau's endorsement stands: an item never endorsed (pending or returned)
is no certificate, and an endorsement whose ledger entry was reversed is revoked. Only masked personal data
leaves here; the full ID number and the unit never do.
"""
import base64
import datetime
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

import segno
from PIL import Image
from django.urls import reverse

from apps.core.identifiers import mask_id_number
from apps.enrollment.models import ReviewDecision, SubmissionItem
from apps.ledger.compliance import fmt

from . import signing
from .pdf import ISSUER

QR_BORDER = 2  # quiet zone, in modules
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


def public_certificate(item: SubmissionItem, status: str) -> PublicCertificate:
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
    return public_certificate(item, _status(item, decision))


def standing_decisions():
    """Endorsements that stand: the item endorsed, the ledger entry written and not reversed. A certificate is
    valid exactly while its item has one (the booklet's QR codes, the PDFs, the batches all ask this)."""
    return ReviewDecision.objects.filter(item__status="endorsed", outcome=ReviewDecision.Outcome.ENDORSED,
                                         entry__isnull=False, entry__reversed_by__isnull=True)


def standing_items():
    """The items of `standing_decisions` (an item is endorsed at most once, so no duplicates)."""
    return SubmissionItem.objects.filter(pk__in=standing_decisions().values("item_id"))


def valid_certificates(serials: Iterable[str]) -> dict[str, PublicCertificate]:
    """serial → certificate for those of `serials` that are valid now (one query: the booklet's QR codes)."""
    decisions = (standing_decisions().filter(item__certificate_no__in=list(serials))
                 .select_related("item__person", "item__course"))
    return {d.item.certificate_no: public_certificate(d.item, VALID) for d in decisions}


def verify_path(certificate: PublicCertificate) -> str:
    """The verification page with the signed token, relative to the site (the caller makes it absolute)."""
    return f"{reverse('verify', args=[certificate.serial])}?t={signing.sign(certificate.payload())}"


def _qr(url: str):
    # Mask pattern 0 rather than the best of eight: any mask is valid for readers, and scoring all eight costs
    # ~20 ms a code (most of a certificate page in a batch). Level M survives a creased or stained printout.
    return segno.make_qr(url, error="m", mask=0, boost_error=False)


def qr_svg(url: str) -> str:
    """An inline SVG QR code of `url` for web pages (sized by CSS through its viewBox)."""
    return _qr(url).svg_inline(border=QR_BORDER, omitsize=True, title="QR")


def qr_png_data_uri(url: str) -> str:
    """The QR code of `url` as a data: URI of a grayscale PNG with one pixel per module, for PDFs: WeasyPrint embeds
    the tiny image and the page scales it with crisp edges, far cheaper than drawing thousands of SVG squares.
    Grayscale ("L"), not 1-bit: WeasyPrint converts 1-bit images to RGB and encodes them again, but embeds an "L"
    PNG as it is. Pillow (a WeasyPrint dependency) writes it, twice as fast as segno's pure-Python writer."""
    matrix = _qr(url).matrix
    size = len(matrix) + 2 * QR_BORDER
    pixels = bytearray(b"\xff" * size * size)  # white, then the dark modules drawn in
    for y, row in enumerate(matrix):
        start = (y + QR_BORDER) * size + QR_BORDER
        pixels[start:start + len(row)] = bytes(0 if dark else 255 for dark in row)
    out = io.BytesIO()
    Image.frombytes("L", (size, size), bytes(pixels)).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")
