"""python manage.py seed_demo --people N --year 2016 [--units M]: realistic demo units and people (idempotent)."""
import time

from django.core.management.base import BaseCommand, CommandError

from apps.personnel.demo_seed import DEFAULT_SEED, DemoSeedError, SeedProgress, default_unit_count, demo_people_seed


class Command(BaseCommand):
    help = "生成演示单位与专业技术人员（含职称记录、晋升申报）；可重复运行，只补缺。 / Seed demo units and people."

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, required=True, help="人数 / number of people (persons 0 … N-1)")
        parser.add_argument("--year", type=int, default=2016, help="年度 / the year (default 2016)")
        parser.add_argument("--units", type=int, default=None,
                            help="单位数 / number of units (default: people/100, between 10 and 10,000)")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="随机种子 / random seed")
        parser.add_argument("--chunk-size", type=int, default=10_000, help="每个事务的人数 / people per transaction")
        parser.add_argument("--method", choices=["auto", "copy", "orm"], default="auto",
                            help="auto: COPY on PostgreSQL, bulk_create elsewhere")
        parser.add_argument("--no-hours", dest="hours", action="store_false",
                            help="不生成学时记录 / people only, no ledger entries for the year")

    def handle(self, *args, people, year, units, seed, chunk_size, method, hours=True, **options):
        verbose = options["verbosity"] >= 1
        last = [0.0]

        def report(p: SeedProgress) -> None:
            now = time.perf_counter()
            if not verbose or (now - last[0] < 2 and p.done < p.total):
                return
            last[0] = now
            rate = p.result.people_created / p.elapsed if p.elapsed else 0
            self.stdout.write(f"  {p.done:>10,} / {p.total:,}  ({100 * p.done / max(p.total, 1):5.1f} %)  "
                              f"created {p.result.people_created:,}  {rate:,.0f} people/s")

        if verbose:
            n_units = units if units is not None else default_unit_count(people)
            self.stdout.write(f"seed_demo: {people:,} people, {n_units:,} units, year {year}, seed {seed}")
        try:
            r = demo_people_seed(people=people, year=year, units=units, seed=seed, chunk_size=chunk_size,
                                 method=method, progress=report)
        except DemoSeedError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"单位 units +{r.units_created:,}; 人员 people +{r.people_created:,} "
            f"(already there: {r.people_skipped:,}); 职称记录 title holdings +{r.holdings_created:,}; "
            f"晋升申报 promotion applications +{r.promotions_created:,}; "
            f"{r.seconds:.1f} s, {r.rate:,.0f} people/s ({r.method})"))
        if hours:
            self._seed_hours(year=year, seed=seed, verbose=verbose)

    def _seed_hours(self, *, year: int, seed: int, verbose: bool) -> None:
        # The ledger sits above personnel, so its seeder is asked for here, at the command, not in demo_seed.
        from apps.ledger.demo_seed import demo_hours_seed

        def report(r) -> None:
            if verbose:
                self.stdout.write(f"  学时 hours: {r.people:,} people, +{r.entries:,} entries, {r.rate:,.0f} entries/s")

        try:
            r = demo_hours_seed(year=year, seed=seed, progress=report)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"学时记录 hour entries +{r.entries:,} for {r.people:,} people, {r.seconds:.1f} s ({r.rate:,.0f} entries/s)"))
