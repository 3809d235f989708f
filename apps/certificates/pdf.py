"""The yearly learning record (继续教育学习档案) as a print-ready A4 PDF, one person-year per call.

Returns (filename, content_type, bytes) like every export. Rendering takes ~0.1–0.2 s with libharfbuzz-subset0
installed (font subsetting dominates), so a single download renders in the request; batches belong in a task.
"""
import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone

from apps.core.errors import DomainError
from apps.ledger import selectors as ledger
from apps.ledger.compliance import fmt
from apps.personnel.models import Person, TitleLevel

from .selectors import booklet

ISSUER = "开封市人力资源和社会保障局"
CONTENT_TYPE = "application/pdf"
RULE_LABELS = {"total": "总学时", "public": "公需科目", "public_required": "其中必修", "professional": "专业科目"}


@dataclass(frozen=True)
class Line:
    label: str
    actual: str
    required: str
    met: bool


def serial_number(*, person: Person, year: int) -> str:
    return f"XDA-{year}-{person.pk:08d}"


def learning_record_context(*, person: Person, year: int, today: datetime.date | None = None) -> dict:
    pages = booklet(person=person, year=year)
    context = {
        "person": person, "year": year, "masked_id": person.masked_id, "pages": pages,
        "booklet_total": fmt(sum((p.hours for p in pages if not p.revoked), Decimal(0))),
        "issuer": ISSUER, "serial": serial_number(person=person, year=year),
        "issued_on": today or timezone.localdate(), "result": None, "problem": "", "level_label": "", "lines": [],
    }
    try:
        result = ledger.person_compliance(person=person, year=year)
    except DomainError as exc:  # no policy or no title: the record still lists the hours, and says why
        context["problem"] = str(exc.message)
        return context
    context.update(result=result, level_label=TitleLevel(result.level).label, lines=[
        Line(RULE_LABELS[key], fmt(rule.actual), fmt(rule.required), rule.met)
        for key in RULE_LABELS if (rule := result.rule(key)) is not None])
    return context


def learning_record_pdf(*, person: Person, year: int) -> tuple[str, str, bytes]:
    from weasyprint import HTML  # imported here: loading WeasyPrint (Pango, fonts) costs every process otherwise

    html = render_to_string("certificates/learning_record.html", learning_record_context(person=person, year=year))
    data = HTML(string=html).write_pdf()
    return f"learning-record-{year}-{person.pk}.pdf", CONTENT_TYPE, data


# --- the qualification certificate (合格证书) and the batch endorsement list (认证清单) ---------------------------


class NotACertificate(DomainError):
    default_message = "该记录尚未经认证，不能出具合格证书"


def _absolute(path: str) -> str:
    from django.conf import settings

    return settings.PORTAL_BASE_URL.rstrip("/") + path


def certificate_contexts(items) -> list[dict]:
    """What each 合格证书 page prints, for endorsed SubmissionItems whose endorsement stands (three queries for any
    number of items). The issue date is the endorsement's, so a certificate rendered again is the same document.
    Raises NotACertificate naming the first item that is not (or no longer) endorsed."""
    from apps.enrollment.models import SubmissionItem

    from . import verification  # imported here: verification imports this module (ISSUER)

    items = list(SubmissionItem.objects.filter(pk__in=[i.pk for i in items])
                 .select_related("person", "course", "submission__base").order_by("pk"))
    decided = dict(verification.standing_decisions().filter(item__in=items).values_list("item_id", "decided_at"))
    contexts = []
    for item in items:
        if item.status != "endorsed":
            raise NotACertificate(f"{item.certificate_no}：该记录尚未经认证，不能出具合格证书", field="item",
                                  code="not_endorsed")
        if item.pk not in decided:
            raise NotACertificate(f"{item.certificate_no}：该证书的认证已撤销，不能出具合格证书", field="item",
                                  code="revoked")
        public = verification.public_certificate(item, verification.VALID)
        contexts.append({
            "serial": item.certificate_no, "name": item.person.name, "masked_id": public.masked_id,
            "course": item.course.title, "category": item.course.get_category_display(), "hours": fmt(item.hours),
            "completed_on": item.completed_on, "base": item.submission.base.name, "issuer": ISSUER,
            "issued_on": timezone.localdate(decided[item.pk]),
            "qr": verification.qr_png_data_uri(_absolute(verification.verify_path(public))),
        })
    return contexts


def certificates_html(contexts: list[dict]) -> str:
    return render_to_string("certificates/qualification_certificates.html", {"certificates": contexts})


def qualification_certificates_pdf(items) -> bytes:
    """Many 合格证书 as the pages of one document: fonts are loaded and subset once for all of them, which is what
    makes batch generation an order of magnitude cheaper than one document per certificate."""
    from weasyprint import HTML  # imported here: loading WeasyPrint (Pango, fonts) costs every process otherwise

    return HTML(string=certificates_html(certificate_contexts(items))).write_pdf()


def qualification_certificate_pdf(*, item) -> tuple[str, str, bytes]:
    """The A4 合格证书 of one endorsed SubmissionItem, with the QR code of its verification address (signed token).
    Refused (NotACertificate) for an item the bureau has not endorsed, or whose endorsement was revoked."""
    return f"certificate-{item.certificate_no}.pdf", CONTENT_TYPE, qualification_certificates_pdf([item])


def endorsement_list_pdf(*, submission, today: datetime.date | None = None) -> tuple[str, str, bytes]:
    """The bureau's endorsement list (认证清单) of one batch: every item in one document (a page of a multi-page
    document costs ~10–26 ms, far less than one document per item)."""
    from weasyprint import HTML

    items = list(submission.items.select_related("person", "course").order_by("pk"))
    endorsed = [i for i in items if i.status == "endorsed"]
    html = render_to_string("certificates/endorsement_list.html", {
        "submission": submission, "base": submission.base, "items": items,
        "count": len(items), "endorsed_count": len(endorsed),
        "total_hours": fmt(sum((i.hours for i in items), Decimal(0))),
        "endorsed_hours": fmt(sum((i.hours for i in endorsed), Decimal(0))),
        "issuer": ISSUER, "issued_on": today or timezone.localdate(),
    })
    return f"endorsement-list-{submission.number}.pdf", CONTENT_TYPE, HTML(string=html).write_pdf()
