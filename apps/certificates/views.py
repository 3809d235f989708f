"""继续教育证书 pages: the booklet of a person-year and its learning-record PDF, for the trainee and for staff.

Visibility as on 我的学时: a trainee has only their own; staff see the people of their scope; anyone else gets
404 (outside the scope is the same as absent).

The verification page (/verify/<serial>/) is the one public page: anyone holding a certificate or its QR code
checks it there, without login, rate-limited per IP so the serials cannot be enumerated cheaply.
"""
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django_ratelimit.decorators import ratelimit

from apps.accounts.models import Role
from apps.accounts.visibility import get_visible_or_404, sees_full_id
from apps.core.errors import DomainError, NotVisible
from apps.enrollment.models import Submission, SubmissionItem
from apps.ledger.compliance import fmt
from apps.personnel.models import Person

from . import pdf, selectors, signing, verification

YEARS = range(1990, 2101)  # the ledger's CHECK range: no entries outside it
PERSON_QS = Person.objects.select_related("unit__region")


def _own_person(request, year: int) -> Person:
    if year not in YEARS or request.user.role != Role.TRAINEE or not request.user.person_id:
        raise Http404
    return _person(request, request.user.person_id, year)


def _person(request, person_id: int, year: int) -> Person:
    if year not in YEARS:
        raise Http404
    try:
        return get_visible_or_404(request.user, PERSON_QS, pk=person_id)
    except NotVisible:
        raise Http404 from None


def _qr_codes(request, pages) -> dict[str, str]:
    """certificate serial → QR code (inline SVG) of its verification address with the signed token."""
    valid = verification.valid_certificates(p.certificate_no for p in pages if p.certificate_no and not p.revoked)
    # The SVG is generated here from our own URL, never from user input, so it is safe to inline.
    return {serial: mark_safe(verification.qr_svg(request.build_absolute_uri(verification.verify_path(cert))))
            for serial, cert in valid.items()}


def _booklet(request, person: Person, year: int, own: bool):
    pages = selectors.booklet(person=person, year=year)
    qr_codes = _qr_codes(request, pages)
    # The valid certificates' items, for the 合格证书 download link (one query).
    item_ids = dict(SubmissionItem.objects.filter(certificate_no__in=list(qr_codes))
                    .values_list("certificate_no", "pk"))
    return render(request, "certificates/booklet.html", {
        "person": person, "year": year, "pages": pages, "own": own,
        "page_rows": [(p, qr_codes.get(p.certificate_no) if not p.revoked else None,
                       item_ids.get(p.certificate_no) if not p.revoked else None) for p in pages],
        "total": fmt(sum((p.hours for p in pages if not p.revoked), Decimal(0))),
        "id_number": person.id_number if not own and sees_full_id(request.user) else person.masked_id,
    })


def _download(person: Person, year: int) -> HttpResponse:
    filename, content_type, data = pdf.learning_record_pdf(person=person, year=year)
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def my_booklet(request, year: int):
    return _booklet(request, _own_person(request, year), year, own=True)


@login_required
def my_learning_record(request, year: int):
    return _download(_own_person(request, year), year)


@login_required
def person_booklet(request, person_id: int, year: int):
    return _booklet(request, _person(request, person_id, year), year, own=False)


@login_required
def person_learning_record(request, person_id: int, year: int):
    return _download(_person(request, person_id, year), year)


def _attachment(filename: str, content_type: str, data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def item_certificate(request, item_id: int):
    """The 合格证书 of one endorsed item: its trainee, the staff of its base and the bureaus (visibility decides;
    outside the scope is 404). An item not (or no longer) endorsed is refused with the reason."""
    try:
        item = get_visible_or_404(request.user, SubmissionItem.objects.select_related("person", "course"), pk=item_id)
    except NotVisible:
        raise Http404 from None
    try:
        return _attachment(*pdf.qualification_certificate_pdf(item=item))
    except DomainError as exc:
        return HttpResponse(str(exc.message), status=409, content_type="text/plain; charset=utf-8")


LIST_ROLES = (Role.CITY_BUREAU, Role.SYSTEM_ADMIN)


@login_required
def batch_endorsement_list(request, submission_id: int):
    """The endorsement list (认证清单) of a submitted batch, for the city bureau and the system admin only."""
    if request.user.role not in LIST_ROLES:
        raise PermissionDenied
    try:
        submission = get_visible_or_404(request.user, Submission.objects.filter(status=Submission.Status.SUBMITTED)
                                        .select_related("base"), pk=submission_id)
    except NotVisible:
        raise Http404 from None
    return _attachment(*pdf.endorsement_list_pdf(submission=submission))


VERIFY_RATE = "30/m"


@ratelimit(key="ip", rate=VERIFY_RATE, block=False)
def verify(request, serial: str):
    if getattr(request, "limited", False):
        return render(request, "errors/429.html", status=429)
    certificate = verification.certificate_by_serial(serial)
    if certificate is None:
        return render(request, "certificates/verify.html", {"serial": serial}, status=404)
    token = request.GET.get("t")
    signature = None  # not asked
    if token is not None:
        try:
            claimed = signing.verify(token)
        except signing.InvalidToken:
            signature = "invalid"
        else:
            # A genuine token of another certificate must not vouch for this one.
            signature = "valid" if claimed.get("s") == certificate.serial else "invalid"
    return render(request, "certificates/verify.html", {
        "serial": serial, "certificate": certificate, "signature": signature,
        "public_key": signing.public_key_b64(),
        "VALID": verification.VALID, "REVOKED": verification.REVOKED,
    })
