"""Batches of qualification certificates (合格证书) rendered by Celery workers.

A batch freezes its certificates when it is created (one row per certificate, each assigned to a chunk), so what
it contains never depends on when a worker runs. A chunk is rendered as one multi-page PDF whose file name is fixed
by (batch, chunk): a retried or redelivered task overwrites the same file and the unique (batch, number) row keeps
one record of it — never a second file, and the serials are the items' own, assigned when the base submitted.
"""
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def batch_storage():
    """Media storage that overwrites: a re-rendered chunk replaces its own file instead of getting a new name."""
    return OVERWRITING_STORAGE


OVERWRITING_STORAGE = FileSystemStorage(allow_overwrite=True)  # location follows settings.MEDIA_ROOT


class CertificateBatch(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("生成中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    title = models.CharField(_("名称"), max_length=200)
    submission = models.ForeignKey("enrollment.Submission", models.PROTECT, null=True, blank=True,
                                   related_name="certificate_batches", verbose_name=_("上报批次"))
    region = models.ForeignKey("orgs.Region", models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("县区"))
    year = models.PositiveSmallIntegerField(_("年度"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("证书数"))
    chunk_size = models.PositiveIntegerField(_("每份文件证书数"))
    chunks = models.PositiveIntegerField(_("文件数"))
    archive = models.FileField(_("压缩包"), upload_to="certificates/batches/", storage=batch_storage, blank=True)
    error = models.TextField(_("错误"), blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+",
                                     verbose_name=_("发起人"))
    created_at = models.DateTimeField(_("发起时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("证书批量生成")
        verbose_name_plural = _("证书批量生成")
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(
            condition=Q(submission__isnull=False) | (Q(region__isnull=False) & Q(year__isnull=False)),
            name="certificate_batch_has_scope")]

    def __str__(self) -> str:
        return self.title


class CertificateBatchItem(models.Model):
    """One certificate of a batch and the chunk (file) it is printed in."""

    batch = models.ForeignKey(CertificateBatch, models.CASCADE, related_name="items")
    item = models.ForeignKey("enrollment.SubmissionItem", models.PROTECT, related_name="+")
    chunk = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch", "item"], name="certificate_once_per_batch")]
        indexes = [models.Index(fields=["batch", "chunk"])]


class CertificateChunk(models.Model):
    """A rendered chunk: one PDF of `pages` certificates. Exists once per (batch, number) whatever the retries."""

    batch = models.ForeignKey(CertificateBatch, models.CASCADE, related_name="rendered")
    number = models.PositiveIntegerField()
    file = models.FileField(upload_to="certificates/batches/", storage=batch_storage)
    pages = models.PositiveIntegerField()
    serials = models.JSONField(default=list)  # the certificates printed, page by page (the zip's index)
    sha256 = models.CharField(max_length=64)
    rendered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["batch", "number"]
        constraints = [models.UniqueConstraint(fields=["batch", "number"], name="certificate_chunk_once")]
