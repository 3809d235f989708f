"""Playwright driving Debian's chromium for the browser journeys (tests/test_browser_journeys.py).

One chromium per test module; each test opens its own contexts (cookies, downloads, viewport) and they are closed
with the test. Every page records console errors and uncaught exceptions — a CSP refusal (inline script, a style
or image from elsewhere) shows up there — and a journey ends with `assert_clean(page)`.
"""
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from .conftest import missing_service

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
PASSWORD = "Kaifeng-2016"  # tests/factories.py UserFactory
TIMEOUT_MS = 15_000

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
# An iPhone-sized phone, the way a certificate's QR code is opened.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                       "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"}

_problems: dict[int, list[str]] = {}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        missing_service(f"the browser journeys need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    expect.set_options(timeout=TIMEOUT_MS)  # 5 s by default: short for a PDF on a loaded 2-core machine

    # Playwright's sync API keeps its asyncio loop "running" on the main thread, so Django refuses ORM calls from
    # the test body (SynchronousOnlyOperation). Nothing here awaits while the ORM runs: the test thread only ever
    # waits for chromium, and the live server answers in its own thread. Restored when the module is done.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def open_page(browser, live_server):
    """open_page(**context_options) → a new page in a new context (its own cookies), Chinese first, downloads on,
    addresses relative to the live server."""
    contexts = []

    def _open(**options):
        options = {**DESKTOP, "locale": "zh-CN", "accept_downloads": True, "base_url": live_server.url, **options}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        problems = _problems.setdefault(id(page), [])
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        return page

    yield _open
    for context in contexts:
        for page in context.pages:
            _problems.pop(id(page), None)
        context.close()


def assert_clean(page) -> None:
    """No console error (CSP refusals included) and no uncaught exception on this page so far."""
    problems = _problems.get(id(page), [])
    assert not problems, "\n".join(problems)  # (this module is not assertion-rewritten: say it explicitly)


def shot(page, journey: str, step: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{journey}-{step}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, username: str, password: str = PASSWORD, journey: str | None = None) -> None:
    """Through the login form, like a person: django-axes needs the request, so there is no shortcut."""
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    if journey:
        shot(page, journey, "login")
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(lambda url: "/login/" not in url)
    expect(page.locator(".whoami")).to_be_visible()


def download(page, trigger) -> tuple[str, bytes]:
    """Click `trigger` (a locator) and return the downloaded file's suggested name and bytes."""
    with page.expect_download() as info:
        trigger.click()
    file = info.value
    assert file.failure() is None, file.failure()
    return file.suggested_filename, Path(file.path()).read_bytes()


def text_of(locator) -> str:
    """Visible text with runs of white space collapsed (templates wrap and indent)."""
    return re.sub(r"\s+", " ", locator.inner_text()).strip()
