"""Public verification of qualification certificates: /verify/<serial>/ without login, masked data only, the
certificate's status (valid, revoked, not endorsed), the signed token in its QR code, and the per-IP rate limit."""
import base64
import json
import types

import pytest

from apps.accounts.models import Role
from apps.certificates import signing, verification
from apps.enrollment import review
from apps.enrollment.models import SubmissionItem

from . import factories as f
from .test_certificates import endorsed, reverse_online  # noqa: F401 (fixture)
from .test_review import reviewer, submitted  # noqa: F401 (fixture)
from .test_settings import _setup
from .test_submissions import world  # noqa: F401 (fixture)

INVALID = "签名无效（证书信息可能被篡改）"


def item_of(person, hours) -> SubmissionItem:
    return SubmissionItem.objects.get(person=person, hours=hours)


def page(client, serial, token=None):
    return client.get(f"/verify/{serial}/", {"t": token} if token is not None else {})


def token_for(item) -> str:
    return signing.sign(verification.certificate_by_serial(item.certificate_no).payload())


# --- what the page shows ----------------------------------------------------------------------------------------


def test_an_endorsed_certificate_is_valid_with_masked_name_and_id_and_no_login(endorsed, client):
    item = item_of(endorsed, 8)
    response = page(client, item.certificate_no)
    assert response.status_code == 200  # anonymous: no redirect to the login page
    html = response.content.decode()
    assert 'data-status="valid"' in html and "有效" in html
    assert ">周**<" in html and endorsed.masked_id in html
    assert endorsed.id_number not in html and endorsed.unit.name not in html
    assert 'data-hours>8<' in html and "2016-07-22" in html and "开封市人力资源和社会保障局" in html
    assert item.certificate_no in html and signing.public_key_b64() in html
    assert "data-signature" not in html  # no token, no signature verdict


def test_a_reversed_endorsement_shows_revoked(endorsed, client):
    reverse_online(endorsed)
    html = page(client, item_of(endorsed, "4.5").certificate_no).content.decode()
    assert 'data-status="revoked"' in html and "已撤销" in html
    assert 'data-status="revoked"' not in page(client, item_of(endorsed, 8).certificate_no).content.decode()


def test_a_returned_item_is_not_a_certificate(world, reviewer, client):
    item = submitted(world["online"]).items.first()
    review.item_return(item_id=item.pk, reason="平台记录有误", by=reviewer)
    html = page(client, item.certificate_no).content.decode()
    assert 'data-status="not_endorsed"' in html and "未认证" in html


def test_a_pending_item_is_not_a_certificate(world, client):
    item = submitted(world["online"]).items.first()
    assert 'data-status="not_endorsed"' in page(client, item.certificate_no).content.decode()


def test_an_unknown_serial_is_a_friendly_404(db, client):
    response = page(client, "HG-2016-nope-00000001")
    assert response.status_code == 404
    assert "未找到该证书编号" in response.content.decode()


# --- the signed token -------------------------------------------------------------------------------------------


def test_a_valid_token_is_accepted(endorsed, client):
    item = item_of(endorsed, 8)
    html = page(client, item.certificate_no, token_for(item)).content.decode()
    assert 'data-signature="valid"' in html and "签名有效" in html


def test_the_token_carries_what_a_checker_needs(endorsed):
    item = item_of(endorsed, "4.5")
    assert signing.verify(token_for(item)) == {
        "s": item.certificate_no, "n": "周**", "id": endorsed.masked_id, "c": item.course.title, "h": "4.5",
        "d": "2016-09-01", "i": "开封市人力资源和社会保障局"}


def test_a_tampered_payload_is_refused_and_the_page_keeps_the_recorded_hours(endorsed, client):
    item = item_of(endorsed, 8)
    body, signature = token_for(item).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["h"] = "80"
    forged = f"{signing.encode_payload(payload)}.{signature}"
    with pytest.raises(signing.InvalidToken):
        signing.verify(forged)
    html = page(client, item.certificate_no, forged).content.decode()
    assert 'data-signature="invalid"' in html and INVALID in html
    assert "data-hours>8<" in html and ">80<" not in html


@pytest.mark.parametrize("damage", [
    lambda t: t[:-4],  # truncated signature
    lambda t: t[:20],  # truncated payload, no signature
    lambda t: t.replace(".", ""),
    lambda t: t + ".x",
    lambda t: "not a token",
    lambda t: t.split(".")[0] + ".!!!!",
    lambda t: "",
])
def test_a_truncated_or_malformed_token_is_refused(endorsed, client, damage):
    item = item_of(endorsed, 8)
    bad = damage(token_for(item))
    with pytest.raises(signing.InvalidToken):
        signing.verify(bad)
    html = page(client, item.certificate_no, bad).content.decode()
    assert 'data-signature="invalid"' in html and INVALID in html


def test_a_genuine_token_of_another_certificate_is_refused(endorsed, client):
    other = token_for(item_of(endorsed, "4.5"))
    html = page(client, item_of(endorsed, 8).certificate_no, other).content.decode()
    assert 'data-signature="invalid"' in html and INVALID in html


def test_a_token_signed_with_another_key_is_refused(endorsed, settings):
    token = token_for(item_of(endorsed, 8))
    settings.CERT_SIGNING_KEY = base64.b64encode(bytes(range(32))).decode()
    with pytest.raises(signing.InvalidToken):
        signing.verify(token)
    assert signing.verify(signing.sign({"s": "x"})) == {"s": "x"}


def test_the_public_key_is_the_raw_ed25519_key_of_the_configured_seed(settings):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    seed = bytes(range(32))
    settings.CERT_SIGNING_KEY = base64.b64encode(seed).decode()
    expected = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert base64.b64decode(signing.public_key_b64()) == expected


def test_names_are_masked_after_the_first_character():
    assert [verification.mask_name(n) for n in ("周证书", "王五", "欧阳小明", "")] == ["周**", "王*", "欧***", ""]


# --- the QR code on the booklet ---------------------------------------------------------------------------------


def test_the_booklet_shows_a_qr_code_for_each_valid_certificate(endorsed, client):
    reverse_online(endorsed)
    client.force_login(f.UserFactory(role=Role.TRAINEE, person=endorsed, is_staff=False))
    html = client.get("/certificates/my/2016/").content.decode()
    assert html.count("data-qr") == 1  # the revoked one has none
    cert = verification.certificate_by_serial(item_of(endorsed, 8).certificate_no)
    assert verification.qr_svg("http://testserver" + verification.verify_path(cert)) in html


def test_qr_svg_is_an_inline_svg():
    svg = verification.qr_svg("https://ce.example/verify/HG-1/?t=abc.def")
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "<?xml" not in svg


def test_the_pdf_qr_png_is_the_code_module_for_module_with_a_quiet_zone():
    import base64
    import io

    import segno
    from PIL import Image

    url = "https://ce.example/verify/HG-1/?t=abc.def"
    uri = verification.qr_png_data_uri(url)
    assert uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    matrix = segno.make_qr(url, error="m", mask=0, boost_error=False).matrix
    border = verification.QR_BORDER
    assert image.mode == "L" and image.size == (len(matrix) + 2 * border,) * 2
    assert set(image.getdata()) == {0, 255}  # black and white only
    dark = {(x, y) for y in range(image.size[1]) for x in range(image.size[0]) if not image.getpixel((x, y))}
    assert dark == {(x + border, y + border) for y, row in enumerate(matrix) for x, v in enumerate(row) if v}


# --- abuse and configuration ------------------------------------------------------------------------------------


def test_the_31st_request_in_a_minute_from_one_ip_is_refused(endorsed, client, settings, monkeypatch):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "verify-ratelimit"}}
    # django-ratelimit counts in fixed windows: a clock frozen mid-window keeps all 31 requests in one of them.
    monkeypatch.setattr("django_ratelimit.core.time", types.SimpleNamespace(time=lambda: 1_800_000_000.0))
    serial = item_of(endorsed, 8).certificate_no
    assert [page(client, serial).status_code for _ in range(30)] == [200] * 30
    response = page(client, serial)
    assert response.status_code == 429 and "请求过于频繁" in response.content.decode()
    assert client.get(f"/verify/{serial}/", REMOTE_ADDR="10.0.0.2").status_code == 200  # another IP


def test_production_refuses_to_start_without_cert_signing_key():
    env = {"SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "ce.example", "DATABASE_URL": "postgres://x@h/db"}
    proc = _setup("config.settings.production", **env)
    assert proc.returncode != 0 and "CERT_SIGNING_KEY" in proc.stderr
    proc = _setup("config.settings.production", CERT_SIGNING_KEY="dG9vIHNob3J0", **env)  # "too short"
    assert proc.returncode != 0 and "CERT_SIGNING_KEY" in proc.stderr
