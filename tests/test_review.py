"""Review (审核认证): endorsement writes the ledger exactly once; returns need a reason; decisions are recorded."""
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

from apps.accounts.models import Role
from apps.core.errors import Conflict, DomainError
from apps.enrollment import review, submissions
from apps.enrollment.models import ReviewDecision, SubmissionItem
from apps.enrollment.selectors import pending_hours
from apps.ledger import selectors as ledger
from apps.ledger.models import HourEntry
from apps.orgs.models import Region

from . import factories as f
from .test_submissions import world  # noqa: F401 (fixture)


def submitted(base, by=None):
    sub = submissions.submission_create(base=base, by=by)
    submissions.submission_add_ready(submission_id=sub.pk, by=by)
    submissions.submission_submit(submission_id=sub.pk, by=by)
    return sub


@pytest.fixture
def reviewer(world):
    return f.UserFactory(role=Role.CITY_BUREAU, region=Region.objects.get(code="410200"))


def test_endorsing_a_batch_writes_one_ledger_entry_per_item(world, reviewer):
    sub = submitted(world["kfdx"])
    p = world["people"][0]
    assert pending_hours(person_id=p.pk, year=2016) == Decimal(8)  # the face-to-face F01 result
    report = review.submission_endorse_all(submission_id=sub.pk, by=reviewer)
    assert (report.endorsed, report.already) == (2, 0)
    entries = HourEntry.objects.filter(source="endorsement")
    assert entries.count() == 2
    e = entries.get(person=p)
    assert (e.hours, e.category, e.organiser, e.base, e.created_by) == (8, "public_required", "city",
                                                                        world["kfdx"], reviewer)
    assert e.source_object == SubmissionItem.objects.get(person=p, submission=sub)
    assert ledger.totals_for(person_id=p.pk, year=2016).public_required == 8
    assert pending_hours(person_id=p.pk, year=2016) == 0
    assert ReviewDecision.objects.filter(outcome="endorsed", decided_by=reviewer).count() == 2
    assert ledger.ledger_drift()[1] == []


def test_a_retried_endorsement_changes_nothing(world, reviewer):
    sub = submitted(world["kfdx"])
    review.submission_endorse_all(submission_id=sub.pk, by=reviewer)
    ids = list(sub.items.values_list("pk", flat=True))
    again = review.items_endorse(item_ids=ids, by=reviewer)
    assert (again.endorsed, again.already) == (0, 2)
    assert HourEntry.objects.filter(source="endorsement").count() == 2


def test_a_return_needs_a_reason_and_then_can_never_be_endorsed(world, reviewer):
    sub = submitted(world["kfdx"])
    item = sub.items.first()
    with pytest.raises(DomainError) as exc:
        review.item_return(item_id=item.pk, reason=" ", by=reviewer)
    assert exc.value.field == "reason"
    review.item_return(item_id=item.pk, reason="考核记录不全", by=reviewer)
    with pytest.raises(Conflict):
        review.items_endorse(item_ids=[item.pk], by=reviewer)
    assert not HourEntry.objects.exists()
    assert ReviewDecision.objects.get().reason == "考核记录不全"
    assert pending_hours(person_id=item.person_id, year=2016) == 0


def test_an_endorsed_item_cannot_be_returned(world, reviewer):
    sub = submitted(world["kfdx"])
    item = sub.items.first()
    review.items_endorse(item_ids=[item.pk], by=reviewer)
    with pytest.raises(Conflict):
        review.item_return(item_id=item.pk, reason="改判", by=reviewer)
    assert HourEntry.objects.count() == 1


def test_a_draft_batch_cannot_be_reviewed(world, reviewer):
    sub = submissions.submission_create(base=world["kfdx"], by=None)
    submissions.submission_add_ready(submission_id=sub.pk, by=None)
    with pytest.raises(DomainError):
        review.items_endorse(item_ids=list(sub.items.values_list("pk", flat=True)), by=reviewer)
    assert not HourEntry.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_endorsing_at_the_same_moment_count_the_hours_once(world):
    sub = submitted(world["kfdx"])
    reviewers = [f.UserFactory(role=Role.CITY_BUREAU, region=Region.objects.get(code="410200")) for _ in range(2)]
    outcomes, barrier = [], threading.Barrier(2)

    def endorse(user):
        try:
            barrier.wait(timeout=10)
            outcomes.append(review.submission_endorse_all(submission_id=sub.pk, by=user))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=endorse, args=(u,)) for u in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # The second reviewer waits for the first one's row locks, then finds both items endorsed.
    assert sorted((o.endorsed, o.already) for o in outcomes) == [(0, 2), (2, 0)]
    assert HourEntry.objects.filter(source="endorsement").count() == 2
    assert ReviewDecision.objects.count() == 2
    assert ledger.ledger_drift()[1] == []


def test_the_review_queue_page_endorses_and_returns(client, world, reviewer):
    sub = submitted(world["kfdx"])
    client.force_login(reviewer)
    queue = client.get("/enrollment/review/").content.decode()
    assert f'data-batch="{sub.number}"' in queue
    first, second = list(sub.items.order_by("pk"))
    client.post(f"/enrollment/review/{sub.pk}/items/{first.pk}/", {"action": "return", "reason": "材料不全"})
    client.post(f"/enrollment/review/{sub.pk}/endorse-all/")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("returned", "endorsed")
    assert HourEntry.objects.filter(source="endorsement").count() == 1
    assert f'data-batch="{sub.number}"' not in client.get("/enrollment/review/").content.decode()  # done


@pytest.mark.parametrize("role", [Role.BASE_STAFF, Role.COUNTY_BUREAU, Role.UNIT_ADMIN, Role.TRAINEE])
def test_only_the_city_bureau_reviews(client, world, role):
    sub = submitted(world["kfdx"])
    region = Region.objects.get(code="410202")
    user = {Role.BASE_STAFF: lambda: f.UserFactory(role=role, base=world["kfdx"]),
            Role.COUNTY_BUREAU: lambda: f.UserFactory(role=role, region=region),
            Role.UNIT_ADMIN: lambda: f.UserFactory(role=role, unit=world["people"][0].unit),
            Role.TRAINEE: lambda: f.UserFactory(role=role, person=world["people"][0], is_staff=False)}[role]()
    client.force_login(user)
    assert client.get("/enrollment/review/").status_code == 403
    assert client.post(f"/enrollment/review/{sub.pk}/endorse-all/").status_code == 403
    assert not HourEntry.objects.exists()
