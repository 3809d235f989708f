"""继续教育证书 pages: the booklet of a person-year and its learning-record PDF, for the trainee and for staff.

Visibility as on 我的学时: a trainee has only their own; staff see the people of their scope; anyone else gets
404 (outside the scope is the same as absent).
"""
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from apps.accounts.models import Role
from apps.accounts.visibility import get_visible_or_404, sees_full_id
from apps.core.errors import NotVisible
from apps.ledger.compliance import fmt
from apps.personnel.models import Person

from . import pdf, selectors

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


def _booklet(request, person: Person, year: int, own: bool):
    pages = selectors.booklet(person=person, year=year)
    return render(request, "certificates/booklet.html", {
        "person": person, "year": year, "pages": pages, "own": own,
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
