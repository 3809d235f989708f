"""Settings shared by every environment; everything that varies comes from the environment.

With nothing set, the portal runs embedded: a SQLite file, Celery tasks executed in-process and a local
memory cache, so a laptop needs nothing else. DATABASE_URL switches to PostgreSQL, REDIS_URL to Redis as
the Celery broker and the cache.
"""
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="insecure-dev-key-only-for-local-use-0123456789")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "axes",
    # Ours, lowest layer first: an app may import from those above it, never below.
    "apps.core",
    "apps.orgs",
    "apps.personnel",
    "apps.catalog",
    "apps.bases",
    "apps.ledger",
    "apps.enrollment",
    "apps.certificates",
    "apps.assessment",
    "apps.reports",
    "apps.eligibility",
    "apps.reminders",
    "apps.accounts",
    "apps.auditlog",
    "apps.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "apps.portal.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.portal.context_processors.portal",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# A persistent connection is tested before a request reuses it: after PostgreSQL restarts, the web reconnects
# instead of failing a request per worker (tests/test_faults.py). While it is down, pages answer 503
# (apps.core.unavailable).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) serve the yearly audit on PostgreSQL; SQLite simply builds them without the extras.
# axes.W006 asks to lock by IP address as well: many offices share one NAT address, so one typing clerk would
# lock out a whole bureau. The lockout here is per account (AXES_LOCKOUT_PARAMETERS).
SILENCED_SYSTEM_CHECKS = ["models.W040", "axes.W006"]

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "apps.accounts.passwords.CharacterClassesValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id first (OWASP parameters, apps/accounts/hashers.py); older hashes still verify and are upgraded at the
# next login.
PASSWORD_HASHERS = [
    "apps.accounts.hashers.PortalArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# django-axes: 5 failed logins for one account lock it for 30 minutes (every login path passes `request`).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_VERBOSE = False
# Sessions end after 30 idle minutes: each request renews the expiry, and closing the browser ends it too.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Security headers on every response (production adds HSTS and secure cookies).
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content Security Policy (Django's own middleware): our scripts and styles only, no inline script, no framing.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}

# Chinese first; English through Django i18n.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    # Degrades to "nothing cached" while Redis is down instead of failing pages (apps/core/cache.py).
    CACHES = {"default": {"BACKEND": "apps.core.cache.DegradingRedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    # Embedded mode: tasks run in the caller's process, so nothing else needs to be running.
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged after it ran, so a worker killed mid-task hands it to another; tasks are idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
JOB_REDISPATCH_EVERY = env.int("JOB_REDISPATCH_EVERY", default=300)  # seconds (apps/portal/tasks.py)
# celery beat (exactly one runs: docker-compose `beat`). Times are Asia/Shanghai (CELERY_TIMEZONE).
CELERY_BEAT_SCHEDULE = {
    # A1: the yearly audit of the year before, early in January (re-run on demand: manage.py run_audit).
    "yearly-audit": {"task": "assessment.run_audit_previous_year",
                     "schedule": crontab(minute=0, hour=2, day_of_month=5, month_of_year=1)},
    # Reminders to trainees and units behind pace, weekly; the task itself does nothing before July.
    "weekly-reminders": {"task": "reminders.send_reminders", "schedule": crontab(minute=0, hour=9, day_of_week=1)},
    # Jobs whose message was never sent (Redis down when they started) or lost: sent again when idle this long.
    "redispatch-pending-jobs": {"task": "portal.redispatch_pending_jobs", "schedule": JOB_REDISPATCH_EVERY,
                                "kwargs": {"idle_seconds": JOB_REDISPATCH_EVERY}},
}
# A task taken by a worker that died unacknowledged goes back to the queue after this many seconds (Redis
# transport). Longer than any task here; tasks are idempotent, so a redelivery after a slow run is harmless.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "开封市专业技术人员继续教育管理平台 API",
    "DESCRIPTION": "Continuing-education administration portal API (Kaifeng HRSS bureau).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Assets come from drf-spectacular-sidecar: government intranets are often offline, so no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TitleLevelEnum": "apps.personnel.models.TitleLevel",
        "BaseLevelEnum": "apps.bases.models.TrainingBase.Level",
        "RegionKindEnum": "apps.orgs.models.Region.Kind",
    },
}

IMPORT_EXPORT_USE_TRANSACTIONS = True
# One admin log entry per imported row would add 100,000 rows for a large file; the import result page and the
# rows themselves (created_at) are the record.
IMPORT_EXPORT_SKIP_ADMIN_LOG = True

MAILERS = {"default": {"BACKEND": env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")}}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="noreply@ce.kaifeng.example")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # WeasyPrint logs every step of every page at INFO ("Step 5 - Creating layout - Page 37"): noise that costs
    # time in certificate batches. Its warnings (a missing font, an unsupported CSS property) still show.
    # django-axes logs every login at INFO; the audit log (apps.auditlog) is the record of logins.
    "loggers": {"weasyprint": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# Ed25519 seed (base64 of 32 bytes) that signs the certificate tokens in QR codes; rotating it invalidates every
# printed code. Empty outside production: apps.certificates.signing then derives a development key from SECRET_KEY
# (config.settings.production refuses to start without it). Generate one with
#   python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"
CERT_SIGNING_KEY = env("CERT_SIGNING_KEY", default="")
# Batch generation of certificates: pages per chunk (one PDF, one task) and the largest batch one click may start.
CERT_BATCH_CHUNK = env.int("CERT_BATCH_CHUNK", default=50)
CERT_BATCH_MAX = env.int("CERT_BATCH_MAX", default=50_000)
CERT_BATCH_QUEUE = env("CERT_BATCH_QUEUE", default="")  # "" = the default queue
# The yearly audit writes its million person rows through this many PostgreSQL connections at once, all reading the
# one locked snapshot of the ledger (apps.assessment.services._compute_parallel); 1 = one statement. About the
# cores the database may spend on it.
AUDIT_WRITERS = env.int("AUDIT_WRITERS", default=2)
# The public verification page is rate-limited per client IP (django-ratelimit, counted in the default cache).
# Behind a reverse proxy REMOTE_ADDR is the proxy's, so set the header the proxy fills, e.g. HTTP_X_REAL_IP.
RATELIMIT_USE_CACHE = "default"
# Without the cache (Redis down) the page is served unlimited rather than refused to everyone (apps/core/cache.py).
RATELIMIT_FAIL_OPEN = True
RATELIMIT_IP_META_KEY = env("RATELIMIT_IP_META_KEY", default=None)

# The region this installation serves (GB/T 2260); fixtures and demo data are for Kaifeng.
PORTAL_CITY_CODE = env("PORTAL_CITY_CODE", default="410200")
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="http://127.0.0.1:8000")
