"""Accounts: argon2 hashing, the password rules, the lockout after 5 failed logins, 30-minute idle sessions and the
security headers (issue 7, item 3). Logins go through the login form, as a person's would."""
import datetime

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import Role
from config.settings import base as base_settings

from . import factories as f

GOOD = "Kaifeng-2016"


def login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


@pytest.fixture
def trainee(person):
    user = f.UserFactory(username="zhang", role=Role.TRAINEE, person=person, is_staff=False)
    user.set_password(GOOD)
    user.save()
    return user


# --- hashing ------------------------------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2id():
    with override_settings(PASSWORD_HASHERS=base_settings.PASSWORD_HASHERS):
        encoded = make_password(GOOD)
        # Argon2id with the OWASP parameters: 19 MiB, 2 passes, 1 lane.
        assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
        assert check_password(GOOD, encoded) and not check_password("Kaifeng-2017", encoded)


@pytest.mark.django_db
def test_an_older_hash_is_upgraded_to_argon2_at_the_next_login(client, person):
    with override_settings(PASSWORD_HASHERS=base_settings.PASSWORD_HASHERS):
        user = f.UserFactory(username="old", role=Role.TRAINEE, person=person, is_staff=False)
        user.password = make_password(GOOD, hasher="pbkdf2_sha256")
        user.save()
        assert login(client, "old", GOOD).status_code == 302
        user.refresh_from_db()
        assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


# --- password rules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("password, ok", [
    ("Abc1234!", True),     # 8 characters, 4 classes
    ("Kfce2016", True),     # 8 characters, 3 classes: the boundary
    ("abcd1234", False),    # 2 classes
    ("abcdefgh", False),    # 1 class
    ("ABCD!@#$", False),    # 2 classes
    ("Abc123!", False),     # 3 classes but 7 characters
    ("开封继续教育ab1", True),  # Chinese characters count as "other"
])
def test_password_rules(password, ok):
    if ok:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


def test_the_rule_names_what_is_missing():
    with pytest.raises(ValidationError) as exc:
        validate_password("abcd1234")
    assert any("至少 3 类" in m for m in exc.value.messages)


@pytest.mark.django_db
def test_changing_the_password_applies_the_rules(client, trainee):
    login(client, "zhang", GOOD)
    r = client.post("/password/", {"old_password": GOOD, "new_password1": "abcd12345",
                                   "new_password2": "abcd12345"})
    assert r.status_code == 200
    assert "至少 3 类" in r.content.decode()
    trainee.refresh_from_db()
    assert trainee.check_password(GOOD)

    r = client.post("/password/", {"old_password": GOOD, "new_password1": "Bian-Liang-2016",
                                   "new_password2": "Bian-Liang-2016"})
    assert r.status_code == 302
    trainee.refresh_from_db()
    assert trainee.check_password("Bian-Liang-2016")
    assert client.get("/").status_code == 200  # still logged in after the change


# --- lockout (django-axes) ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_five_failed_logins_lock_the_account_for_30_minutes(client, trainee):
    from axes.models import AccessAttempt

    for _ in range(4):
        r = login(client, "zhang", "wrong-Pass-1")
        assert r.status_code == 200 and "data-locked-out" not in r.content.decode()
    r = login(client, "zhang", "wrong-Pass-1")  # the fifth
    assert "data-locked-out" in r.content.decode() and "30 分钟" in r.content.decode()
    # Locked: even the right password is refused now.
    r = login(client, "zhang", GOOD)
    assert "data-locked-out" in r.content.decode()
    assert "_auth_user_id" not in client.session

    # 29 minutes later still locked; 31 minutes later the account opens again.
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=29))
    assert "data-locked-out" in login(client, "zhang", GOOD).content.decode()
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=31))
    assert login(client, "zhang", GOOD).status_code == 302
    assert client.session["_auth_user_id"] == str(trainee.pk)


@pytest.mark.django_db
def test_a_successful_login_resets_the_count(client, trainee):
    for _ in range(4):
        login(client, "zhang", "wrong-Pass-1")
    assert login(client, "zhang", GOOD).status_code == 302
    client.post("/logout/")
    for _ in range(4):
        r = login(client, "zhang", "wrong-Pass-1")
        assert "data-locked-out" not in r.content.decode()
    assert login(client, "zhang", GOOD).status_code == 302


@pytest.mark.django_db
def test_the_lockout_is_per_account(client, trainee, person):
    other = f.UserFactory(username="li", role=Role.TRAINEE, person=f.PersonFactory(unit=person.unit),
                          is_staff=False)
    other.set_password(GOOD)
    other.save()
    for _ in range(5):
        login(client, "zhang", "wrong-Pass-1")
    assert login(client, "li", GOOD).status_code == 302


# --- idle sessions ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_session_ends_after_30_idle_minutes_and_each_request_renews_it(client, trainee):
    assert login(client, "zhang", GOOD).status_code == 302
    key = client.session.session_key

    def expiry():
        return Session.objects.get(session_key=key).expire_date

    assert abs((expiry() - timezone.now()) - datetime.timedelta(minutes=30)) < datetime.timedelta(seconds=30)
    # 20 minutes of idling leave 10; a request renews the full 30.
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + datetime.timedelta(minutes=10))
    assert client.get("/").status_code == 200
    assert expiry() - timezone.now() > datetime.timedelta(minutes=29)
    # 30 minutes without a request: the next one is sent to the login page.
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    r = client.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


# --- headers ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_security_headers_on_every_page(client, trainee):
    for r in (client.get("/login/"), client.get("/healthz")):
        assert r["X-Frame-Options"] == "DENY"
        assert r["X-Content-Type-Options"] == "nosniff"
        assert r["Referrer-Policy"] == "same-origin"
        assert r["Cross-Origin-Opener-Policy"] == "same-origin"
        csp = r["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    login_page = client.get("/login/")
    assert "HttpOnly" in str(login_page.cookies.get("csrftoken", "")) or "csrftoken" in login_page.cookies


def test_no_template_has_an_inline_script():
    """The CSP allows scripts from our own files only: an inline <script> would be blocked in every browser."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.html")
                 if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", p.read_text(encoding="utf-8"))]
    assert offenders == []
