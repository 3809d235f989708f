"""Demo hours: about ten realistic entries per person for a year, recorded through the ledger service.

Deterministic per person (seed, year, person id), idempotent (each entry's source key names the person and its
place in their year, so a second run adds nothing) and set-based: people are taken in chunks, each chunk is one
`entries_record` call in one transaction. The mix is what bases report in a typical year: most people complete
their public subjects face-to-face or online, some fall short, professional training comes in several pieces.
"""
from __future__ import annotations

import datetime
import random
import time
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from apps.bases.models import TrainingBase
from apps.catalog.models import Course
from apps.personnel.models import Person

from . import services
from .models import HourImport, Source

PROFESSIONAL_ACTIVITIES = ("专业技术培训班", "学术会议", "业务研修", "岗位实践", "专题讲座", "远程专业课程")


@dataclass
class HoursSeedResult:
    people: int = 0
    entries: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.entries / self.seconds if self.seconds else 0.0


def _plan(rng: random.Random, year: int, f2f: list[Course], online_req: list[Course], electives: list[Course],
          professional: list[Course], bases: dict[str, TrainingBase]) -> list[dict]:
    """One person's year as entry dicts (category, hours, course, base, organiser, day, title)."""
    def day() -> datetime.date:
        return datetime.date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))

    out = []
    mode = rng.random()
    if mode < 0.40:  # face-to-face public subjects at a city base (W2)
        base = bases["kf-xzxy"] if rng.random() < 0.2 else bases[rng.choice(["kf-kfdx", "kf-whys", "kf-jsxx"])]
        when = datetime.date(year, rng.randint(7, 11), rng.randint(1, 28))
        for c in f2f:
            out.append(dict(category=c.category, hours=c.hours, course=c, base=base, organiser="city", day=when))
    else:  # online public subjects (W1); some people stop early
        taken = online_req if mode < 0.88 else online_req[: rng.randint(1, len(online_req) - 1)]
        for c in taken:
            out.append(dict(category=c.category, hours=c.hours, course=c, base=bases["kf-online"], organiser="city",
                            day=day()))
        public = sum((c.hours for c in taken), Decimal(0))
        # Most take electives until the public minimum of senior titles (26) is reached; some stop at 22.
        goal = Decimal(26 if rng.random() < 0.85 else 22) if mode < 0.88 else Decimal(0)
        for c in rng.sample(electives, len(electives)):
            if public >= goal:
                break
            out.append(dict(category=c.category, hours=c.hours, course=c, base=bases["kf-online"], organiser="city",
                            day=day()))
            public += c.hours
    target = Decimal(rng.choice([64, 64, 66, 68, 70, 72, 64, 56]))  # most reach the 90 in total
    prof = Decimal(0)
    while prof < target:
        if professional and rng.random() < 0.25:
            c = rng.choice(professional)
            out.append(dict(category="professional", hours=c.hours, course=c, base=None, organiser="city",
                            day=day()))
            prof += c.hours
        else:
            hours = Decimal(rng.choice([4, 6, 8, 8, 10, 12, 16]))
            out.append(dict(category="professional", hours=hours, course=None, title=rng.choice(PROFESSIONAL_ACTIVITIES),
                            base=None, organiser=rng.choice(["county", "county", "city", "province"]), day=day()))
            prof += hours
    return out


def demo_hours_seed(*, year: int, seed: int = 20160624, chunk_size: int = 20_000, person_ids=None,
                    progress=None) -> HoursSeedResult:
    """Give every person (or those in `person_ids`) their demo year of entries; returns what was added."""
    started = time.perf_counter()
    courses = list(Course.objects.filter(year=year, is_active=True))
    f2f = [c for c in courses if c.mode == "face_to_face" and c.category == "public_required"]
    online_req = [c for c in courses if c.mode == "online" and c.category == "public_required"]
    electives = [c for c in courses if c.category == "public_elective"]
    professional = [c for c in courses if c.category == "professional"]
    bases = {b.code: b for b in TrainingBase.objects.all()}
    if not (f2f and online_req and {"kf-online", "kf-xzxy", "kf-kfdx", "kf-whys", "kf-jsxx"} <= set(bases)):
        raise ValueError(f"{year} 年度的课程目录或开封市基地缺失：请先运行 loaddata kaifeng_2016")
    people = Person.objects.order_by("pk").values_list("pk", flat=True)
    if person_ids is not None:
        people = people.filter(pk__in=person_ids)
    result = HoursSeedResult()
    batch = None
    last = 0
    while True:
        ids = list(people.filter(pk__gt=last)[:chunk_size])
        if not ids:
            break
        last = ids[-1]
        with transaction.atomic():
            if batch is None:
                batch = HourImport.objects.create(file_name=f"seed_demo {year}", sha256="", rows=0)
            entries = []
            for pid in ids:
                rng = random.Random(seed * 1_000_003 + year * 7_919 + pid)
                for n, e in enumerate(_plan(rng, year, f2f, online_req, electives, professional, bases)):
                    course = e.get("course")
                    entries.append(services.EntryInput(
                        person_id=pid, category=e["category"], hours=e["hours"], completed_on=e["day"],
                        source=Source.MIGRATION, source_key=f"demo:{year}:{pid}:{n}",
                        course_id=course.pk if course else None, course_title="" if course else e.get("title", ""),
                        base_id=e["base"].pk if e["base"] else None, organiser=e["organiser"], credits=e["hours"],
                        source_object=batch, source_row=n + 1))
            made = services.entries_record(entries=entries, returning=False)
        result.people += len(ids)
        result.entries += made
        result.seconds = time.perf_counter() - started
        if progress:
            progress(result)
    if batch is not None:
        HourImport.objects.filter(pk=batch.pk).update(created_entries=result.entries)
    result.seconds = time.perf_counter() - started
    return result
