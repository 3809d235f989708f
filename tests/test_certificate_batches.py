"""Batch generation of qualification certificates (合格证书): chunks rendered as multi-page PDFs by the Celery task,
enqueued only after the commit, idempotent (no second file, no second record), retried, resumable, zipped with an
index — and who may start, see and download a batch. Tasks run in-process here (eager); a real worker killed in
the middle of a batch is tests/test_certificate_batch_worker.py."""
import csv
import io
import zipfile
from collections import Counter

import pytest
from pypdf import PdfReader

from apps.accounts.models import Role
from apps.certificates import batches
from apps.certificates.models import CertificateBatch, CertificateBatchItem, CertificateChunk
from apps.certificates.tasks import render_chunk
from apps.enrollment.models import SubmissionItem
from apps.orgs.models import Region

from . import factories as f
from .test_certificate_pdfs import batch_of_30  # noqa: F401 (fixture)
from .test_certificates import reverse_online
from .test_review import reviewer, submitted  # noqa: F401 (fixture)
from .test_submissions import world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_chunks(settings, tmp_path):
    settings.CERT_BATCH_CHUNK = 8  # 30 certificates → chunks of 8, 8, 8 and 6
    settings.MEDIA_ROOT = tmp_path / "media"


def zip_of(batch) -> zipfile.ZipFile:
    batch.refresh_from_db()
    return zipfile.ZipFile(batch.archive.open("rb"))


def index_rows(archive: zipfile.ZipFile) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8-sig"))))


def pdf_serial_counts(archive: zipfile.ZipFile, serials) -> Counter:
    text = "".join(page.extract_text() for name in archive.namelist() if name.endswith(".pdf")
                   for page in PdfReader(io.BytesIO(archive.read(name))).pages)
    return Counter({s: text.count(s) for s in serials})


def start(user, submission, capture):
    with capture(execute=True):
        return batches.batch_for_submission(user=user, submission_id=submission.pk)


def test_a_batch_renders_every_certificate_once_in_chunks_and_zips_them_with_an_index(
        batch_of_30, reviewer, django_capture_on_commit_callbacks):
    batch = start(reviewer, batch_of_30, django_capture_on_commit_callbacks)
    batch.refresh_from_db()
    assert (batch.status, batch.total, batch.chunks) == (CertificateBatch.Status.DONE, 30, 4)
    chunks = list(batch.rendered.order_by("number"))
    assert [c.pages for c in chunks] == [8, 8, 8, 6]
    serials = set(batch_of_30.items.values_list("certificate_no", flat=True))
    archive = zip_of(batch)
    assert sorted(archive.namelist()) == ["certificates-0001.pdf", "certificates-0002.pdf", "certificates-0003.pdf",
                                          "certificates-0004.pdf", "index.csv"]
    rows = index_rows(archive)
    assert Counter(r["证书编号"] for r in rows) == Counter({s: 1 for s in serials})
    # the index says where each certificate is, and it is there
    first = rows[0]
    page = PdfReader(io.BytesIO(archive.read(first["文件"]))).pages[int(first["页码"]) - 1].extract_text()
    assert first["证书编号"] in page
    assert pdf_serial_counts(archive, serials) == Counter({s: 1 for s in serials})
    assert batches.batch_progress(batch) == {"status": "done", "status_label": "已完成", "processed": 30,
                                             "total": 30, "percent": 100, "finished": True}


def test_tasks_are_enqueued_only_after_the_transaction_commits(batch_of_30, reviewer,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        batch = batches.batch_for_submission(user=reviewer, submission_id=batch_of_30.pk)
        # Frozen in the transaction, but no worker has been asked yet.
        assert CertificateBatchItem.objects.filter(batch=batch).count() == 30
        assert not CertificateChunk.objects.exists()
    assert len(callbacks) == 1 and not CertificateChunk.objects.exists()
    callbacks[0]()
    batch.refresh_from_db()
    assert batch.status == CertificateBatch.Status.DONE and batch.rendered.count() == 4


def test_a_redelivered_chunk_issues_no_second_file_or_record(batch_of_30, reviewer, settings,
                                                             django_capture_on_commit_callbacks):
    batch = start(reviewer, batch_of_30, django_capture_on_commit_callbacks)
    folder = settings.MEDIA_ROOT / "certificates" / "batches" / str(batch.pk)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert render_chunk.delay(batch.pk, 2).get() == "skipped"
    # A worker killed after writing chunk 1's file but before recording it: the rerun writes the same file.
    CertificateChunk.objects.filter(batch=batch, number=1).delete()
    assert render_chunk.delay(batch.pk, 1).get() == "rendered"
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert set(after) == set(before)  # no "certificates-0002_a1b2c3.pdf" beside the first
    assert CertificateChunk.objects.filter(batch=batch).count() == 4
    assert sorted(CertificateBatchItem.objects.filter(batch=batch).values_list("item__certificate_no", flat=True)) \
        == sorted(batch_of_30.items.values_list("certificate_no", flat=True))
    # Serials are the items' own: rendering never numbers anything.
    assert SubmissionItem.objects.filter(submission=batch_of_30).values("certificate_no").distinct().count() == 30


def test_a_failing_chunk_is_retried_then_the_batch_fails_with_the_reason_and_resumes(
        batch_of_30, reviewer, monkeypatch, django_capture_on_commit_callbacks):
    calls = Counter()
    real = batches._render

    def broken(contexts):
        calls["n"] += 1
        raise OSError("磁盘已满")

    monkeypatch.setattr(batches, "_render", broken)
    start(reviewer, batch_of_30, django_capture_on_commit_callbacks)  # the request does not break
    batch = CertificateBatch.objects.get()
    assert calls["n"] == 4 * (1 + render_chunk.max_retries)  # each chunk: the first try and every retry
    assert batch.status == CertificateBatch.Status.FAILED and "磁盘已满" in batch.error
    assert not batch.rendered.exists() and not batch.archive

    monkeypatch.setattr(batches, "_render", real)
    with django_capture_on_commit_callbacks(execute=True):
        assert batches.batch_resume(batch=batch) == 4
    batch.refresh_from_db()
    assert batch.status == CertificateBatch.Status.DONE and batch.rendered.count() == 4 and batch.error == ""


def test_a_certificate_revoked_before_its_chunk_is_rendered_is_left_out(
        batch_of_30, reviewer, world, django_capture_on_commit_callbacks):
    person = world["people"][0]
    online = submitted(world["online"])  # the person's online completion, endorsed
    from apps.enrollment import review

    review.submission_endorse_all(submission_id=online.pk, by=reviewer)
    with django_capture_on_commit_callbacks() as callbacks:
        batch = batches.batch_for_submission(user=reviewer, submission_id=online.pk)
    reverse_online(person)
    callbacks[0]()
    batch.refresh_from_db()
    assert batch.status == CertificateBatch.Status.DONE and batch.total == 1
    assert batch.rendered.get().pages == 0 and index_rows(zip_of(batch)) == []


def test_a_county_batch_holds_the_countys_certificates_of_the_year(batch_of_30, reviewer,
                                                                    django_capture_on_commit_callbacks):
    county = Region.objects.get(code="410202")
    moved = list(batch_of_30.items.order_by("pk")[:5])
    unit = f.UnitFactory(region=county)
    for item in moved:
        item.person.unit = unit
        item.person.save()
    county_user = f.UserFactory(role=Role.COUNTY_BUREAU, region=county, is_staff=False)
    with django_capture_on_commit_callbacks(execute=True):
        batch = batches.batch_for_county(user=county_user, region_id=county.pk, year=2016)
    batch.refresh_from_db()
    assert batch.status == CertificateBatch.Status.DONE and batch.total == 5
    assert {r["证书编号"] for r in index_rows(zip_of(batch))} == {i.certificate_no for i in moved}
    with pytest.raises(batches.BatchRefused, match="没有可生成的证书"):
        batches.batch_for_county(user=county_user, region_id=county.pk, year=2015)


@pytest.mark.parametrize("case", ["other_county", "trainee", "other_base", "unit_admin"])
def test_who_may_not_start_a_batch_gets_a_reason_and_nothing_is_created(batch_of_30, case, client):
    county, other = Region.objects.get(code="410202"), Region.objects.get(code="410203")
    users = {
        "other_county": f.UserFactory(role=Role.COUNTY_BUREAU, region=other, is_staff=False),
        "trainee": f.UserFactory(role=Role.TRAINEE, person=batch_of_30.items.first().person, is_staff=False),
        "other_base": f.UserFactory(role=Role.BASE_STAFF, base=f.TrainingBaseFactory(), is_staff=False),
        "unit_admin": f.UserFactory(role=Role.UNIT_ADMIN, unit=f.UnitFactory(), is_staff=False),
    }
    client.force_login(users[case])
    if case == "other_county":
        response = client.post("/certificates/bulk/new/", {"region": county.pk, "year": 2016})
        assert response.status_code == 400 and "不在您的管辖范围内" in response.content.decode()
    elif case == "other_base":
        response = client.post("/certificates/bulk/new/", {"submission": batch_of_30.pk})
        assert response.status_code == 400 and "上报批次不存在或不在您的管辖范围内" in response.content.decode()
    else:
        assert client.post("/certificates/bulk/new/", {"submission": batch_of_30.pk}).status_code == 403
        assert client.get("/certificates/bulk/").status_code == 403
    assert not CertificateBatch.objects.exists() and not CertificateBatchItem.objects.exists()


def test_bad_requests_name_what_is_wrong(batch_of_30, reviewer, client, settings):
    client.force_login(reviewer)
    response = client.post("/certificates/bulk/new/", {"region": "", "year": "2016"})
    assert response.status_code == 400 and "请选择县区和年度" in response.content.decode()
    response = client.post("/certificates/bulk/new/", {"submission": "abc"})
    assert response.status_code == 400 and "上报批次无效" in response.content.decode()
    settings.CERT_BATCH_MAX = 10
    response = client.post("/certificates/bulk/new/", {"submission": batch_of_30.pk})
    assert response.status_code == 400 and "一次最多生成 10 张证书（这里有 30 张）" in response.content.decode()
    assert not CertificateBatch.objects.exists()


def test_the_pages_show_progress_then_the_download_and_hide_other_scopes(
        batch_of_30, reviewer, client, django_capture_on_commit_callbacks):
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/certificates/bulk/new/", {"submission": batch_of_30.pk})
    batch = CertificateBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/certificates/bulk/{batch.pk}/"
    page = client.get(f"/certificates/bulk/{batch.pk}/").content.decode()
    assert "data-progress-url" in page and "0 / 30" in page and "js/progress.js" in page
    assert client.get(f"/certificates/bulk/{batch.pk}/certificates.zip").status_code == 409
    assert client.get(f"/certificates/bulk/{batch.pk}/progress.json").json()["finished"] is False
    for callback in callbacks:
        callback()
    page = client.get(f"/certificates/bulk/{batch.pk}/").content.decode()
    assert "data-download" in page and "data-progress-url" not in page and 'data-chunk="3"' in page
    response = client.get(f"/certificates/bulk/{batch.pk}/certificates.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).testzip() is None
    assert f'data-batch="{batch.pk}"' in client.get("/certificates/bulk/").content.decode()
    # The base that submitted sees it; another county's bureau does not (404, as if absent).
    client.force_login(f.UserFactory(role=Role.BASE_STAFF, base=batch_of_30.base, is_staff=False))
    assert client.get(f"/certificates/bulk/{batch.pk}/").status_code == 200
    client.force_login(f.UserFactory(role=Role.COUNTY_BUREAU, region=Region.objects.get(code="410203"),
                                     is_staff=False))
    assert client.get(f"/certificates/bulk/{batch.pk}/").status_code == 404
    assert client.get(f"/certificates/bulk/{batch.pk}/certificates.zip").status_code == 404


def test_the_review_page_and_the_bases_submission_page_offer_the_batch(batch_of_30, reviewer, client):
    client.force_login(reviewer)
    assert "data-print-certificates" in client.get(f"/enrollment/review/{batch_of_30.pk}/").content.decode()
    client.force_login(f.UserFactory(role=Role.BASE_STAFF, base=batch_of_30.base, is_staff=False))
    page = client.get(f"/enrollment/submissions/{batch_of_30.pk}/").content.decode()
    assert "data-print-certificates" in page and "批量生成 30 张已认证的合格证书" in page
