"""Reads of the yearly audit (A1): weights, snapshots and their figures, progress — always through `visibility`
where a user is involved, so a county bureau sees only its own county's rows in a city's snapshot."""
from __future__ import annotations

from decimal import Decimal

from django.core.cache import cache
from django.db.models import F, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from apps.accounts.visibility import visible
from apps.orgs.models import Region
from apps.personnel.models import TitleLevel

from .models import AuditGroupResult, AuditSnapshot, AuditWeights, Commendation

# The audit's steps, in order; the progress bar counts the ones done (kept in the cache per snapshot).
STEPS = ("policy", "lock", "people", "groups", "ranking", "commendations", "publish")
# Hours missing to the year's total (R1): none, up to 10, over 10 up to 30, over 30 up to 60, over 60.
SHORTFALL_BUCKETS = (("0", _("无缺口")), ("0-10", _("10 学时及以内")), ("10-30", _("10–30 学时")),
                     ("30-60", _("30–60 学时")), ("60+", _("60 学时以上")))


def progress_key(snapshot_id: int) -> str:
    return f"assessment:audit:{snapshot_id}:steps"


def region_tree_ids(region: Region) -> list[int]:
    """A region and the regions below it (a city: its counties), the units of which the audit covers."""
    children = list(Region.objects.filter(parent=region).values_list("pk", flat=True))
    grandchildren = list(Region.objects.filter(parent__in=children).values_list("pk", flat=True)) if children else []
    return [region.pk, *children, *grandchildren]


def weights_for(*, region: Region) -> AuditWeights:
    """The region's weights, or the defaults (unsaved) until the bureau sets them."""
    return AuditWeights.objects.filter(region=region).first() or AuditWeights(region=region)


def current_snapshot(*, region: Region, year: int) -> AuditSnapshot | None:
    return AuditSnapshot.objects.filter(region=region, year=year, is_current=True).first()


def snapshots_for(*, user) -> QuerySet:
    return visible(user, AuditSnapshot).select_related("region", "requested_by")


def audit_progress(snapshot: AuditSnapshot) -> dict:
    """What the progress page polls: steps done of the audit's steps."""
    snapshot.refresh_from_db(fields=["status", "error", "finished_at"])
    total = len(STEPS)
    finished = snapshot.status in (AuditSnapshot.Status.DONE, AuditSnapshot.Status.FAILED)
    done = total if snapshot.status == AuditSnapshot.Status.DONE else min(int(cache.get(progress_key(snapshot.pk),
                                                                                          0)), total)
    return {"status": snapshot.status, "status_label": str(snapshot.get_status_display()), "processed": done,
            "total": total, "percent": round(100 * done / total), "finished": finished, "error": snapshot.error}


def _rate(numerator, people) -> Decimal | None:
    return (Decimal(numerator) / Decimal(people)) if people else None


def snapshot_summary(*, snapshot: AuditSnapshot, user) -> dict:
    """The figures of a snapshot this user may see: overall and per title level (from the county rows, so a county
    bureau gets its own county's), counties ranked, top units, the shortfall distribution."""
    groups = visible(user, AuditGroupResult).filter(snapshot=snapshot)
    counties = list(groups.filter(kind=AuditGroupResult.Kind.COUNTY, level="")
                    .order_by(F("rank").asc(nulls_last=True), "county_id"))
    by_level = list(groups.filter(kind=AuditGroupResult.Kind.COUNTY).exclude(level="").values("level")
                    .annotate(people=Sum("people"), compliant=Sum("compliant"), public_met=Sum("public_met"),
                              shortfall_sum=Sum("shortfall_sum")).order_by())
    order = list(TitleLevel.values)  # highest title first
    by_level.sort(key=lambda r: order.index(r["level"]) if r["level"] in order else len(order))
    for row in by_level:
        row["rate"] = _rate(row["compliant"], row["people"])
        row["label"] = TitleLevel(row["level"]).label if row["level"] in TitleLevel.values else row["level"]
    people = sum(c.people for c in counties)
    compliant = sum(c.compliant for c in counties)
    units = list(groups.filter(kind=AuditGroupResult.Kind.UNIT, level="", rank__isnull=False)
                 .order_by("rank")[:50])
    regions = Region.objects.in_bulk({c.county_id for c in counties} | {u.county_id for u in units})
    from apps.orgs.models import Unit

    unit_names = dict(Unit.objects.filter(pk__in=[u.unit_id for u in units]).values_list("pk", "name"))
    return {
        "people": people, "compliant": compliant, "rate": _rate(compliant, people),
        "by_level": by_level,
        "counties": [(c, regions.get(c.county_id)) for c in counties],
        "units": [(u, unit_names.get(u.unit_id, ""), regions.get(u.county_id)) for u in units],
        "distribution": [(key, label, snapshot.distribution.get(key, 0)) for key, label in SHORTFALL_BUCKETS]
        if snapshot.distribution else [],
        "whole_city": people == snapshot.people,
    }


def commendations_for(*, snapshot: AuditSnapshot, user) -> list[Commendation]:
    return list(visible(user, Commendation).filter(snapshot=snapshot)
                .select_related("county", "unit", "decided_by").order_by("kind", "rank"))
