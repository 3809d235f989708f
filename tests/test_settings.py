import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup(settings_module: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL",
                                                                  "CERT_SIGNING_KEY")}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_TASK_ALWAYS_EAGER)"],
        cwd=ROOT, env={**clean, "DJANGO_SETTINGS_MODULE": settings_module, **env}, capture_output=True, text=True,
    )


def test_production_refuses_to_start_without_secret_key():
    proc = _setup("config.settings.production", ALLOWED_HOSTS="ce.example", DATABASE_URL="postgres://x@h/db")
    assert proc.returncode != 0
    assert "SECRET_KEY" in proc.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    proc = _setup("config.settings.production", SECRET_KEY="s" * 50, DATABASE_URL="postgres://x@h/db")
    assert proc.returncode != 0
    assert "ALLOWED_HOSTS" in proc.stderr


def test_production_starts_with_its_environment():
    proc = _setup("config.settings.production", SECRET_KEY="s" * 50, ALLOWED_HOSTS="ce.example",
                  DATABASE_URL="postgres://x@h/db", CERT_SIGNING_KEY="A" * 43 + "=")
    assert proc.returncode == 0, proc.stderr
    assert "postgresql" in proc.stdout


def test_embedded_default_is_sqlite_with_in_process_tasks():
    proc = _setup("config.settings.local", REDIS_URL="")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["django.db.backends.sqlite3", "True"]


def test_healthz_answers_without_login(client, db):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["ok"] is True


def test_production_passes_the_deploy_checks():
    import base64

    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL",
                                                              "CERT_SIGNING_KEY")}
    env = {**clean, "DJANGO_SETTINGS_MODULE": "config.settings.production", "SECRET_KEY": os.urandom(40).hex(),
           "ALLOWED_HOSTS": "ce.example", "DATABASE_URL": "postgres://x@h/db",
           "CERT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode()}
    proc = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout
