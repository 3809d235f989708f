from celery import shared_task


@shared_task(name="core.healthcheck")
def healthcheck() -> dict:
    """Proves a worker can reach the database it shares with the web: used by monitoring and the CI round trip."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    return {"database": connection.vendor, "ok": one == 1}
