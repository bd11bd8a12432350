"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against pytest-django's live server.

- ``browser``: one Chromium per test session. Missing Chromium skips the browser tests on a quick
  local run and fails them under ``make test`` and CI (``chromium_path`` in tests/conftest.py).
- ``page``: a fresh browser context per test (Chinese locale, ``viewport`` overridable with
  ``@pytest.mark.parametrize("viewport", [{"width": 360, "height": 740}])``). When the test fails,
  a screenshot is saved to ``test-artifacts/<test name>.png``. Every browser test also fails when
  the page's Content-Security-Policy blocked something (an inline script without the nonce, …).
- ``artifacts``: where a test writes the screenshots and PDFs it makes; they are copied to
  ``test-artifacts/`` only when the test fails, so that folder holds failing tests' files only.
- ``login(page, live_server, username)``: logs in through the real login form.
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in the main thread; Django would otherwise refuse
# database access from the test body ("You cannot call this from an async context").
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
DEFAULT_VIEWPORT = {"width": 1280, "height": 800}


def artifacts_dir(config) -> Path:
    path = Path(config.rootpath) / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


def artifact_name(nodename: str) -> str:
    return re.sub(r"[^\w.-]+", "_", nodename).strip("_")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (``item.rep_setup``, ``rep_call``) for the page fixture."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def viewport():
    """Override with ``@pytest.mark.parametrize("viewport", [...])`` for phone-sized pages."""
    return DEFAULT_VIEWPORT


@pytest.fixture
def page(browser, viewport, request):
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )
    yield page
    assert not blocked, f"the Content-Security-Policy blocked: {blocked}"
    if _failed(request.node):
        target = artifacts_dir(request.config) / f"{artifact_name(request.node.name)}.png"
        try:
            page.screenshot(path=str(target), full_page=True)
        except Exception as exc:  # a crashed page must not hide the test's own failure
            print(f"could not save screenshot {target}: {exc}")
    context.close()


def _failed(node) -> bool:
    reports = (getattr(node, f"rep_{when}", None) for when in ("setup", "call"))
    return any(report is not None and report.failed for report in reports)


@pytest.fixture
def artifacts(request, tmp_path) -> Iterator[Path]:
    """A folder for the screenshots and PDFs a test makes; they reach test-artifacts/ only if it fails."""
    folder = tmp_path / "artifacts"
    folder.mkdir()
    yield folder
    if _failed(request.node):
        target = artifacts_dir(request.config)
        for made in folder.iterdir():
            shutil.copy2(made, target / f"{artifact_name(request.node.name)}-{made.name}")


def login(page, live_server, username: str, password: str = PASSWORD) -> None:
    """Log in through the login form and wait for the page it redirects to."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "/accounts/login/" not in page.url, f"login as {username} failed"
