from celery import shared_task


@shared_task(name="ledger.open_year", acks_late=True)
def open_year(year: int) -> int:
    """Give everyone holding a title a person-year row for `year` (idempotent, so a retry is harmless)."""
    from apps.ledger.services import year_open

    return year_open(year=year)
