from celery import shared_task


@shared_task(name="reminders.send_reminders", acks_late=True)
def send_reminders() -> dict:
    """Weekly (celery beat). A redelivery is harmless: whoever was reminded in the last 7 days is skipped."""
    from apps.reminders.services import reminders_send

    return reminders_send()
