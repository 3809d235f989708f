"""The yearly audit on Celery workers: thin tasks that call the service (apps/assessment/services.py).

Acknowledged late (settings): a worker killed mid-run leaves the message to be delivered again; the snapshot is
still RUNNING then (its transaction rolled back) and is computed again. A finished or failed snapshot is left alone,
so a redelivered message never yields a second result. Not retried automatically: a failure is recorded on the
snapshot with its reason, and the city bureau re-runs from the page.
"""
from celery import shared_task


@shared_task(name="assessment.run_audit", acks_late=True)
def run_audit(snapshot_id: int | None = None, year: int | None = None, region_id: int | None = None,
              user_id: int | None = None) -> dict:
    """Compute snapshot `snapshot_id`, or start and compute one for (year, region_id, user_id)."""
    from apps.orgs.models import Region

    from .services import audit_purge_replaced, audit_run, audit_start

    if snapshot_id is None:
        from django.contrib.auth import get_user_model

        by = get_user_model().objects.filter(pk=user_id).first() if user_id else None
        snapshot_id = audit_start(year=int(year), region=Region.objects.get(pk=region_id), by=by, enqueue=False).pk
    snapshot = audit_run(snapshot_id=snapshot_id)
    if snapshot.status == snapshot.Status.DONE:
        audit_purge_replaced(snapshot=snapshot)  # housekeeping after the new snapshot is published
    return {"snapshot": snapshot.pk, "status": snapshot.status, "people": snapshot.people,
            "compliant": snapshot.compliant}


@shared_task(name="assessment.run_audit_previous_year", acks_late=True)
def run_audit_previous_year() -> dict:
    """A1, scheduled by celery beat early in January: the city's audit of the year before."""
    from django.conf import settings
    from django.utils import timezone

    from apps.orgs.models import Region

    city = Region.objects.get(code=settings.PORTAL_CITY_CODE)
    return run_audit(year=timezone.localdate().year - 1, region_id=city.pk)
