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
