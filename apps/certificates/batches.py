"""Batch generation of qualification certificates (合格证书) by Celery workers: a submitted batch of a base, or a
county's certificates of a year.

- `batch_start` checks who asks for what, freezes the certificates (one INSERT … SELECT, numbered into chunks)
  and enqueues one task per chunk only after the transaction commits, so a worker never looks for a batch that
  is not there yet.
- `chunk_render` (the task's body) renders a chunk as ONE multi-page PDF — fonts are loaded and subset once per
  chunk instead of once per certificate — to a file name fixed by (batch, chunk). It is idempotent: a chunk already
  recorded is skipped, a chunk rendered by a worker killed before recording it is rendered again over the same
  file, and the unique (batch, number) row keeps one record. Serials are the items' own: nothing is numbered here.
- `batch_finish` builds the zip (the chunk PDFs and an index of serial → file, page) once every chunk is in.
"""
import csv
import hashlib
import io
import math
import tempfile
import zipfile

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Role
from apps.accounts.visibility import assignable, get_visible_or_404
from apps.core.errors import DomainError, NotVisible
from apps.enrollment.models import Submission
from apps.orgs.models import Region

from . import pdf, verification
from .models import CertificateBatch, CertificateBatchItem, CertificateChunk

SUBMISSION_ROLES = (Role.SYSTEM_ADMIN, Role.CITY_BUREAU, Role.BASE_STAFF)
COUNTY_ROLES = (Role.SYSTEM_ADMIN, Role.CITY_BUREAU, Role.COUNTY_BUREAU)


class BatchRefused(DomainError):
    default_message = _("不能生成这批证书")


def counties_for(user):
    """The counties whose certificates this user may batch: its bureau's jurisdiction (accounts.visibility)."""
    return assignable(user, Region).filter(kind=Region.Kind.COUNTY)


# --- starting a batch ---------------------------------------------------------------------------------------------


def batch_for_submission(*, user, submission_id: int) -> CertificateBatch:
    """The certificates of one submitted batch: the city bureau, or the staff of the base that submitted it."""
    if user.role not in SUBMISSION_ROLES:
        raise BatchRefused(_("只有市人社局和培训基地可以按上报批次生成证书"), code="role")
    try:
        submission = get_visible_or_404(user, Submission.objects.select_related("base"), pk=submission_id)
    except NotVisible:
        raise BatchRefused(_("上报批次不存在或不在您的管辖范围内"), field="submission", code="scope") from None
    items = verification.standing_items().filter(submission=submission)
    return _start(user=user, items=items, title=_("%(number)s 批次合格证书") % {"number": submission.number},
                  submission=submission)


def batch_for_county(*, user, region_id: int, year: int) -> CertificateBatch:
    """A county's certificates of a year (people by their unit's county): its own bureau or the city bureau."""
    if user.role not in COUNTY_ROLES:
        raise BatchRefused(_("只有市、县区人社局可以按县区生成证书"), code="role")
    region = counties_for(user).filter(pk=region_id).first()
    if region is None:
        raise BatchRefused(_("县区不存在或不在您的管辖范围内"), field="region", code="scope")
    if not 1990 <= year <= 2100:
        raise BatchRefused(_("年度 %(year)s 无效") % {"year": year}, field="year", code="year")
    items = verification.standing_items().filter(person__unit__region=region, decisions__entry__year=year)
    return _start(user=user, items=items, title=_("%(region)s %(year)s 年合格证书") % {
        "region": region.name, "year": year}, region=region, year=year)


def _start(*, user, items, title: str, submission=None, region=None, year=None) -> CertificateBatch:
    chunk_size = settings.CERT_BATCH_CHUNK
    with transaction.atomic():
        total = items.count()
        if total == 0:
            raise BatchRefused(_("没有可生成的证书：这里没有已认证且未撤销的学时记录"), code="empty")
        if total > settings.CERT_BATCH_MAX:
            raise BatchRefused(_("一次最多生成 %(max)s 张证书（这里有 %(total)s 张）：请按上报批次或县区分开生成") % {
                "max": settings.CERT_BATCH_MAX, "total": total}, code="too_many")
        batch = CertificateBatch.objects.create(
            title=title[:200], submission=submission, region=region, year=year, total=total, chunk_size=chunk_size,
            chunks=math.ceil(total / chunk_size), requested_by=user)
        _freeze(batch, items)
        transaction.on_commit(lambda: enqueue(batch.pk, range(batch.chunks)))
    return batch


def _freeze(batch: CertificateBatch, items) -> None:
    """One INSERT … SELECT: the batch's items numbered into chunks in id order, whatever their number."""
    sql, params = items.order_by().values_list("id", flat=True).distinct().query.sql_with_params()
    table = CertificateBatchItem._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (batch_id, item_id, chunk) "
            f"SELECT %s, chosen.id, (ROW_NUMBER() OVER (ORDER BY chosen.id) - 1) / %s FROM ({sql}) AS chosen",
            [batch.pk, batch.chunk_size, *params])


def enqueue(batch_id: int, chunks) -> bool:
    """Send the chunks' tasks; False when the broker is unreachable (logged, the batch stays QUEUED and
    apps.portal.tasks sends it again later)."""
    from apps.core import jobs

    from .tasks import render_chunk

    if render_chunk.app.conf.task_always_eager:
        # Embedded mode (no broker, no worker): the chunks run here with the task's retry budget; a chunk that still
        # fails marks the batch failed (the page says why and offers to resume) instead of breaking the request.
        for number in chunks:
            _run_here(batch_id, number, attempts=1 + render_chunk.max_retries)
        return True
    # A queue of its own when set (CERT_BATCH_QUEUE): PDF rendering is CPU-heavy and can get its own workers.
    options = {"queue": settings.CERT_BATCH_QUEUE} if settings.CERT_BATCH_QUEUE else {}
    for number in chunks:
        if not jobs.send(render_chunk, (batch_id, number), **options):
            return False  # the rest would fail alike; the chunks sent already are skipped when re-sent
    return True


def _run_here(batch_id: int, number: int, *, attempts: int) -> None:
    for attempt in range(attempts):
        try:
            chunk_render(batch_id, number)
            return
        except Exception as exc:  # noqa: BLE001 — every failure is retried, then recorded on the batch
            error = exc
    batch_failed(batch_id, f"{type(error).__name__}: {error}")


def batch_resume(*, batch: CertificateBatch) -> int:
    """Enqueue the chunks not rendered yet (after a failure, or tasks lost with a broker); returns how many."""
    missing = sorted(set(range(batch.chunks)) - set(batch.rendered.values_list("number", flat=True)))
    with transaction.atomic():
        CertificateBatch.objects.filter(pk=batch.pk).exclude(status=CertificateBatch.Status.DONE).update(
            status=CertificateBatch.Status.QUEUED, error="")
        transaction.on_commit(lambda: enqueue(batch.pk, missing) if missing else batch_finish(batch.pk))
    return len(missing)


# --- the worker's side --------------------------------------------------------------------------------------------


def chunk_name(batch_id: int, number: int) -> str:
    return f"certificates/batches/{batch_id}/certificates-{number + 1:04d}.pdf"


def chunk_render(batch_id: int, number: int) -> str:
    """Render chunk `number` of the batch, exactly once in effect. Returns "rendered" or "skipped"."""
    if CertificateChunk.objects.filter(batch_id=batch_id, number=number).exists():
        batch_finish(batch_id)  # the chunk is in; a redelivered last task still completes the batch
        return "skipped"
    CertificateBatch.objects.filter(pk=batch_id, status=CertificateBatch.Status.QUEUED).update(
        status=CertificateBatch.Status.RUNNING)
    item_ids = list(CertificateBatchItem.objects.filter(batch_id=batch_id, chunk=number)
                    .order_by("item_id").values_list("item_id", flat=True))
    # An endorsement reversed after the batch was started is left out (its certificate is revoked).
    items = list(verification.standing_items().filter(pk__in=item_ids).order_by("pk"))
    contexts = pdf.certificate_contexts(items)
    data = _render(contexts)
    storage = CertificateChunk._meta.get_field("file").storage
    name = storage.save(chunk_name(batch_id, number), ContentFile(data))  # overwrites a half-done earlier attempt
    try:
        with transaction.atomic():
            CertificateChunk.objects.create(batch_id=batch_id, number=number, file=name, pages=len(contexts),
                                            serials=[c["serial"] for c in contexts],
                                            sha256=hashlib.sha256(data).hexdigest())
    except IntegrityError:  # another worker recorded the same chunk meanwhile: same items, same file name
        pass
    batch_finish(batch_id)
    return "rendered"


def _render(contexts: list[dict]) -> bytes:
    if not contexts:
        return b""
    from weasyprint import HTML

    return HTML(string=pdf.certificates_html(contexts)).write_pdf()


def batch_finish(batch_id: int) -> bool:
    """Once every chunk is rendered: write the zip (chunk PDFs + index.csv) and mark the batch done. Runs under the
    batch's row lock, so two workers finishing the last chunks at once build it once."""
    with transaction.atomic():
        batch = CertificateBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status == CertificateBatch.Status.DONE:
            return True
        chunks = list(batch.rendered.order_by("number"))
        if len(chunks) < batch.chunks:
            return False
        with tempfile.TemporaryFile() as tmp:
            _write_zip(tmp, batch, chunks)
            tmp.seek(0)
            batch.archive.save(f"{batch.pk}/certificates-batch-{batch.pk}.zip", File(tmp), save=False)
        batch.status, batch.finished_at, batch.error = CertificateBatch.Status.DONE, timezone.now(), ""
        batch.save(update_fields=["archive", "status", "finished_at", "error"])
    return True


def _write_zip(target, batch: CertificateBatch, chunks: list[CertificateChunk]) -> None:
    index = io.StringIO()
    writer = csv.writer(index)
    writer.writerow(["证书编号", "文件", "页码"])
    # PDFs are compressed already: stored, not deflated again.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for chunk in chunks:
            if not chunk.pages:
                continue
            arcname = chunk.file.name.rsplit("/", 1)[-1]
            with chunk.file.open("rb") as f:
                archive.writestr(arcname, f.read())
            writer.writerows([serial, arcname, page] for page, serial in enumerate(chunk.serials, start=1))
        archive.writestr("index.csv", "\ufeff" + index.getvalue())  # BOM: Excel opens the Chinese header right


def batch_failed(batch_id: int, error: str) -> None:
    CertificateBatch.objects.filter(pk=batch_id).exclude(status=CertificateBatch.Status.DONE).update(
        status=CertificateBatch.Status.FAILED, error=error[:2000])


def batch_progress(batch: CertificateBatch) -> dict:
    """What the progress page polls: certificates rendered of the batch's total."""
    batch.refresh_from_db(fields=["status", "error", "archive", "finished_at"])
    rendered = batch.rendered.aggregate(n=Sum("pages"))["n"] or 0
    done = batch.status == CertificateBatch.Status.DONE
    processed = batch.total if done else min(rendered, batch.total)
    return {"status": batch.status, "status_label": str(batch.get_status_display()), "processed": processed,
            "total": batch.total, "percent": round(100 * processed / batch.total) if batch.total else 100,
            "finished": batch.status in (CertificateBatch.Status.DONE, CertificateBatch.Status.FAILED)}
