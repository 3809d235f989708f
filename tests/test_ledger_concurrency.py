"""Concurrent writers on real PostgreSQL: totals stay equal to the journal, and an entry is reversed once."""
import datetime
import random
import threading
from decimal import Decimal as D

import pytest
from django.db import close_old_connections, connection, transaction

from apps.core.errors import Conflict
from apps.ledger import selectors, services
from apps.ledger.models import HourEntry
from apps.orgs.models import Region

from . import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_threads(n: int, work) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def runner(i):
        try:
            barrier.wait(timeout=10)
            work(i)
        except BaseException as exc:  # collected and asserted by the test
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


@pytest.fixture
def people(kaifeng):
    unit = f.UnitFactory(region=Region.objects.get(code="410202"))
    return [f.PersonFactory(unit=unit) for _ in range(6)]


def test_concurrent_writers_and_reversals_leave_no_drift(people):
    ids = [p.pk for p in people]

    def work(i):
        rng = random.Random(i)
        for n in range(60):
            with transaction.atomic():
                # Several people per transaction, in a different order in every thread.
                batch = rng.sample(ids, 3)
                made = services.entries_record(entries=[services.EntryInput(
                    person_id=pid, category=rng.choice(["public_required", "public_elective", "professional"]),
                    hours=D(rng.randint(1, 20)) / 2, completed_on=datetime.date(2016, rng.randint(1, 12), 1),
                    source="migration", source_key=f"c:{i}:{n}:{pid}", organiser="city") for pid in batch])
            if n % 5 == 0:
                with transaction.atomic():
                    services.entry_reverse(entry_id=made[0].pk, reason="并发冲正")

    errors = run_threads(6, work)
    assert errors == []
    assert HourEntry.objects.filter(source="migration").count() == 6 * 60 * 3
    checked, drift = selectors.ledger_drift()
    assert drift == [] and checked == len(people)


def test_two_reviewers_reversing_the_same_entry_at_once_reverse_it_once(people):
    with transaction.atomic():
        (entry,) = services.entries_record(entries=[services.EntryInput(
            person_id=people[0].pk, category="professional", hours=D(10), completed_on=datetime.date(2016, 3, 1),
            source="migration", source_key="race")])
    outcomes = []

    def work(i):
        try:
            with transaction.atomic():
                services.entry_reverse(entry_id=entry.pk, reason=f"审核员{i}")
            outcomes.append("reversed")
        except Conflict:
            outcomes.append("conflict")

    assert run_threads(4, work) == []
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "reversed"]
    assert HourEntry.objects.filter(reverses=entry).count() == 1
    assert selectors.ledger_drift()[1] == []


def test_the_same_source_key_from_concurrent_requests_counts_once(people):
    """A retried request racing its original: the unique key lets one in, the other fails cleanly."""
    from django.db import IntegrityError

    results = []

    def work(i):
        try:
            with transaction.atomic():
                made = services.entries_record(entries=[services.EntryInput(
                    person_id=people[1].pk, category="professional", hours=D(4),
                    completed_on=datetime.date(2016, 5, 1), source="migration", source_key="retry-1")])
            results.append(len(made))
        except IntegrityError:
            results.append("duplicate refused")

    assert run_threads(4, work) == []
    assert HourEntry.objects.filter(source_key="retry-1").count() == 1
    assert results.count(1) == 1
    assert selectors.totals_for(person_id=people[1].pk, year=2016).professional == 4
