"""python manage.py run_audit --year 2016 [--region 410200]: the yearly audit (A1), run here and now."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "运行年度考核（同步执行），替换该年度的当前考核快照 / run the yearly audit now and replace the current snapshot"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="考核年度 / the year audited")
        parser.add_argument("--region", default=settings.PORTAL_CITY_CODE,
                            help="城市区划代码 / city code (default PORTAL_CITY_CODE)")

    def handle(self, *args, year, region, **options):
        from django.db.models import F

        from apps.assessment import selectors, services
        from apps.assessment.models import AuditGroupResult, AuditSnapshot
        from apps.core.errors import DomainError
        from apps.orgs.models import Region

        city = Region.objects.filter(code=region).first()
        if city is None:
            raise CommandError(f"区划代码 {region} 不存在")
        try:
            snapshot = services.audit_run_now(year=year, region=city)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        except Exception as exc:  # recorded on the snapshot as FAILED; the previous snapshot stays current
            raise CommandError(f"年度考核失败，原快照保持不变：{type(exc).__name__}: {exc}") from None
        if snapshot.status != AuditSnapshot.Status.DONE:
            raise CommandError(f"年度考核失败：{snapshot.error}")
        rate = snapshot.compliant / snapshot.people if snapshot.people else 0
        self.stdout.write(f"{city.name} {year} 年度考核 · 快照 #{snapshot.pk} · 数据截至 "
                          f"{snapshot.as_of:%Y-%m-%d %H:%M:%S}（台账记录 #{snapshot.through_entry}）")
        self.stdout.write(f"  人数 {snapshot.people:,} · 达标 {snapshot.compliant:,} · 达标率 {rate:.1%}")
        counties = (AuditGroupResult.objects.filter(snapshot=snapshot, kind="county", level="")
                    .order_by(F("rank").asc(nulls_last=True), "county_id"))
        names = dict(Region.objects.filter(pk__in=[c.county_id for c in counties]).values_list("pk", "name"))
        self.stdout.write("  县（区）排名：")
        for c in counties:
            place = f"{c.rank:>2}." if c.rank else " —"
            name = names.get(c.county_id, c.county_id) if c.county_id != city.pk else f"{city.name}（市属单位）"
            self.stdout.write(f"    {place} {name}  人数 {c.people:,}  "
                              f"达标 {c.compliant:,}  达标率 {c.rate:.2%}  得分 {c.score}")
        # jsonb keeps its own key order: print the buckets in theirs.
        self.stdout.write("  缺口学时分布：" + "；".join(f"{label} {snapshot.distribution.get(key, 0):,} 人"
                                                      for key, label in selectors.SHORTFALL_BUCKETS))
        proposed = snapshot.commendations.all()
        self.stdout.write(self.style.SUCCESS(
            f"完成：拟表彰县（区）{proposed.filter(kind='county').count()} 个、单位 "
            f"{proposed.filter(kind='unit').count()} 个，待市人社局确认"))
