from django.core.management import call_command

from apps.catalog.models import YearPolicy
from apps.ledger import selectors
from apps.ledger.demo_seed import demo_hours_seed
from apps.ledger.models import HourEntry


def test_seed_demo_gives_people_a_realistic_year_of_hours_once(kaifeng):
    call_command("seed_demo", "--people", "300", "--year", "2016", verbosity=0)
    entries = HourEntry.objects.count()
    assert 8 * 300 <= entries <= 14 * 300  # about ten a person
    summary = selectors.scope_compliance(year=2016, policy=YearPolicy.objects.get(year=2016)).summary()
    assert summary["people"] == 300
    assert 0.6 <= summary["rate"] <= 0.95  # most, not all, meet the year's requirement
    assert selectors.ledger_drift(year=2016)[1] == []
    # Every entry came through the ledger service, with its provenance.
    assert not HourEntry.objects.filter(source_type__isnull=True).exists()
    again = demo_hours_seed(year=2016)
    assert again.entries == 0 and HourEntry.objects.count() == entries


def test_seed_demo_without_hours(kaifeng):
    call_command("seed_demo", "--people", "50", "--year", "2016", "--no-hours", verbosity=0)
    assert not HourEntry.objects.exists()
