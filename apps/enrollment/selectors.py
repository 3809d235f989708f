"""Reads of the enrolment app."""
import datetime
from decimal import Decimal

from django.db.models import DecimalField, Sum, Value
from django.db.models.functions import Coalesce

from .models import Submission, SubmissionItem


def pending_hours(*, person_id: int, year: int) -> Decimal:
    """Hours bases have reported (submitted batches) for the person's year but the bureau has not endorsed yet.

    The year is the one the study was completed in. Items of submitted batches still awaiting review count; draft
    batches do not (the base has not reported them), endorsed items are official hours, returned ones are not
    hours at all. A date range rather than `__year`, so the database can use an index on completed_on.
    """
    total = (SubmissionItem.objects
             .filter(person_id=person_id, submission__status=Submission.Status.SUBMITTED, status="pending",
                     completed_on__gte=datetime.date(year, 1, 1), completed_on__lt=datetime.date(year + 1, 1, 1))
             .aggregate(total=Coalesce(Sum("hours"), Value(Decimal(0)),
                                       output_field=DecimalField(max_digits=7, decimal_places=1))))["total"]
    return Decimal(total)
