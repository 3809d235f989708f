"""Run by bench/certificates.py in a fresh process (as a Celery worker is): certificates/s of chunked rendering
against one document per certificate, on the endorsed items of submission argv[1]. Prints one JSON line."""
import json
import statistics
import sys
import time

import django

NAIVE_SAMPLE = 15
ROUNDS = 5


def main(submission_id: int) -> dict:
    from django.conf import settings

    from apps.certificates import batches, pdf
    from apps.enrollment.models import SubmissionItem

    items = list(SubmissionItem.objects.filter(submission_id=submission_id).order_by("pk"))
    pdf.qualification_certificate_pdf(item=items[0])  # load Pango, fontconfig and the font once, as a worker has
    size = settings.CERT_BATCH_CHUNK
    naive_rates, batch_rates, at = [], [], 1
    for _ in range(ROUNDS):  # alternating, on fresh items each time; the median of each way
        began = time.perf_counter()
        for item in items[at:at + NAIVE_SAMPLE]:
            pdf.qualification_certificate_pdf(item=item)
        naive_rates.append(NAIVE_SAMPLE / (time.perf_counter() - began))
        at += NAIVE_SAMPLE
        chunks = [items[k:k + size] for k in range(at, at + 2 * size, size)]
        began = time.perf_counter()
        for chunk in chunks:
            batches._render(pdf.certificate_contexts(chunk))
        batch_rates.append(sum(len(c) for c in chunks) / (time.perf_counter() - began))
        at += 2 * size
    return {"naive": statistics.median(naive_rates), "batch": statistics.median(batch_rates), "size": size,
            "naive_rounds": naive_rates, "batch_rounds": batch_rates}


if __name__ == "__main__":
    django.setup()
    print(json.dumps(main(int(sys.argv[1]))))
