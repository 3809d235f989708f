"""Production: every secret and host list must come from the environment, or the process refuses to start."""
import base64
import binascii

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import env

DEBUG = False
try:
    SECRET_KEY = env("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    DATABASES = {"default": env.db("DATABASE_URL")}
    # Without it certificate QR codes would be signed with a key derived from SECRET_KEY: refuse instead.
    CERT_SIGNING_KEY = env("CERT_SIGNING_KEY")
except ImproperlyConfigured as exc:
    raise ImproperlyConfigured(f"生产环境缺少必需的环境变量 / missing required environment variable: {exc}") from exc
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS 不能为空 / ALLOWED_HOSTS must not be empty")
try:
    _seed = base64.b64decode(CERT_SIGNING_KEY, validate=True)
except (binascii.Error, ValueError):
    _seed = b""
if len(_seed) != 32:
    raise ImproperlyConfigured("CERT_SIGNING_KEY 须为 32 字节 Ed25519 种子的 base64 / "
                               "CERT_SIGNING_KEY must be base64 of a 32-byte Ed25519 seed")
del _seed
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Mail goes out by SMTP in production (reminders, notices); the console backend is for development only.
MAILERS = {"default": {
    "BACKEND": env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend"),
    "OPTIONS": {
        "host": env("EMAIL_HOST", default="localhost"),
        "port": env.int("EMAIL_PORT", default=25),
        "username": env("EMAIL_HOST_USER", default=""),
        "password": env("EMAIL_HOST_PASSWORD", default=""),
        "use_tls": env.bool("EMAIL_USE_TLS", default=False),
    },
}}
