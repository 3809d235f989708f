from celery import shared_task


@shared_task(name="enrollment.check_result_upload", acks_late=True)
def check_result_upload(upload_id: int) -> str:
    """Dry run of a large results upload (runs once per upload, so a redelivered task is harmless)."""
    from apps.enrollment.uploads import upload_run_check

    return upload_run_check(upload_id=upload_id).status


@shared_task(name="enrollment.import_result_upload", acks_late=True)
def import_result_upload(upload_id: int, user_id: int | None) -> str:
    """Real run of a confirmed large results upload (all rows or none; a redelivered task finds it done)."""
    from apps.enrollment.uploads import upload_run_import

    return upload_run_import(upload_id=upload_id, user_id=user_id).status
