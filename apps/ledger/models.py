"""The hour ledger: official hours only, append-only, every entry with its provenance.

A correction is a new entry reversing an earlier one; nothing here is ever updated or deleted — the ORM refuses
(HourEntry.save/delete, the queryset's update/delete) and so does PostgreSQL (trigger in migration 0002).
`PersonYearTotal` keeps each person's running totals per year beside the journal, maintained by the ledger
service in the same transaction as every entry, so a city-wide evaluation scans one row per person.
"""
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.catalog.models import Category
from apps.personnel.models import TitleLevel


class LedgerIsAppendOnly(Exception):
    """Raised when code tries to change or remove a ledger row."""


class Organiser(models.TextChoices):
    """Who organised the training: R5 asks whether it was the city or higher."""

    PROVINCE = "province", _("省级")
    CITY = "city", _("市级")
    COUNTY = "county", _("县级")


class Source(models.TextChoices):
    ENDORSEMENT = "endorsement", _("审核认证")
    SELF_REPORT = "self_report", _("学时申报认定")
    MIGRATION = "migration", _("历史数据迁移")
    CORRECTION = "correction", _("冲正更正")


class HourEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerIsAppendOnly(_("学时台账只能追加，不能修改"))

    def delete(self):
        raise LedgerIsAppendOnly(_("学时台账只能追加，不能删除"))

    def bulk_update(self, *args, **kwargs):
        raise LedgerIsAppendOnly(_("学时台账只能追加，不能修改"))

    def recorded_by(self, as_of):
        """Entries as known at the end of day `as_of` (Asia/Shanghai), or all when as_of is None."""
        if as_of is None:
            return self
        return self.filter(created_at__lt=end_of_day(as_of))


def end_of_day(day):
    import datetime

    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))


class HourImport(models.Model):
    """One uploaded file of historical hours (migration import): the batch that entries point back to."""

    file_name = models.CharField(_("文件名"), max_length=255)
    sha256 = models.CharField(_("文件摘要"), max_length=64)
    rows = models.PositiveIntegerField(_("行数"), default=0)
    created_entries = models.PositiveIntegerField(_("新增记录数"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("导入人"))
    created_at = models.DateTimeField(_("导入时间"), default=timezone.now)

    class Meta:
        verbose_name = _("历史学时导入批次")
        verbose_name_plural = _("历史学时导入批次")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name}（{self.created_at:%Y-%m-%d %H:%M}）"


class HourEntry(models.Model):
    # Indexes are chosen for the reads we make (see Meta); every extra one slows the bulk writes of a large ledger.
    person = models.ForeignKey("personnel.Person", models.PROTECT, related_name="hour_entries",
                               verbose_name=_("人员"), db_index=False)
    year = models.PositiveSmallIntegerField(_("年度"))
    category = models.CharField(_("类别"), max_length=20, choices=Category.choices)
    hours = models.DecimalField(_("学时"), max_digits=6, decimal_places=1)
    credits = models.DecimalField(_("学分"), max_digits=6, decimal_places=1, default=0)
    course = models.ForeignKey("catalog.Course", models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("课程"), db_index=False)
    course_title = models.CharField(_("课程名称"), max_length=200, blank=True,
                                    help_text=_("目录外的历史培训或申报活动的名称"))
    base = models.ForeignKey("bases.TrainingBase", models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("基地"), db_index=False)
    organiser = models.CharField(_("主办层级"), max_length=10, choices=Organiser.choices, blank=True)
    completed_on = models.DateField(_("完成日期"))
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices)
    # Idempotency: the natural key of what produced the entry (a submission row, an import row…). A retried
    # request or a re-imported file finds its key taken and adds nothing.
    source_key = models.CharField(_("来源键"), max_length=120)
    # Provenance: the object that produced the entry (submission, import batch, self-report…) and its row.
    source_type = models.ForeignKey(ContentType, models.PROTECT, null=True, blank=True, related_name="+",
                                    db_index=False)
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source_object = GenericForeignKey("source_type", "source_id")
    source_row = models.PositiveIntegerField(_("来源行号"), null=True, blank=True)
    reverses = models.OneToOneField("self", models.PROTECT, null=True, blank=True, related_name="reversed_by",
                                    verbose_name=_("冲正的记录"))
    reason = models.CharField(_("原因"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("记录人"), db_index=False)
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    objects = HourEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("学时记录")
        verbose_name_plural = _("学时记录")
        ordering = ["year", "completed_on", "id"]
        indexes = [
            # The yearly audit reads a year's entries per person; INCLUDE makes it index-only on PostgreSQL.
            models.Index(fields=["year", "person"], include=["category", "hours", "organiser", "created_at"],
                         name="hourentry_year_person"),
            models.Index(fields=["person", "year"], name="hourentry_person_year"),
            # What a submission or an import produced (revoking certificates, tracing an upload row).
            models.Index(fields=["source_type", "source_id"], name="hourentry_source_object"),
        ]
        constraints = [
            # A constraint rather than unique=True: PostgreSQL then builds no second, LIKE-only index.
            models.UniqueConstraint(fields=["source_key"], name="hourentry_source_key_unique"),
            # 学时 come in half-hour steps.
            models.CheckConstraint(condition=Q(hours=Round(F("hours") * 2) / 2), name="hourentry_half_hours"),
            # A correction is negative and says what it reverses and why; anything else is positive.
            models.CheckConstraint(
                condition=(Q(source="correction", hours__lt=0, reverses__isnull=False) & ~Q(reason=""))
                | (~Q(source="correction") & Q(hours__gt=0, reverses__isnull=True)),
                name="hourentry_correction_shape",
            ),
            models.CheckConstraint(condition=Q(year__gte=1990, year__lte=2100), name="hourentry_sane_year"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.get_category_display()} {self.hours} 学时"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerIsAppendOnly(_("学时台账只能追加，不能修改"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerIsAppendOnly(_("学时台账只能追加，不能删除"))

    @property
    def provenance(self) -> str:
        parts = [self.get_source_display()]
        if self.base_id:
            parts.append(str(self.base))
        if self.source_type_id:
            parts.append(f"{self.source_type.name} #{self.source_id}")
        if self.source_row:
            parts.append(f"第 {self.source_row} 行")
        return " · ".join(parts)


class PersonYearTotal(models.Model):
    """One person's year: the title level in force on 31 December and the running totals of official hours.

    The totals equal the sum of the entries, always: only the ledger service moves them, in the same transaction
    as the entries. The level follows the title history: database triggers on personnel_titleholding
    (migration 0003) re-derive it whenever a title is added, changed or removed, whatever code path does it.
    A row exists for everyone who has entries in the year, and — once `year_open` ran for a year with a
    policy, or a title was recorded since — for everyone holding a title then. So a whole city's compliance is
    a scan of one row per person. `verify_ledger` recomputes totals and levels and reports any drift.
    """

    # CASCADE: the row is derived data. A person with hours cannot be deleted anyway (HourEntry is PROTECT);
    # one registered by mistake, with only zero rows, can.
    person = models.ForeignKey("personnel.Person", models.CASCADE, related_name="year_totals",
                               verbose_name=_("人员"), db_index=False)
    year = models.PositiveSmallIntegerField(_("年度"))
    level = models.CharField(_("年末职称级别"), max_length=20, choices=TitleLevel.choices, null=True, blank=True)
    public_required = models.DecimalField(_("公需必修"), max_digits=7, decimal_places=1, default=0)
    public_elective = models.DecimalField(_("公需选修"), max_digits=7, decimal_places=1, default=0)
    professional = models.DecimalField(_("专业科目"), max_digits=7, decimal_places=1, default=0)
    organised_county = models.DecimalField(_("县级主办"), max_digits=7, decimal_places=1, default=0)
    organised_city = models.DecimalField(_("市级主办"), max_digits=7, decimal_places=1, default=0)
    organised_province = models.DecimalField(_("省级主办"), max_digits=7, decimal_places=1, default=0)
    entries = models.IntegerField(_("记录数"), default=0)
    # The person's unit, copied here by database triggers (on insert of a row, on a change of the person's unit):
    # county and unit reports then filter and group one table instead of joining a million people.
    unit = models.ForeignKey("orgs.Unit", models.DO_NOTHING, db_constraint=False, null=True, blank=True,
                             related_name="+", verbose_name=_("单位"))

    class Meta:
        verbose_name = _("年度学时合计")
        verbose_name_plural = _("年度学时合计")
        constraints = [models.UniqueConstraint(fields=["person", "year"], name="total_one_per_person_year")]
        indexes = [models.Index(fields=["year", "person"], name="total_year_person"),
                   models.Index(fields=["year", "unit"], name="total_year_unit")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.year}"

    @property
    def total(self):
        return self.public_required + self.public_elective + self.professional
