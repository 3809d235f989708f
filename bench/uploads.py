"""Exam results upload end to end: a 100,000-row .xlsx through `upload_check` and `upload_confirm`.

Figure: wall time of check (dry run) + confirm (real run) of one file of BENCH_UPLOADS_ROWS (default 100,000) rows,
each a registered person of 开封大学's 2016 classes, through the worker path (Celery eager, as without REDIS_URL),
and the peak memory (maxrss) of the process doing it. The measured part runs in a fresh child process, so its
maxrss is the upload's own, not the seeding's.
Floor: what any import of this file must at least do — read the same workbook with openpyxl alone (read-only,
values only) plus a raw COPY of the same number of result rows into an empty copy of the results table.

The data: `seed_demo --people N --year 2016 --no-hours` into its own database (BENCH_UPLOADS_DATABASE, default
ce_uploads_bench, recreated each run), then classes of 1,000 seats and the registrations bulk-created directly.
"""
from __future__ import annotations

import datetime
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import Row, Unavailable, benchmark
from ._postgres import database_settings, fresh_database, raw_connection, use_database

ROOT = Path(__file__).resolve().parent.parent
DAY = datetime.date(2016, 7, 22)
PER_CLASS = 1000


def _say(text: str) -> None:
    print(f"  [uploads] {text}", file=sys.stderr, flush=True)


def _setup(rows: int) -> tuple[int, bytes]:
    """Seed people, classes and registrations; returns the staff user's id and the results workbook."""
    import openpyxl
    from django.core.management import call_command

    from apps.accounts.models import Role, User
    from apps.bases.models import TrainingBase
    from apps.catalog.models import Course
    from apps.enrollment.models import Registration, TrainingClass
    from apps.orgs.models import Region
    from apps.personnel.models import Person

    began = time.perf_counter()
    call_command("seed_demo", "--people", str(rows), "--year", "2016", "--no-hours", verbosity=0)
    _say(f"seed_demo {rows:,} people in {time.perf_counter() - began:.1f} s")
    base = TrainingBase.objects.get(code="kf-kfdx")
    course = Course.objects.get(year=2016, code="GX16-F01")
    city = Region.objects.get(code="410200")
    people = list(Person.objects.order_by("pk").values_list("pk", "id_number", "name", "unit_id")[:rows])
    if len(people) < rows:
        raise Unavailable(f"seed_demo made {len(people):,} people, {rows:,} needed")
    n_classes = -(-rows // PER_CLASS)
    classes = TrainingClass.objects.bulk_create([
        TrainingClass(base=base, course=course, code=f"KD16-{k:04d}", year=2016, starts_on=datetime.date(2016, 7, 20),
                      ends_on=DAY, capacity=PER_CLASS, registered=min(PER_CLASS, rows - k * PER_CLASS),
                      organiser="city", organised_by=city, registration_deadline=datetime.date(2016, 7, 5))
        for k in range(n_classes)])
    Registration.objects.bulk_create(
        (Registration(training_class=classes[i // PER_CLASS], person_id=pk, unit_id=unit_id)
         for i, (pk, _number, _name, unit_id) in enumerate(people)), batch_size=5000)
    staff = User.objects.create(username="bench-kfdx", role=Role.BASE_STAFF, base=base)

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("成绩")
    sheet.append(["身份证号", "姓名", "课程代码", "班次", "成绩", "是否合格", "完成日期"])
    for i, (_pk, number, name, _unit) in enumerate(people):
        score = 40 + (i * 37) % 61
        sheet.append([number, name, course.code, classes[i // PER_CLASS].code, score,
                      "合格" if score >= 60 else "不合格", DAY if score >= 60 else None])
    out = io.BytesIO()
    book.save(out)
    _say(f"classes {n_classes:,}, registrations {rows:,}, workbook {len(out.getvalue()) / 1e6:.1f} MB "
         f"(setup {time.perf_counter() - began:.1f} s)")
    return staff.pk, out.getvalue()


def _child(path: str, staff_id: int) -> None:
    """The measured part, in its own process: check + confirm, then print timings and maxrss as JSON."""
    import resource

    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.accounts.models import User
    from apps.enrollment import uploads

    staff = User.objects.select_related("base").get(pk=staff_id)
    data = Path(path).read_bytes()
    began = time.perf_counter()
    upload = uploads.upload_check(base=staff.base, file=SimpleUploadedFile("results.xlsx", data), user=staff)
    upload.refresh_from_db()
    checked = time.perf_counter()
    done = uploads.upload_confirm(upload_id=upload.pk, user=staff)
    done.refresh_from_db()
    ended = time.perf_counter()
    print(json.dumps({"check": checked - began, "confirm": ended - checked, "total": ended - began,
                      "status_checked": upload.status, "status": done.status, "counts": done.report.get("counts"),
                      "errors": done.report.get("errors", [])[:5], "file_errors": done.report.get("file_errors"),
                      "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def _floor(data: bytes, rows: int) -> tuple[float, float]:
    """Seconds to read the workbook with openpyxl alone, and to COPY `rows` result rows into an empty table."""
    import openpyxl

    from apps.enrollment.models import ExamResult, Registration

    began = time.perf_counter()
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    count = sum(1 for _row in book.active.iter_rows(values_only=True))
    book.close()
    read = time.perf_counter() - began
    assert count == rows + 1, count

    table = ExamResult._meta.db_table
    conn = raw_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT id FROM {Registration._meta.db_table} ORDER BY id LIMIT %s", [rows])
            now = datetime.datetime.now(datetime.UTC).isoformat()
            buf = io.StringIO("".join(f"{reg_id}\t{60 + reg_id % 40}.0\tt\t{DAY}\t{now}\n"
                                      for (reg_id,) in cur.fetchall()))
            cur.execute(f"DROP TABLE IF EXISTS bench_result_floor; "
                        f"CREATE TABLE bench_result_floor (LIKE {table} INCLUDING ALL)")
            conn.commit()
            began = time.perf_counter()
            cur.copy_expert("COPY bench_result_floor (registration_id, score, passed, completed_on, recorded_at) "
                            "FROM STDIN", buf, size=1 << 20)
            conn.commit()
            copy = time.perf_counter() - began
            cur.execute("DROP TABLE bench_result_floor")
            conn.commit()
    finally:
        conn.close()
    return read, copy


@benchmark("uploads", "100,000-row exam results .xlsx: check + confirm (wall, peak memory) against openpyxl + COPY")
def run() -> list[Row]:
    database_settings()  # PostgreSQL, *_bench, or a clear Unavailable
    rows = int(os.environ.get("BENCH_UPLOADS_ROWS", "100000"))
    name = os.environ.get("BENCH_UPLOADS_DATABASE", "ce_uploads_bench")
    with use_database(name), tempfile.TemporaryDirectory(prefix="ce-uploads-") as tmp:
        _say(f"fresh database {fresh_database()}")
        staff_id, data = _setup(rows)
        path = Path(tmp, "results.xlsx")
        path.write_bytes(data)
        url = urlsplit(os.environ["DATABASE_URL"])  # python -m bench sets it; same server, the uploads database
        env = dict(os.environ, MEDIA_ROOT=str(Path(tmp, "media")),
                   DATABASE_URL=urlunsplit(url._replace(path=f"/{name}")), DJANGO_SETTINGS_MODULE="config.settings.base")
        env.pop("REDIS_URL", None)  # Celery eager: the worker's code path, in the measured process
        proc = subprocess.run([sys.executable, "-c", f"from bench.uploads import _child; _child({str(path)!r}, "
                                                     f"{staff_id})"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            raise AssertionError(f"the measured run failed:\n{proc.stderr[-4000:]}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        _say(f"check {out['check']:.1f} s ({out['status_checked']}), confirm {out['confirm']:.1f} s "
             f"({out['status']}), counts {out['counts']}, peak {out['maxrss_kb'] / 1024:.0f} MB")
        if out["status"] != "done" or out["counts"].get("new") != rows:
            raise AssertionError(f"upload did not import every row: {out}")
        read, copy = _floor(data, rows)
        _say(f"floor: openpyxl read {read:.1f} s + COPY {rows:,} rows {copy:.2f} s")
    return [
        Row(f"results upload {rows:,} rows: check + confirm", out["total"], "s", read + copy, "≤ 30 s"),
        Row("  of which check (dry run)", out["check"], "s", read, "floor: openpyxl read"),
        Row("  of which confirm (real run)", out["confirm"], "s", read + copy, "floor: read + COPY"),
        Row("results upload peak memory (maxrss)", out["maxrss_kb"] / 1024, "MB", None, "≤ 500 MB"),
    ]
