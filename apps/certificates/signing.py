"""Signed certificate tokens for public verification: "payload.signature", both base64url without padding.

The payload is the compact JSON a checker needs (masked name and ID, course, hours, date, issuer, serial); the
signature is Ed25519 over the payload part exactly as it appears in the token (its ASCII bytes), as JWS does, so
an offline checker needs only the text before the dot and the public key shown on the verification page.
Ed25519 signatures are deterministic: the same certificate always gives the same token, hence the same QR code.
"""
import base64
import binascii
import hashlib
import json
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from apps.core.errors import DomainError

B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
# A real token is a few hundred characters; anything much longer is not ours and is refused before decoding.
MAX_TOKEN_LENGTH = 4096


class InvalidToken(DomainError):
    default_message = _("签名无效（证书信息可能被篡改）")


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    # urlsafe_b64decode silently skips characters outside the alphabet, so check the alphabet first: a token
    # with stray characters is malformed, not "the same token".
    if not B64URL.match(text) or len(text) % 4 == 1:
        raise InvalidToken(_("签名无效：令牌格式错误"))
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken(_("签名无效：令牌格式错误")) from None


def _seed() -> bytes:
    configured = settings.CERT_SIGNING_KEY
    if not configured:
        # Development and tests only (config.settings.production requires CERT_SIGNING_KEY): a key derived
        # deterministically from SECRET_KEY, so tokens printed on a dev install stay valid across restarts. The
        # prefix keeps the seed distinct from any other hash of SECRET_KEY.
        return hashlib.sha256(b"ce-portal certificate signing key\x00" + settings.SECRET_KEY.encode()).digest()
    try:
        seed = base64.b64decode(configured, validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured("CERT_SIGNING_KEY 不是有效的 base64 / is not valid base64") from None
    if len(seed) != 32:
        raise ImproperlyConfigured("CERT_SIGNING_KEY 须为 32 字节种子的 base64 / must be base64 of a 32-byte seed")
    return seed


def _private_key() -> Ed25519PrivateKey:
    # Not cached: deriving a key from a seed costs microseconds, and caching would ignore overridden settings.
    return Ed25519PrivateKey.from_private_bytes(_seed())


def _public_key() -> Ed25519PublicKey:
    return _private_key().public_key()


def public_key_b64() -> str:
    """The raw 32-byte Ed25519 public key, standard base64 (what the verification page publishes)."""
    raw = _public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def encode_payload(payload: dict) -> str:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return _b64url_encode(text.encode("utf-8"))


def sign(payload: dict) -> str:
    body = encode_payload(payload)
    return f"{body}.{_b64url_encode(_private_key().sign(body.encode('ascii')))}"


def verify(token: str) -> dict:
    """The payload of a token this portal signed; InvalidToken for anything forged, truncated or malformed."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken(_("签名无效：令牌为空或过长"))
    parts = token.split(".")
    if len(parts) != 2 or not all(parts):
        raise InvalidToken(_("签名无效：令牌应为“内容.签名”两段"))
    body, signature = parts
    raw_signature = _b64url_decode(signature)
    raw_body = _b64url_decode(body)
    try:
        _public_key().verify(raw_signature, body.encode("ascii"))
    except InvalidSignature:
        raise InvalidToken() from None
    try:
        payload = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):  # signed by us yet unreadable: cannot happen unless the key leaked
        raise InvalidToken(_("签名无效：令牌内容无法解析")) from None
    if not isinstance(payload, dict):
        raise InvalidToken(_("签名无效：令牌内容无法解析"))
    return payload
