"""The yearly audit (年度考核, A1): snapshots of a city's compliance for a year, the score weights, commendations.

A snapshot is computed set-based from the ledger (apps/assessment/services.py) and replaced atomically: the new one
is built beside the current one and becomes current in the same transaction, so a failed run leaves the previous
snapshot intact. `as_of` is the moment its data was taken at and `through_entry` the last ledger entry it includes:
recomputing the year with the entries up to that one reproduces every figure.

Person rows carry plain ids (no foreign-key constraints): they are derived data written a million at a time, and
checking three foreign keys per row would double the audit's cost.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.personnel.models import TitleLevel


class AuditWeights(models.Model):
    """How counties and units are scored, per city; the city bureau sees and sets them.

    score = rate × 100 × 达标率 + public_rate × 100 × 公需达标率 − shortfall × 人均缺口学时"""

    region = models.OneToOneField("orgs.Region", models.PROTECT, related_name="+", verbose_name=_("城市"))
    rate = models.DecimalField(_("达标率权重"), max_digits=5, decimal_places=2, default=0.6)
    public_rate = models.DecimalField(_("公需科目达标率权重"), max_digits=5, decimal_places=2, default=0.4)
    shortfall = models.DecimalField(_("人均缺口学时扣分"), max_digits=5, decimal_places=2, default=0.1)
    commend_counties = models.PositiveSmallIntegerField(_("拟表彰县（区）数"), default=3)
    commend_units = models.PositiveSmallIntegerField(_("拟表彰单位数"), default=10)
    min_unit_people = models.PositiveSmallIntegerField(_("参与排名的单位最少人数"), default=5)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(_("修改时间"), default=timezone.now)

    class Meta:
        verbose_name = _("考核评分权重")
        verbose_name_plural = _("考核评分权重")


class AuditSnapshot(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("计算中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    region = models.ForeignKey("orgs.Region", models.PROTECT, related_name="+", verbose_name=_("城市"))
    year = models.PositiveSmallIntegerField(_("考核年度"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    is_current = models.BooleanField(_("当前快照"), default=False)
    as_of = models.DateTimeField(_("数据截至"), null=True, blank=True)
    through_entry = models.BigIntegerField(_("包含的最后一条台账记录"), null=True, blank=True)
    weights = models.JSONField(_("评分权重"), default=dict)
    people = models.PositiveIntegerField(_("人数"), default=0)
    compliant = models.PositiveIntegerField(_("达标人数"), default=0)
    distribution = models.JSONField(_("缺口学时分布"), default=dict)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("发起人"))
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = _("年度考核快照")
        verbose_name_plural = _("年度考核快照")
        ordering = ["-year", "-started_at"]
        constraints = [models.UniqueConstraint(fields=["region", "year"], condition=Q(is_current=True),
                                               name="audit_one_current_snapshot")]

    def __str__(self) -> str:
        return f"{self.year} {self.get_status_display()}"


class AuditPersonResult(models.Model):
    """One person's compliance in a snapshot: status and shortfalls (hours still missing per rule)."""

    # No index or constraint per column: the two composite indexes below (both led by the snapshot) serve every
    # read, and each extra index or foreign-key check costs per row on a million-row INSERT … SELECT. The snapshot's
    # rows are removed by the audit service (or Django's CASCADE), never by the database.
    snapshot = models.ForeignKey(AuditSnapshot, models.CASCADE, related_name="people_results", db_index=False,
                                 db_constraint=False)
    person = models.ForeignKey("personnel.Person", models.DO_NOTHING, db_constraint=False, related_name="+",
                               db_index=False)
    unit = models.ForeignKey("orgs.Unit", models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False)
    county = models.ForeignKey("orgs.Region", models.DO_NOTHING, db_constraint=False, related_name="+",
                               db_index=False)
    level = models.CharField(max_length=20, choices=TitleLevel.choices)
    total = models.DecimalField(max_digits=7, decimal_places=1)
    public = models.DecimalField(max_digits=7, decimal_places=1)
    public_required = models.DecimalField(max_digits=7, decimal_places=1)
    professional = models.DecimalField(max_digits=7, decimal_places=1)
    compliant = models.BooleanField()
    public_met = models.BooleanField()  # public and required-public minimums both met
    shortfall = models.DecimalField(max_digits=7, decimal_places=1)  # hours missing to the total (R1)
    shortfall_public = models.DecimalField(max_digits=7, decimal_places=1)
    shortfall_required = models.DecimalField(max_digits=7, decimal_places=1)

    class Meta:
        # One index: every read is "this snapshot, (this county, (this unit))". Each index more costs seconds
        # when a million rows are written per run.
        indexes = [models.Index(fields=["snapshot", "county", "unit"], name="audit_person_scope")]


class AuditGroupResult(models.Model):
    """A county's or a unit's figures in a snapshot, overall (level "") and per title level; overall rows carry
    the score and the rank."""

    class Kind(models.TextChoices):
        COUNTY = "county", _("县（区）")
        UNIT = "unit", _("单位")

    snapshot = models.ForeignKey(AuditSnapshot, models.CASCADE, related_name="groups")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    county = models.ForeignKey("orgs.Region", models.DO_NOTHING, db_constraint=False, related_name="+")
    unit = models.ForeignKey("orgs.Unit", models.DO_NOTHING, db_constraint=False, null=True, blank=True,
                             related_name="+")
    level = models.CharField(max_length=20, blank=True)  # "" = all levels
    people = models.PositiveIntegerField()
    compliant = models.PositiveIntegerField()
    public_met = models.PositiveIntegerField()
    shortfall_sum = models.DecimalField(max_digits=12, decimal_places=1)
    rate = models.DecimalField(max_digits=6, decimal_places=4)  # compliant / people
    score = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    rank = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["snapshot", "kind", "level", "county"], name="audit_group_scope")]


class Commendation(models.Model):
    """A county or unit the audit proposes for commendation (A1); the city bureau confirms or drops it."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("拟表彰")
        CONFIRMED = "confirmed", _("已确认")
        DROPPED = "dropped", _("未采纳")

    snapshot = models.ForeignKey(AuditSnapshot, models.CASCADE, related_name="commendations")
    kind = models.CharField(max_length=10, choices=AuditGroupResult.Kind.choices)
    county = models.ForeignKey("orgs.Region", models.PROTECT, related_name="+")
    unit = models.ForeignKey("orgs.Unit", models.PROTECT, null=True, blank=True, related_name="+")
    rank = models.PositiveIntegerField()
    score = models.DecimalField(max_digits=8, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("表彰建议")
        verbose_name_plural = _("表彰建议")
        ordering = ["snapshot", "kind", "rank"]
